import type { GraphNode } from '../api/topology-graph.js';

/** A short label for a node: its type and its main argument (`groupBy: value`, `count`). */
export function nodeLabel(n: GraphNode): string {
  const a = n.args;
  switch (n.type) {
    case 'source':
    case 'table-source':
    case 'repartition-source':
    case 'sink':
    case 'repartition-sink':
      return `${n.type} ${n.topic}`;
    case 'merge':
      return `merge ${(a.sources as string[]).join(', ')}`;
    case 'join':
      return `${a.type} join ${a.with}${a.within ? ` within ${a.within}` : ''}${a.foreignKey ? ` by ${a.foreignKey} (${a.role})` : ''}`;
    case 'map':
      return `map key: ${a.key}, value: ${a.value}`;
    case 'aggregate':
      return `aggregate${windowLabel(n)}`;
    default: {
      // `groupBy: {key, value}` and `reduce: {add, subtract}` name their parts.
      const parts = ['key', 'value', 'add', 'subtract'].filter((f) => a[f] !== undefined && n.type !== 'aggregate').map((f) => `${f}: ${a[f]}`);
      const expr = a.expression !== undefined ? `: ${a.expression}` : parts.length > 0 ? ` ${parts.join(', ')}` : '';
      return `${n.type}${expr}${windowLabel(n)}`;
    }
  }
}

function windowLabel(n: GraphNode): string {
  const w = n.args.window as { type: string } | undefined;
  if (!w) return '';
  return ` (${w.type} window${n.args.emit === 'final' ? ', emit final' : ''})`;
}
