import type { Done, Processor, ProcessorContext, StreamRecord } from '../engine/api/processor.js';
import type { KeyValueStore } from '../engine/api/store.js';
import type { GraphNode, WindowSpec } from '../engine/api/topology-graph.js';
import type { AggregationSpec } from './aggregation.js';
import { forwardAll, processor, whenLoaded, withKeyValue } from './runtime.js';
import { EMITTED_KEY, parseTimeWindowKey, timeWindowBound, timeWindowKey, windowedKey } from './window-keys.js';

/** The start of every tumbling or hopping window that contains `ts`, oldest first (Kafka Streams' TimeWindows#windowsFor). */
export function windowStarts(ts: number, size: number, advance: number): number[] {
  const starts: number[] = [];
  let start = Math.max(0, ts - size + advance) - (Math.max(0, ts - size + advance) % advance);
  for (; start <= ts; start += advance) if (start + size > ts) starts.push(start);
  return starts;
}

/**
 * Tumbling and hopping windows: each record updates every window that contains it, unless the
 * window closed (its end + grace is at or before stream time: the record is late and dropped).
 * `emit: changes` forwards each update; `emit: final` forwards each window once, when stream time
 * passes its end + grace, in order of window start then key. Windows older than the retention
 * are deleted as stream time moves on.
 */
export function timeWindowAggregation(node: GraphNode, window: WindowSpec, spec: AggregationSpec): Processor {
  if (window.type === 'sliding') throw new Error(`${node.id}: sliding windows are not implemented yet`);
  const size = window.sizeMs!;
  const advance = window.advanceMs ?? size;
  const final = node.args.emit === 'final';
  const view = spec.view ?? ((s: unknown) => s);
  let observed = -1;
  let emitted: number | undefined;
  let expiredUpTo = -Infinity;
  return processor((ctx) => {
    const store = ctx.store<string, unknown>(node.stores[0]!);
    // Where the task's stream time was when it started (committed with its offsets): windows that
    // closed before a restart stay closed.
    observed = Math.max(observed, ctx.streamTime);
    return (r) => {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      if (r.timestamp > observed) observed = r.timestamp;
      const closeTime = observed - window.graceMs;
      const live = windowStarts(r.timestamp, size, advance).filter((s) => s + size > closeTime);
      if (live.length === 0) ctx.dropped(r, 'late', `its window${advance < size ? 's' : ''} closed at stream time ${observed} (grace ${window.graceMs} ms)`);
      const updates = live.map((start) => {
        const k = timeWindowKey(start, r.key);
        return whenLoaded(store.get(k), (old) => {
          const state = spec.aggregate(old, r);
          store.put(k, state);
          return final ? undefined : ctx.forwardUpdate(withKeyValue(r, windowedKey(r.key, start, start + size), view(state)));
        });
      });
      const pending = updates.filter((u): u is Promise<void> => u instanceof Promise);
      // Closing and expiring cost a scan, so they run only when stream time crossed a boundary.
      const after = (): Done => chain(final ? maybeEmit(ctx, store, r) : undefined, () => maybeExpire(store));
      return pending.length > 0 ? Promise.all(pending).then(after) : after();
    };
  });

  function maybeEmit(ctx: ProcessorContext, store: KeyValueStore<string, unknown>, r: StreamRecord): Done {
    if (emitted !== undefined && observed - window.graceMs <= emitted) return;
    return emitClosed(ctx, store, r);
  }

  function maybeExpire(store: KeyValueStore<string, unknown>): Done {
    const cutoff = observed - window.retentionMs - size;
    if (cutoff <= 0 || cutoff < expiredUpTo + advance) return;
    expiredUpTo = cutoff;
    return expire(store, cutoff);
  }

  /** Forwards, once, every window that closed since the last call. */
  async function emitClosed(ctx: ProcessorContext, store: KeyValueStore<string, unknown>, r: StreamRecord): Promise<void> {
    emitted ??= ((await store.get(EMITTED_KEY)) as number | undefined) ?? -Infinity;
    const closeTime = observed - window.graceMs;
    if (closeTime <= emitted) return;
    // Closed: end + grace <= observed, that is start <= closeTime - size.
    const rows: { start: number; key: unknown; state: unknown }[] = [];
    for await (const [k, state] of store.range()) {
      const w = parseTimeWindowKey(k);
      if (!w) break; // the reserved keys sort after every window
      if (w.start > closeTime - size) break;
      if (w.start > emitted - size) rows.push({ ...w, state });
    }
    rows.sort((a, b) => a.start - b.start || (JSON.stringify(a.key) < JSON.stringify(b.key) ? -1 : 1));
    emitted = closeTime;
    store.put(EMITTED_KEY, closeTime);
    await forwardAll(ctx, rows.map((w) => withKeyValue(r, windowedKey(w.key, w.start, w.start + size), view(w.state))));
  }

  /** Deletes the windows that ended before stream time minus the retention. */
  async function expire(store: KeyValueStore<string, unknown>, cutoff: number): Promise<void> {
    const old: string[] = [];
    for await (const [k] of store.range({ limit: 1000 })) {
      const w = parseTimeWindowKey(k);
      if (!w || k >= timeWindowBound(cutoff)) break;
      old.push(k);
    }
    for (const k of old) store.put(k, null);
  }
}

function chain(first: Done, then: () => Done): Done {
  return first instanceof Promise ? first.then(then) : then();
}
