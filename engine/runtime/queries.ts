import { avgView } from '../../operators/numeric-aggregations.js';
import type { DefinitionInfo, TopologyGraph, WindowSpec } from '../api/topology-graph.js';
import { parseSessionKey, parseTimeWindowKey } from '../../operators/window-keys.js';
import type { Engine } from './engine.js';

/** How a query shows a store's value: an avg store keeps {sum, count}. */
export function viewOf(graph: TopologyGraph, def: DefinitionInfo): (v: unknown) => unknown {
  const node = graph.nodes.find((n) => n.id === def.node);
  return node?.type === 'avg' ? avgView : (v) => v;
}

/** The tables queries can read: every table with a store. */
export function queryableTables(graph: TopologyGraph): DefinitionInfo[] {
  return graph.definitions.filter((d) => d.kind === 'table' && d.store !== undefined);
}

/** Every entry of a table across this instance's tasks, as {key: value} (keys as strings). */
export async function readTable(engine: Engine, table: string): Promise<Record<string, unknown> | unknown[]> {
  const def = queryableTables(engine.graph).find((d) => d.name === table);
  if (!def) throw new Error(`"${table}" is not a queryable table`);
  const view = viewOf(engine.graph, def);
  if (def.windowed) {
    const rows: unknown[] = [];
    for (const stores of engine.storesOf(def.store!)) {
      for await (const [k, v] of stores.typed.get(def.store!)!.range()) {
        const w = windowOf(engine, def, k as string);
        if (w) rows.push({ ...w, value: view(v) });
      }
    }
    return rows;
  }
  const out: Record<string, unknown> = {};
  for (const stores of engine.storesOf(def.store!)) {
    for await (const [k, v] of stores.typed.get(def.store!)!.range()) out[typeof k === 'string' ? k : JSON.stringify(k)] = view(v);
  }
  return out;
}

/** The window a window or session store key stands for; undefined for the store's reserved keys. */
export function windowOf(engine: Engine, def: DefinitionInfo, k: string): { key: unknown; start: number; end: number } | undefined {
  const node = engine.graph.nodes.find((n) => n.stores.includes(def.store!) && n.args.window !== undefined);
  const window = node?.args.window as WindowSpec | undefined;
  if (window?.type === 'session') return parseSessionKey(k);
  const w = parseTimeWindowKey(k);
  return w && window?.sizeMs !== undefined ? { key: w.key, start: w.start, end: w.start + window.sizeMs } : undefined;
}
