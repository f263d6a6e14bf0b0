import type { TopologyGraph } from '../api/topology-graph.js';
import { nodeLabel } from './label.js';

const safeId = (prefix: string, name: string): string => `${prefix}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
const text = (s: string): string => `"${s.replace(/"/g, '#quot;')}"`;

/** A Mermaid flowchart: sub-topologies as boxes, topics as stadiums, stores as cylinders. */
export function renderMermaid(g: TopologyGraph): string {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const out: string[] = ['flowchart TD'];
  for (const t of g.topics) {
    if (t.role === 'changelog' || t.role === 'dlq') continue;
    out.push(`  ${safeId('t', t.name)}([${text(t.name)}])`);
  }
  for (const sub of g.subtopologies) {
    out.push(`  subgraph sub${sub.id}[${text(`Sub-topology ${sub.id}`)}]`);
    for (const id of sub.nodes) out.push(`    ${safeId('n', id)}[${text(nodeLabel(byId.get(id)!))}]`);
    for (const s of sub.stores) out.push(`    ${safeId('s', s)}[(${text(s)})]`);
    out.push('  end');
  }
  for (const n of g.nodes) {
    for (const i of n.inputs) out.push(`  ${safeId('n', i)} --> ${safeId('n', n.id)}`);
    if (n.topic && n.type.endsWith('source')) out.push(`  ${safeId('t', n.topic)} --> ${safeId('n', n.id)}`);
    if (n.topic && n.type.endsWith('sink')) out.push(`  ${safeId('n', n.id)} --> ${safeId('t', n.topic)}`);
    for (const s of n.stores) out.push(`  ${safeId('n', n.id)} -.- ${safeId('s', s)}`);
  }
  return out.join('\n') + '\n';
}
