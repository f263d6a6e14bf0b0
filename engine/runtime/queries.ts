import { avgView } from '../../operators/numeric-aggregations.js';
import type { DefinitionInfo } from '../api/topology-graph.js';
import type { Engine } from './engine.js';

/** How a query shows a store's value: an avg store keeps {sum, count}. */
function viewOf(engine: Engine, def: DefinitionInfo): (v: unknown) => unknown {
  const node = engine.graph.nodes.find((n) => n.id === def.node);
  return node?.type === 'avg' ? avgView : (v) => v;
}

export function queryableTable(engine: Engine, table: string): DefinitionInfo | undefined {
  return engine.graph.definitions.find((d) => d.name === table && d.kind === 'table' && d.store !== undefined);
}

/** Every entry of a table across this instance's tasks, as {key: value} (keys as strings). */
export async function readTable(engine: Engine, table: string): Promise<Record<string, unknown> | unknown[]> {
  const def = queryableTable(engine, table);
  if (!def) throw new Error(`"${table}" is not a queryable table`);
  if (def.windowed) throw new Error(`windowed table "${table}" cannot be read yet: windows are not implemented`);
  const view = viewOf(engine, def);
  const out: Record<string, unknown> = {};
  for (const stores of engine.storesOf(def.store!)) {
    for await (const [k, v] of stores.typed.get(def.store!)!.range()) out[typeof k === 'string' ? k : JSON.stringify(k)] = view(v);
  }
  return out;
}
