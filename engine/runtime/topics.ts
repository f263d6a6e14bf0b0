import type { Log, TopicSpec } from '../api/log.js';
import type { TopologyGraph } from '../api/topology-graph.js';

/**
 * The partition count of every sub-topology and the topics to create: missing source and sink
 * topics with `defaultPartitions`; repartition topics with the partitions of the sub-topology that
 * writes them (Kafka Streams sizes them from their upstream); changelogs with one partition per
 * task of the sub-topology that owns the store.
 */
export async function planTopics(graph: TopologyGraph, log: Log, defaultPartitions: number, say: (line: string) => void): Promise<{ partitions: Map<number, number>; create: TopicSpec[] }> {
  const create: TopicSpec[] = [];
  const known = new Map<string, number>();
  for (const t of graph.topics) {
    if (t.internal) continue;
    const n = await log.partitions(t.name);
    if (n !== undefined) known.set(t.name, n);
    else {
      say(`creating ${t.role} topic ${t.name} with ${defaultPartitions} partition${defaultPartitions === 1 ? '' : 's'}`);
      create.push({ name: t.name, partitions: defaultPartitions });
      known.set(t.name, defaultPartitions);
    }
  }
  const partitions = new Map<number, number>();
  // Sub-topologies are in graph order, so a repartition topic's writer comes before its reader.
  for (const sub of graph.subtopologies) {
    const n = Math.max(1, ...sub.sourceTopics.map((t) => known.get(t) ?? 0));
    partitions.set(sub.id, n);
    for (const t of sub.sinkTopics) {
      const info = graph.topics.find((x) => x.name === t);
      if (info?.role === 'repartition' && !known.has(t)) {
        known.set(t, n);
        create.push({ name: t, partitions: n, cleanupPolicy: 'delete' });
      }
    }
  }
  for (const s of graph.stores) {
    const owner = graph.subtopologies.find((sub) => sub.nodes.includes(s.node))!;
    const info = graph.topics.find((t) => t.name === s.changelogTopic);
    create.push({ name: s.changelogTopic, partitions: partitions.get(owner.id)!, cleanupPolicy: info?.cleanupPolicy ?? 'compact' });
  }
  return { partitions, create };
}
