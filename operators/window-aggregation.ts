import type { Done, Processor, ProcessorContext, StreamRecord } from '../engine/api/processor.js';
import type { KeyValueStore } from '../engine/api/store.js';
import type { GraphNode, WindowSpec } from '../engine/api/topology-graph.js';
import type { AggregationSpec } from './aggregation.js';
import { forwardAll, processor, whenLoaded, withKeyValue } from './runtime.js';
import { slidingWindowAggregation } from './sliding-window-aggregation.js';
import { expireWindows, FinalWindows } from './window-close.js';
import { timeWindowKey, windowedKey } from './window-keys.js';

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
 * passes its end + grace, in order of window start then key. A window is deleted once its start
 * is at or before stream time minus the retention, as Kafka Streams' window store drops it.
 * Sliding windows have their own processor (sliding-window-aggregation.ts).
 */
export function timeWindowAggregation(node: GraphNode, window: WindowSpec, spec: AggregationSpec): Processor {
  if (window.type === 'sliding') return slidingWindowAggregation(node, window, spec);
  const size = window.sizeMs!;
  const advance = window.advanceMs ?? size;
  const final = node.args.emit === 'final';
  const view = spec.view ?? ((s: unknown) => s);
  // The task's stream time as this processor sees it: the one place it is read and moved.
  let observed = -1;
  let expiredUpTo = 0;
  // Closed once end + grace <= stream time, that is start <= closeTime - size.
  const closed = new FinalWindows<unknown>((closeTime) => closeTime - size, (emitted) => emitted - size + 1);
  return processor((ctx) => {
    const store = ctx.store<string, unknown>(node.stores[0]!);
    // Where the task's stream time was when it started (committed with its offsets): windows that
    // closed before a restart stay closed.
    observed = Math.max(observed, ctx.streamTime);
    return (r) => {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      if (r.timestamp > observed) observed = r.timestamp;
      const closeTime = observed - window.graceMs;
      // Windows already closed are skipped: a record in none of the others is late and dropped.
      const live = windowStarts(r.timestamp, size, advance).filter((s) => s + size > closeTime);
      if (live.length === 0) ctx.dropped(r, 'late', `its window${advance < size ? 's' : ''} closed at stream time ${observed} (grace ${window.graceMs} ms)`);
      const updates = live.map((start) => {
        const k = timeWindowKey(start, r.key);
        return whenLoaded(store.getWithTimestamp(k), (old) => {
          const state = spec.aggregate(old?.value, r);
          // The window's time: the later of its previous and the record's (Kafka Streams' KStreamWindowAggregate).
          const timestamp = old === undefined ? r.timestamp : Math.max(old.timestamp, r.timestamp);
          store.put(k, state, timestamp);
          return final ? undefined : ctx.forwardUpdate(withKeyValue(r, windowedKey(r.key, start, start + size), view(state), timestamp));
        });
      });
      const pending = updates.filter((u): u is Promise<void> => u instanceof Promise);
      // Closing and expiring cost a scan, so they run only when stream time crossed a boundary.
      const after = (): Done => chain(final && closed.due(closeTime) ? emitClosed(ctx, store, r, closeTime) : undefined, () => maybeExpire(store));
      return pending.length > 0 ? Promise.all(pending).then(after) : after();
    };
  });

  function maybeExpire(store: KeyValueStore<string, unknown>): Done {
    const cutoff = observed - window.retentionMs + 1;
    // Windows start at multiples of `advance`: the next one to expire starts at or after expiredUpTo.
    if (Math.ceil(expiredUpTo / advance) * advance >= cutoff) return;
    expiredUpTo = cutoff;
    return expireWindows(store, cutoff);
  }

  /** Forwards, once, every window that closed since the last call. */
  async function emitClosed(ctx: ProcessorContext, store: KeyValueStore<string, unknown>, r: StreamRecord, closeTime: number): Promise<void> {
    const rows = await closed.take(store, closeTime);
    await forwardAll(ctx, rows.map((w) => withKeyValue(r, windowedKey(w.key, w.start, w.start + size), view(w.state), w.timestamp)));
  }
}

function chain(first: Done, then: () => Done): Done {
  return first instanceof Promise ? first.then(then) : then();
}
