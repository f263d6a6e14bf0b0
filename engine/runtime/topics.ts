import type { Log, TopicSpec } from '../api/log.js';
import type { TopicInfo, TopologyGraph } from '../api/topology-graph.js';

export interface TopicPlanOptions {
  /** Create missing source, sink and dead-letter topics (the default); false makes them an error that lists them. */
  readonly createMissing: boolean;
}

export interface TopicPlan {
  /** The number of tasks (partitions) of each sub-topology, by id. */
  readonly partitions: Map<number, number>;
  /** Topics to create; existing ones among them are left as they are. */
  readonly create: TopicSpec[];
}

/**
 * The partition count of every sub-topology and the topics to create, checking that joined topics
 * are co-partitioned (Kafka Streams' CopartitionedTopicsEnforcer):
 * - a missing source topic gets the partitions of the topics it is joined with, else one;
 * - topics joined with each other must have as many partitions each, or nothing runs;
 * - a repartition topic gets the partitions its `repartition` step sets, else those of the topics
 *   it is joined with, else those of the sub-topology that writes it (Kafka Streams sizes them
 *   from their upstream); a set count counts in the co-partitioning check as a user topic's does;
 * - a missing sink or dead-letter topic gets the partitions of the sub-topologies that write it;
 * - a changelog gets one partition per task of the sub-topology that owns its store.
 * Each topic to create carries its role, for createdLine. Replication is the broker's default
 * (`default.replication.factor`).
 */
export async function planTopics(graph: TopologyGraph, log: Log, o: TopicPlanOptions): Promise<TopicPlan> {
  const create: TopicSpec[] = [];
  const known = new Map<string, number>();
  const missing: TopicInfo[] = [];
  for (const t of graph.topics) {
    if (t.internal) continue;
    const n = await log.partitions(t.name);
    if (n !== undefined) known.set(t.name, n);
    else missing.push(t);
  }
  if (missing.length > 0 && !o.createMissing) {
    const list = missing.map((t) => `${t.name} (${t.role})`).join(', ');
    throw new Error(`${missing.length === 1 ? 'a topic does' : `${missing.length} topics do`} not exist: ${list}; create ${missing.length === 1 ? 'it' : 'them'}, or run without --no-create-topics to have them created`);
  }
  const add = (t: TopicInfo | { name: string; role: string }, partitions: number, cleanupPolicy?: TopicSpec['cleanupPolicy']): void => {
    known.set(t.name, partitions);
    create.push({ name: t.name, partitions, role: t.role, ...(cleanupPolicy && { cleanupPolicy }) });
  };
  for (const t of graph.topics) {
    // Kafka Streams refuses an existing internal topic whose partitions differ from those it asks for.
    const n = t.partitions === undefined ? undefined : await log.partitions(t.name);
    if (n !== undefined && n !== t.partitions) {
      throw new Error(`repartition topic ${t.name} exists with ${n} partition${n === 1 ? '' : 's'}, but its \`repartition\` step asks for ${t.partitions}; reset the application (duality reset) to recreate it, or set \`partitions: ${n}\``);
    }
  }
  const internal = new Set(graph.topics.filter((t) => t.internal).map((t) => t.name));
  /** Repartition topics whose partition count the topology sets (`repartition: {partitions}`). */
  const fixed = new Map(graph.topics.flatMap((t) => (t.partitions !== undefined ? [[t.name, t.partitions] as const] : [])));
  /** The partitions the existing user topics (or fixed repartition topics) of a topic's co-partition group agree on. */
  const joinedWith = (topic: string): number | undefined => {
    const group = graph.copartitionGroups.find((g) => g.includes(topic));
    return group?.map((t) => known.get(t) ?? fixed.get(t)).find((n) => n !== undefined);
  };
  const read = new Set(graph.subtopologies.flatMap((s) => s.sourceTopics));
  for (const t of missing.filter((t) => read.has(t.name))) add(t, joinedWith(t.name) ?? 1);

  for (const group of graph.copartitionGroups) {
    const counts = group.filter((t) => !internal.has(t) || fixed.has(t)).map((t) => [t, known.get(t) ?? fixed.get(t)!] as const);
    if (new Set(counts.map(([, n]) => n)).size > 1) {
      throw new Error(
        `topics ${counts.map(([t, n]) => `${t} (${n} partition${n === 1 ? '' : 's'})`).join(' and ')} are joined but not co-partitioned: ` +
          'records with the same key must be in the same partition of each, so they need as many partitions; repartition one side (groupBy or selectKey) or recreate a topic',
      );
    }
  }

  const partitions = new Map<number, number>();
  const writers = new Map<string, number[]>();
  // Sub-topologies are in graph order, so a repartition topic's writer comes before its reader.
  for (const sub of graph.subtopologies) {
    const n = Math.max(1, ...sub.sourceTopics.map((t) => known.get(t) ?? 0));
    partitions.set(sub.id, n);
    for (const t of sub.sinkTopics) {
      writers.set(t, [...(writers.get(t) ?? []), n]);
      const info = graph.topics.find((x) => x.name === t);
      if (info?.role === 'repartition' && !known.has(t)) add(info, info.partitions ?? joinedWith(t) ?? n, 'delete');
    }
  }
  const everySub = [...partitions.values()];
  for (const t of missing.filter((t) => !read.has(t.name))) add(t, Math.max(1, ...(t.role === 'dlq' ? everySub : (writers.get(t.name) ?? []))));
  for (const s of graph.stores) {
    const owner = graph.subtopologies.find((sub) => sub.nodes.includes(s.node))!;
    const info = graph.topics.find((t) => t.name === s.changelogTopic);
    create.push({ name: s.changelogTopic, partitions: partitions.get(owner.id)!, role: 'changelog', cleanupPolicy: info?.cleanupPolicy ?? 'compact' });
  }
  return { partitions, create };
}

/** The log line for a topic the engine created: `created changelog topic X with 3 partitions (cleanup.policy=compact)`. */
export function createdLine(t: TopicSpec): string {
  const policy = t.cleanupPolicy !== undefined && t.cleanupPolicy !== 'delete' ? ` (cleanup.policy=${t.cleanupPolicy})` : '';
  return `created ${t.role ? `${t.role} ` : ''}topic ${t.name} with ${t.partitions} partition${t.partitions === 1 ? '' : 's'}${policy}`;
}
