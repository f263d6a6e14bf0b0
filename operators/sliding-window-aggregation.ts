import type { Processor, ProcessorContext, StreamRecord } from '../engine/api/processor.js';
import type { KeyValueStore } from '../engine/api/store.js';
import type { GraphNode, WindowSpec } from '../engine/api/topology-graph.js';
import type { AggregationSpec } from './aggregation.js';
import { forwardAll, processor, withKeyValue } from './runtime.js';
import { TimeIndex, upperBound, type Timed } from './time-index.js';
import { FinalWindows } from './window-close.js';
import { parseTimeWindowKey, timeWindowKey, timeWindowKeyOfText, windowedKey } from './window-keys.js';

/**
 * What a sliding window's store keeps: the aggregate and the largest record timestamp in the
 * window (Kafka Streams' ValueAndTimestamp), which tells where the key's previous record was.
 */
export interface SlidingState {
  readonly agg: unknown;
  readonly ts: number;
}

/** A store value of a sliding window as a query shows it. */
export const slidingAgg = (v: unknown): unknown => (v as SlidingState).agg;

interface Found {
  readonly start: number;
  readonly value: SlidingState;
}

/** A window in the index: its key's JSON text, and its start as the time. */
type Window = Timed;

/**
 * Sliding windows (KIP-450, Kafka Streams' SlidingWindows and KStreamSlidingWindowAggregate).
 * A window `[start, start + size]` includes both ends and exists only where records are: each
 * record at t has its left window `[t - size, t]`, and a right window `[t + 1, t + 1 + size]` once
 * a later record falls in it. A record updates every window of its key that contains it; the
 * windows it creates start from a neighbour's aggregate, as Kafka Streams does, so no record is
 * kept. Records before `size` share the window `[0, size]`. A window is closed once its end is
 * before stream time minus grace; a record whose right window would be closed is late and dropped.
 *
 * A record reads its key's windows of the last 2 × size: the store keeps windows by start first
 * (for closing and expiring in time order), so the windows each key has are indexed in memory,
 * built from the store when the task processes its first record.
 */
