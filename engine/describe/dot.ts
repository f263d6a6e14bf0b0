import type { TopologyGraph } from '../api/topology-graph.js';
import { nodeLabel } from './label.js';

const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Graphviz: sub-topologies as clusters, topics as ellipses, stores as cylinders. */
export function renderDot(g: TopologyGraph): string {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const out: string[] = [`digraph ${q(g.name)} {`, '  rankdir=TB;', '  node [shape=box, fontname="Helvetica"];'];
  for (const t of g.topics) {
    if (t.role === 'changelog' || t.role === 'dlq') continue;
    out.push(`  ${q(`topic:${t.name}`)} [label=${q(t.name)}, shape=ellipse];`);
  }
  for (const sub of g.subtopologies) {
    out.push(`  subgraph cluster_${sub.id} {`, `    label=${q(`Sub-topology ${sub.id}`)};`);
    for (const id of sub.nodes) out.push(`    ${q(id)} [label=${q(nodeLabel(byId.get(id)!))}];`);
    for (const s of sub.stores) out.push(`    ${q(`store:${s}`)} [label=${q(s)}, shape=cylinder];`);
    out.push('  }');
  }
  for (const n of g.nodes) {
    for (const i of n.inputs) out.push(`  ${q(i)} -> ${q(n.id)};`);
    if (n.topic && n.type.endsWith('source')) out.push(`  ${q(`topic:${n.topic}`)} -> ${q(n.id)};`);
    if (n.topic && n.type.endsWith('sink')) out.push(`  ${q(n.id)} -> ${q(`topic:${n.topic}`)};`);
    for (const s of n.stores) out.push(`  ${q(n.id)} -> ${q(`store:${s}`)} [style=dashed, dir=none];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
