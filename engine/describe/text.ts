import type { TopologyGraph } from '../api/topology-graph.js';
import { nodeLabel } from './label.js';

/** The compiled topology as Kafka Streams' `Topology#describe()` prints it, in Duality's names. */
export function renderText(g: TopologyGraph): string {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const children = new Map<string, string[]>();
  for (const n of g.nodes) for (const i of n.inputs) children.set(i, [...(children.get(i) ?? []), n.id]);
  const out: string[] = [`Topology ${g.name} (${g.processing.guarantee}, commit every ${g.processing.commitIntervalMs}ms, errors: ${g.errors.policy}${g.errors.policy === 'dlq' ? ` -> ${g.errors.topic}` : ''})`];
  for (const sub of g.subtopologies) {
    out.push(`  Sub-topology ${sub.id}: reads ${sub.sourceTopics.join(', ') || '(nothing)'}`);
    for (const id of sub.nodes) {
      const n = byId.get(id)!;
      const next = children.get(id) ?? [];
      const parts = [`    ${id}: ${nodeLabel(n)}`];
      if (n.stores.length) parts.push(`stores: ${n.stores.join(', ')}`);
      if (next.length) parts.push(`--> ${next.join(', ')}`);
      out.push(parts.join('  '));
    }
  }
  out.push('  Topics:');
  for (const t of g.topics) out.push(`    ${t.name} (${t.role}${t.internal ? ', internal' : ''}${t.cleanupPolicy ? `, cleanup.policy=${t.cleanupPolicy}` : ''}${t.partitions ? `, ${t.partitions} partitions` : ''})`);
  if (g.stores.length) {
    out.push('  Stores:');
    for (const s of g.stores) out.push(`    ${s.name} (${s.type}, changelog ${s.changelogTopic}${s.queryable ? `, queried as ${s.queryable}` : ''})`);
  }
  const repartitions = g.topics.filter((t) => t.role === 'repartition');
  if (repartitions.length) out.push(`  Repartition points: ${repartitions.map((t) => t.name).join(', ')}`);
  if (g.copartitionGroups.length) out.push(`  Co-partitioned: ${g.copartitionGroups.map((grp) => grp.join(' = ')).join('; ')}`);
  return out.join('\n') + '\n';
}
