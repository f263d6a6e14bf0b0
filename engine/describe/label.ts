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
    case 'branch': {
      const predicates = a.predicates as string[];
      const position = a.position as number;
      return position < predicates.length ? `branch: ${predicates[position]}` : 'branch: default (no predicate true)';
    }
    case 'repartition':
      return `repartition${a.partitions === undefined ? '' : ` into ${a.partitions} partitions`}`;
    case 'peek':
      return `peek${a.label === undefined ? '' : ` ${a.label}`}${a.every === undefined ? '' : ` every ${a.every}`}${a.log === undefined ? '' : `: ${a.log}`}`;
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