export function slidingWindowAggregation(node: GraphNode, window: WindowSpec, spec: AggregationSpec): Processor {
  const size = window.sizeMs!;
  const grace = window.graceMs;
  const final = node.args.emit === 'final';
  const view = spec.view ?? ((s: unknown) => s);
  // The task's stream time as this processor sees it: the one place it is read and moved.
  let observed = -1;
  let expiredUpTo = -Infinity;
  // Both ends are inclusive: closed once end < close time (emitRangeUpperBound/LowerBound).
  const closed = new FinalWindows<SlidingState>((closeTime) => closeTime - size - 1, (emitted) => emitted - size);
  return processor((ctx) => {
    const store = ctx.store<string, SlidingState>(node.stores[0]!);
    // Where the task's stream time was when it started (committed with its offsets).
    observed = Math.max(observed, ctx.streamTime);
    const index = new TimeIndex<Window>();
    let loaded = false;
    return async (r) => {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      if (!loaded) {
        for await (const [k] of store.range()) {
          const w = parseTimeWindowKey(k);
          if (w) index.add({ key: JSON.stringify(w.key), ts: w.start });
        }
        loaded = true;
      }
      if (r.timestamp > observed) observed = r.timestamp;
      const closeTime = observed - grace;
      // Late: even the record's right window ended before the close time. Dropped here only.
      if (r.timestamp + size < closeTime) return ctx.dropped(r, 'late', `its windows closed at stream time ${observed} (grace ${grace} ms)`);
      const out: StreamRecord[] = [];
      const text = JSON.stringify(r.key);
      const put = (start: number, value: SlidingState): void => {
        // A window carries the largest timestamp of its records, as Kafka Streams forwards it.
        store.put(timeWindowKey(start, r.key), value, value.ts);
        const mine = index.of(text);
        const at = upperBound(mine, (w) => w.ts < start);
        if (mine[at]?.ts !== start) index.add({ key: text, ts: start });
        if (!final) out.push(withKeyValue(r, windowedKey(r.key, start, start + size), view(value.agg), value.ts));
      };
      /** Adds the record to a window (a new one from `base`), unless the window closed. */
      const update = (start: number, base: SlidingState | undefined): void => {
        if (start + size < closeTime) return;
        put(start, { agg: spec.aggregate(base?.agg, r), ts: base === undefined ? r.timestamp : Math.max(r.timestamp, base.ts) });
      };
      if (r.timestamp < size) await early(r, update, put);
      else await regular(r, update, put);
      // Updates go through the record cache, as time windows' do (emit: changes).
      for (const u of out) await ctx.forwardUpdate(u);
      if (final && closed.due(closeTime)) await emitFinal(ctx, store, r, closeTime);
      expire();
    };

    /** The key's windows starting within [from, to], in start order. */
    async function windowsOf(key: unknown, from: number, to: number): Promise<Found[]> {
      const mine = index.of(JSON.stringify(key));
      const found: Found[] = [];
      for (let i = upperBound(mine, (w) => w.ts < from); i < mine.length && mine[i]!.ts <= to; i++) {
        const start = mine[i]!.ts;
        found.push({ start, value: (await store.get(timeWindowKey(start, key)))! });
      }
      return found;
    }

    /**
     * Windows are deleted once their start is at or before stream time minus the retention (Kafka
     * Streams' window store keeps windows by start); the retention is at least 2 × size + grace,
     * so the windows a new window starts from are still there.
     */
    function expire(): void {
      const cutoff = observed - window.retentionMs + 1;
      if (cutoff <= expiredUpTo) return;
      expiredUpTo = cutoff;
      for (const w of index.expire(cutoff)) store.put(timeWindowKeyOfText(w.ts, w.key), null);
    }

    /** A record at or after `size` (Kafka Streams' processReverse: newest window first). */
    async function regular(r: StreamRecord, update: (start: number, base: SlidingState | undefined) => void, put: (start: number, v: SlidingState) => void): Promise<void> {
      const t = r.timestamp;
      const found = (await windowsOf(r.key, Math.max(0, t - 2 * size), t + 1)).reverse();
      const starts = new Set(found.map((w) => w.start));
      let leftAgg: SlidingState | undefined;
      let rightAgg: SlidingState | undefined;
      let leftExists = false;
      let rightExists = false;
      let previous: number | undefined;
      for (const w of found) {
        const end = w.start + size;
        if (w.start === t + 1) rightExists = true;
        else if (end > t) {
          rightAgg ??= w.value;
          update(w.start, w.value);
        } else if (end === t) {
          leftExists = true;
          update(w.start, w.value);
          if (w.value.ts >= t) return; // the windows around t exist already
          previous = w.value.ts;
        } else {
          leftAgg = w.value;
          previous = w.value.ts;
          break;
        }
      }
      // The previous record's right window, when this record is the first in it.
      if (previous !== undefined && !starts.has(previous + 1) && previous + 1 + size >= t) update(previous + 1, undefined);
      if (!leftExists) update(t - size, previous !== undefined && t - size <= previous ? { agg: leftAgg!.agg, ts: t } : undefined);
      if (!rightExists && rightAgg !== undefined && rightAgg.ts > t) put(t + 1, rightAgg);
    }

    /** A record before `size`: its left window is `[0, size]`, shared by every such record (processEarly). */
    async function early(r: StreamRecord, update: (start: number, base: SlidingState | undefined) => void, put: (start: number, v: SlidingState) => void): Promise<void> {
      const t = r.timestamp;
      let combined: SlidingState | undefined;
      let rightAgg: SlidingState | undefined;
      let rightExists = false;
      let previous: number | undefined;
      const found = await windowsOf(r.key, 0, t + 1);
      const starts = new Set(found.map((w) => w.start));
      for (const w of found) {
        if (w.start === 0) {
          combined = w.value;
          if (w.value.ts < t) previous = w.value.ts;
        } else if (w.start <= t) {
          rightAgg = w.value;
          update(w.start, w.value);
        } else rightExists = true;
      }
      if (rightAgg === undefined && combined !== undefined && combined.ts > t) rightAgg = combined;
      if (!rightExists && rightAgg !== undefined && rightAgg.ts > t) put(t + 1, rightAgg);
      if (previous !== undefined && !starts.has(previous + 1)) update(previous + 1, undefined);
      update(0, combined);
    }
  });

  async function emitFinal(ctx: ProcessorContext, store: KeyValueStore<string, SlidingState>, r: StreamRecord, closeTime: number): Promise<void> {
    const rows = await closed.take(store as KeyValueStore<string, unknown>, closeTime);
    await forwardAll(ctx, rows.map((w) => withKeyValue(r, windowedKey(w.key, w.start, w.start + size), view(w.state.agg), w.state.ts)));
  }
}
