import type { KeyAnswer, ScanRequest, TimeRange, WindowValue } from '../api/engine-facade.js';
import type { KeyValueStore } from '../api/store.js';
import type { DefinitionInfo, TopologyGraph, WindowSpec } from '../api/topology-graph.js';
import { parseSessionKey, parseTimeWindowKey, sessionPrefix, timeWindowBound } from '../../operators/window-keys.js';
import { sizeOf } from '../state/cache-budget.js';
import { serdeFor } from '../serde/index.js';
import type { Row } from './table-pages.js';
import { avgView } from '../../operators/numeric-aggregations.js';
import { slidingAgg } from '../../operators/sliding-window-aggregation.js';

/** How a query shows a store's value: an avg store keeps {sum, count}. */
export function viewOf(graph: TopologyGraph, def: DefinitionInfo): (v: unknown) => unknown {
  const node = graph.nodes.find((n) => n.id === def.node);
  return node?.type === 'avg' ? avgView : (v) => v;
}

/**
 * How queries read one kind of table from a task's store: a key's answer, and a scan's rows in
 * position order (the store's byte order), from `request.after` on.
 */
export interface TableReader {
  lookup(store: KeyValueStore, key: unknown, range: TimeRange): Promise<KeyAnswer | undefined>;
  rows(store: KeyValueStore, request: ScanRequest): AsyncIterable<Row>;
}

/**
 * The reader of a queryable table. Window and session stores are key-value stores keyed as
 * operators/window-keys.ts lays them out; their queries follow Kafka Streams' `fetch(key, from,
 * to)` and `fetchAll(from, to)` (windows that start within the range; a sliding window's end is
 * start + size, both included) and `findSessions` (sessions
 * that overlap it).
 */
export function readerFor(graph: TopologyGraph, def: DefinitionInfo): TableReader {
  const view = viewOf(graph, def);
  if (!def.windowed) return keyValueReader(def, view);
  const node = graph.nodes.find((n) => n.stores.includes(def.store!) && n.args.window !== undefined);
  const window = node?.args.window as WindowSpec | undefined;
  if (window?.type === 'session') return sessionReader(view);
  // A sliding window's store keeps the window's latest record time beside its aggregate.
  if (window?.type === 'sliding') return timeWindowReader(window.sizeMs!, (v) => view(slidingAgg(v)));
  return timeWindowReader(window?.sizeMs ?? 0, view);
}

function keyValueReader(def: DefinitionInfo, view: (v: unknown) => unknown): TableReader {
  const keySerde = serdeFor(def.keySerde);
  return {
    async lookup(store, key) {
      const v = await store.get(key);
      return v === undefined ? undefined : { key, value: view(v) };
    },
    async *rows(store, { prefix, after }) {
      for await (const [key, value] of store.range({ ...(prefix !== undefined && { prefix }), ...(after !== undefined && { from: after }) })) {
        const position = keySerde.serialize(key)!;
        yield { position, size: position.length + sizeOf(value), entry: { key, value: view(value) } };
      }
    },
  };
}

/** Time windows: keyed `<start>|<key>`, so a range of starts is a range of keys; a key's windows are picked from it. */
function timeWindowReader(sizeMs: number, view: (v: unknown) => unknown): TableReader {
  async function* windows(store: KeyValueStore, range: TimeRange, after?: Buffer): AsyncGenerator<{ k: string; start: number; key: unknown; value: unknown }> {
    let from: Buffer | undefined = range.from === undefined ? undefined : Buffer.from(timeWindowBound(Math.max(0, range.from)));
    if (after !== undefined && (from === undefined || Buffer.compare(after, from) > 0)) from = after;
    for await (const [k, value] of store.range(from === undefined ? {} : { from })) {
      const w = parseTimeWindowKey(k as string);
      if (!w) continue; // the store's reserved keys
      if (range.to !== undefined && w.start > range.to) return;
      yield { k: k as string, start: w.start, key: w.key, value };
    }
  }
  return {
    async lookup(store, key, range) {
      const text = JSON.stringify(key);
      const out: WindowValue[] = [];
      for await (const w of windows(store, range)) {
        if (JSON.stringify(w.key) === text) out.push({ start: w.start, end: w.start + sizeMs, value: view(w.value) });
      }
      return { key, windows: out };
    },
    async *rows(store, { range = {}, after }) {
      for await (const w of windows(store, range, after)) {
        const position = Buffer.from(w.k, 'utf8');
        yield { position, size: position.length + sizeOf(w.value), entry: { key: w.key, start: w.start, end: w.start + sizeMs, value: view(w.value) } };
      }
    },
  };
}

/** Sessions: keyed `<key>|<start>|<end>`, so a key's sessions are one prefix. */
function sessionReader(view: (v: unknown) => unknown): TableReader {
  const overlaps = (s: { start: number; end: number }, r: TimeRange): boolean => (r.from === undefined || s.end >= r.from) && (r.to === undefined || s.start <= r.to);
  return {
    async lookup(store, key, range) {
      const out: WindowValue[] = [];
      for await (const [k, value] of store.range({ prefix: sessionPrefix(key) })) {
        const s = parseSessionKey(k as string);
        if (s && overlaps(s, range)) out.push({ start: s.start, end: s.end, value: view(value) });
      }
      return { key, windows: out };
    },
    async *rows(store, { range = {}, after }) {
      for await (const [k, value] of store.range(after === undefined ? {} : { from: after })) {
        const s = parseSessionKey(k as string);
        if (!s || !overlaps(s, range)) continue;
        const position = Buffer.from(k as string, 'utf8');
        yield { position, size: position.length + sizeOf(value), entry: { key: s.key, start: s.start, end: s.end, value: view(value) } };
      }
    },
  };
}
