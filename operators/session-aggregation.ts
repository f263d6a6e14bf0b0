import type { Processor, ProcessorContext, StreamRecord } from '../engine/api/processor.js';
import type { KeyValueStore } from '../engine/api/store.js';
import type { GraphNode, WindowSpec } from '../engine/api/topology-graph.js';
import type { AggregationSpec } from './aggregation.js';
import { forwardAll, processor, withKeyValue } from './runtime.js';
import { EMITTED_KEY, parseSessionKey, sessionEndBound, sessionEndKey, sessionKey, sessionOfEndKey, sessionPrefix, windowedKey } from './window-keys.js';

/**
 * Session windows (Kafka Streams' SessionWindows, KStreamSessionWindowAggregate): a record joins
 * every session of its key that ends within `gap` before it or starts within `gap` after it,
 * merging them into one. With `emit: changes`, the merged-away sessions are deleted (tombstones,
 * oldest first), then the merged session is written (docs/language.md); every record carries its
 * session's end as timestamp, as Kafka Streams forwards them. A session is closed once
 * its end + gap + grace is before stream time; a record whose merged session would be closed is
 * late and dropped. With `emit: final`, each closed session goes out once, in order of end time,
 * and nothing else. Sessions that ended before stream time minus the retention are deleted.
 */
export function sessionAggregation(node: GraphNode, window: WindowSpec, spec: AggregationSpec): Processor {
  const gap = window.gapMs!;
  const merge = spec.merge;
  if (!merge) throw new Error(`${node.id}: ${node.type} cannot merge sessions`);
  const view = spec.view ?? ((s: unknown) => s);
  const final = node.args.emit === 'final';
  // The task's stream time as this processor sees it: the one place it is read and moved.
  let observed = -1;
  let emitted: number | undefined;
  let expiredUpTo = -Infinity;
  return processor((ctx) => {
    const store = ctx.store<string, unknown>(node.stores[0]!);
    // Where the task's stream time was when it started (committed with its offsets).
    observed = Math.max(observed, ctx.streamTime);
    return async (r) => {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      if (r.timestamp > observed) observed = r.timestamp;
      const closeTime = observed - window.graceMs - gap;
      await aggregate(ctx, store, r, closeTime);
      if (final) await emitClosed(ctx, store, r, closeTime);
      await expire(store);
    };
  });

  async function aggregate(ctx: ProcessorContext, store: KeyValueStore<string, unknown>, r: StreamRecord, closeTime: number): Promise<void> {
    const ts = r.timestamp;
    const overlapping: { start: number; end: number; state: unknown; k: string }[] = [];
    for await (const [k, state] of store.range({ prefix: sessionPrefix(r.key) })) {
      const s = parseSessionKey(k);
      if (s && s.end >= ts - gap && s.start <= ts + gap) overlapping.push({ ...s, state, k });
    }
    overlapping.sort((a, b) => a.start - b.start);
    const start = Math.min(ts, ...overlapping.map((s) => s.start));
    const end = Math.max(ts, ...overlapping.map((s) => s.end));
    // Late: the session it would make is closed. Dropped here only.
    if (end < closeTime) return ctx.dropped(r, 'late', `its session [${start}, ${end}] closed at stream time ${observed} (gap ${gap} ms, grace ${window.graceMs} ms)`);
    let state: unknown = undefined;
    for (const s of overlapping) state = state === undefined ? s.state : merge!(state, s.state, r.key);
    state = spec.aggregate(state, r);
    const out: StreamRecord[] = [];
    // A second record at the same time replaces its session [t, t] without a tombstone, as Kafka Streams does.
    if (start !== ts || end !== ts) {
      for (const s of overlapping) {
        store.put(s.k, null);
        store.put(sessionEndKey(s.end, s.k), null);
        out.push(withKeyValue(r, windowedKey(r.key, s.start, s.end), null, s.end));
      }
    }
    const k = sessionKey(r.key, start, end);
    store.put(k, state, end);
    store.put(sessionEndKey(end, k), 1);
    out.push(withKeyValue(r, windowedKey(r.key, start, end), view(state), end));
    if (!final) await forwardAll(ctx, out);
  }

  /** The sessions ending in [from, to), in order of end, then key and start. */
  async function sessionsEnding(store: KeyValueStore<string, unknown>, from: number, to: number): Promise<string[]> {
    const bound = sessionEndBound(to);
    const found: string[] = [];
    for await (const [k] of store.range({ from: Buffer.from(sessionEndBound(from)) })) {
      const session = sessionOfEndKey(k);
      if (session === undefined || k >= bound) break;
      found.push(session);
    }
    return found;
  }

  /**
   * `emit: final`: each session that closed since the last call, once (Kafka Streams'
   * emitStrategy(onWindowClose): sessions ending in [last close time, close time)). The close
   * time reached is kept in the store, so a restarted task does not send them again.
   */
  async function emitClosed(ctx: ProcessorContext, store: KeyValueStore<string, unknown>, r: StreamRecord, closeTime: number): Promise<void> {
    if (emitted !== undefined && closeTime <= emitted) return;
    emitted ??= ((await store.get(EMITTED_KEY)) as number | undefined) ?? -Infinity;
    if (closeTime <= emitted || closeTime <= 0) return;
    const out: StreamRecord[] = [];
    for (const k of await sessionsEnding(store, emitted, closeTime)) {
      const s = parseSessionKey(k)!;
      out.push(withKeyValue(r, windowedKey(s.key, s.start, s.end), view(await store.get(k)), s.end));
    }
    emitted = closeTime;
    store.put(EMITTED_KEY, closeTime);
    await forwardAll(ctx, out);
  }

  /**
   * Deletes the sessions that ended before stream time minus the retention (Kafka Streams' session
   * store drops them with their segment; it hides them from end <= stream time - retention, one
   * ms earlier, which could hide a session that has not closed yet when retention = gap + grace).
   */
  async function expire(store: KeyValueStore<string, unknown>): Promise<void> {
    const cutoff = observed - window.retentionMs;
    if (cutoff <= expiredUpTo) return;
    expiredUpTo = cutoff;
    for (const k of await sessionsEnding(store, 0, cutoff)) {
      store.put(k, null);
      store.put(sessionEndKey(parseSessionKey(k)!.end, k), null);
    }
  }
}
