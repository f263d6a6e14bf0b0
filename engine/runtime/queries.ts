import type { DefinitionInfo, TopologyGraph } from '../api/topology-graph.js';
import type { Engine } from './engine.js';
import { readerFor, viewOf } from './table-reads.js';

/** The tables queries can read: every table with a store. */
export function queryableTables(graph: TopologyGraph): DefinitionInfo[] {
  return graph.definitions.filter((d) => d.kind === 'table' && d.store !== undefined);
}

/** Every entry of a table across this instance's tasks, as {key: value} (keys as strings). */
export async function readTable(engine: Engine, table: string): Promise<Record<string, unknown> | unknown[]> {
  const def = queryableTables(engine.graph).find((d) => d.name === table);
  if (!def) throw new Error(`"${table}" is not a queryable table`);
  if (def.windowed) {
    // Every window, as a scan of the table lists them ({key, start, end, value}).
    const reader = readerFor(engine.graph, def);
    const rows: unknown[] = [];
    for (const stores of engine.storesOf(def.store!)) {
      for await (const row of reader.rows(stores.typed.get(def.store!)!, { limit: Infinity })) rows.push(row.entry);
    }
    return rows;
  }
  const view = viewOf(engine.graph, def);
  const out: Record<string, unknown> = {};
  for (const stores of engine.storesOf(def.store!)) {
    for await (const [k, v] of stores.typed.get(def.store!)!.range()) out[typeof k === 'string' ? k : JSON.stringify(k)] = view(v);
  }
  return out;
}
