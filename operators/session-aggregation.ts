import type { Processor } from '../engine/api/processor.js';
import type { GraphNode, WindowSpec } from '../engine/api/topology-graph.js';
import type { AggregationSpec } from './aggregation.js';
import { forwardAll, processor, withKeyValue } from './runtime.js';
import { parseSessionKey, sessionKey, sessionPrefix, windowedKey } from './window-keys.js';

/**
 * Session windows (Kafka Streams' SessionWindows): a record joins every session of its key that
 * ends within `gap` before it or starts within `gap` after it, merging them into one. The
 * merged-away sessions are deleted (tombstones, oldest first), then the merged session is written
 * (docs/language.md). A record whose merged session ends before stream time minus gap and grace is
 * late and dropped.
 */
export function sessionAggregation(node: GraphNode, window: WindowSpec, spec: AggregationSpec): Processor {
  const gap = window.gapMs!;
  const merge = spec.merge;
  if (!merge) throw new Error(`${node.id}: ${node.type} cannot merge sessions`);
  const view = spec.view ?? ((s: unknown) => s);
  let observed = -1;
  return processor((ctx) => {
    const store = ctx.store<string, unknown>(node.stores[0]!);
    // Where the task's stream time was when it started (committed with its offsets).
    observed = Math.max(observed, ctx.streamTime);
    return async (r) => {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      if (r.timestamp > observed) observed = r.timestamp;
      const ts = r.timestamp;
      const overlapping: { start: number; end: number; state: unknown; k: string }[] = [];
      for await (const [k, state] of store.range({ prefix: sessionPrefix(r.key) })) {
        const s = parseSessionKey(k);
        if (s && s.end >= ts - gap && s.start <= ts + gap) overlapping.push({ ...s, state, k });
      }
      overlapping.sort((a, b) => a.start - b.start);
      const start = Math.min(ts, ...overlapping.map((s) => s.start));
      const end = Math.max(ts, ...overlapping.map((s) => s.end));
      // A session can still grow until stream time passes its end + gap (+ grace), as in Kafka Streams.
      if (end < observed - window.graceMs - gap) return ctx.dropped(r, 'late', `its session [${start}, ${end}] closed at stream time ${observed} (gap ${gap} ms, grace ${window.graceMs} ms)`);
      let state: unknown = undefined;
      for (const s of overlapping) state = state === undefined ? s.state : merge(state, s.state, r.key);
      state = spec.aggregate(state, r);
      const out = overlapping.map((s) => {
        store.put(s.k, null);
        return withKeyValue(r, windowedKey(r.key, s.start, s.end), null);
      });
      store.put(sessionKey(r.key, start, end), state);
      out.push(withKeyValue(r, windowedKey(r.key, start, end), view(state)));
      await forwardAll(ctx, out);
    };
  });
}
