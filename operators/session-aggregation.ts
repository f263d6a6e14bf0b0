import type { Processor, ProcessorContext, StreamRecord } from '../engine/api/processor.js';
import type { KeyValueStore } from '../engine/api/store.js';
import type { GraphNode, WindowSpec } from '../engine/api/topology-graph.js';
import type { AggregationSpec } from './aggregation.js';
import { forwardAll, processor, withKeyValue } from './runtime.js';
import { OrderedKeys, TimeIndex, type Timed } from './time-index.js';
import { EMITTED_KEY, endOfEndKey, parseSessionKey, sessionEndKey, sessionKey, sessionOfEndKey, sessionPrefix, windowedKey } from './window-keys.js';

/**
 * Session windows (Kafka Streams' SessionWindows, KStreamSessionWindowAggregate): a record joins
 * every session of its key that ends within `gap` before it or starts within `gap` after it,
 * merging them into one. With `emit: changes`, the merged-away sessions are deleted (tombstones,
 * oldest first), then the merged session is written (docs/language.md); every record carries its
 * session's end as timestamp, as Kafka Streams forwards them. A session is closed once
 * its end + gap + grace is before stream time; a record whose merged session would be closed is
 * late and dropped. With `emit: final`, each closed session goes out once, in order of end time,
 * and nothing else. Sessions that ended before stream time minus the retention are deleted.
 *
 * The store is read once, when the task processes its first record: from then on the sessions of
 * each key are indexed in memory (their start and end; the aggregates stay in the store), with
 * their ends in order for closing and expiring, so a record costs no range scan of the store.
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
  return processor((ctx) => {
    const store = ctx.store<string, unknown>(node.stores[0]!);
    // Where the task's stream time was when it started (committed with its offsets).
    observed = Math.max(observed, ctx.streamTime);
    /** Each key's sessions, by end (`key`: the JSON key and `|`). */
    const sessions = new TimeIndex<Session>();
    /** `emit: final`: the sessions not yet sent, by end then key and start. */
    const closing = new OrderedKeys();
    let loaded = false;
    const index = (s: Session): void => {
      sessions.add(s);
      if (final) closing.add(sessionEndKey(s.ts, s.k));
    };
    const load = async (): Promise<void> => {
      for await (const [k] of store.range()) {
        const s = parseSessionKey(k);
        if (s) index({ key: sessionPrefix(s.key), ts: s.end, start: s.start, k });
        // An index by end that earlier versions kept in the store: the index in memory replaces it.
        else if (sessionOfEndKey(k) !== undefined) store.put(k, null);
      }
      loaded = true;
    };
    return async (r) => {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      if (!loaded) await load();
      if (r.timestamp > observed) observed = r.timestamp;
      const closeTime = observed - window.graceMs - gap;
      await aggregate(ctx, r, closeTime);
      if (final) await emitClosed(ctx, r, closeTime);
      // Sessions that ended before stream time minus the retention are deleted (Kafka Streams'
      // session store drops them with their segment; it hides them from end <= stream time -
      // retention, one ms earlier, which could hide a session that has not closed yet when
      // retention = gap + grace).
      for (const s of sessions.expire(observed - window.retentionMs)) {
        store.put(s.k, null);
        closing.remove(sessionEndKey(s.ts, s.k));
      }
    };

    async function aggregate(ctx: ProcessorContext, r: StreamRecord, closeTime: number): Promise<void> {
      const ts = r.timestamp;
      const overlapping: { s: Session; state: unknown }[] = [];
      for (const s of sessions.of(sessionPrefix(r.key))) {
        if (s.ts >= ts - gap && s.start <= ts + gap) overlapping.push({ s, state: await store.get(s.k) });
      }
      overlapping.sort((a, b) => a.s.start - b.s.start);
      const start = Math.min(ts, ...overlapping.map(({ s }) => s.start));
      const end = Math.max(ts, ...overlapping.map(({ s }) => s.ts));
      // Late: the session it would make is closed. Dropped here only.
      if (end < closeTime) return ctx.dropped(r, 'late', `its session [${start}, ${end}] closed at stream time ${observed} (gap ${gap} ms, grace ${window.graceMs} ms)`);
      let state: unknown = undefined;
      for (const o of overlapping) state = state === undefined ? o.state : merge!(state, o.state, r.key);
      state = spec.aggregate(state, r);
      const out: StreamRecord[] = [];
      // A second record at the same time replaces its session [t, t] without a tombstone, as Kafka Streams does.
      const replaced = start === ts && end === ts;
      for (const { s } of overlapping) {
        sessions.remove(s);
        closing.remove(sessionEndKey(s.ts, s.k));
        if (replaced) continue;
        store.put(s.k, null);
        out.push(withKeyValue(r, windowedKey(r.key, s.start, s.ts), null, s.ts));
      }
      const k = sessionKey(r.key, start, end);
      store.put(k, state, end);
      index({ key: sessionPrefix(r.key), ts: end, start, k });
      out.push(withKeyValue(r, windowedKey(r.key, start, end), view(state), end));
      if (!final) await forwardAll(ctx, out);
    }

    /**
     * `emit: final`: each session that closed since the last call, once (Kafka Streams'
     * emitStrategy(onWindowClose): sessions ending in [last close time, close time)). The close
     * time reached is kept in the store, so a restarted task does not send them again.
     */
    async function emitClosed(ctx: ProcessorContext, r: StreamRecord, closeTime: number): Promise<void> {
      if (emitted !== undefined && closeTime <= emitted) return;
      emitted ??= ((await store.get(EMITTED_KEY)) as number | undefined) ?? -Infinity;
      if (closeTime <= emitted || closeTime <= 0) return;
      const out: StreamRecord[] = [];
      for (let first = closing.first(); first !== undefined && endOfEndKey(first) < closeTime; first = closing.first()) {
        closing.take();
        const s = parseSessionKey(sessionOfEndKey(first)!)!;
        // Sent before a restart: the close time reached then is past its end.
        if (s.end < emitted) continue;
        out.push(withKeyValue(r, windowedKey(s.key, s.start, s.end), view(await store.get(sessionKey(s.key, s.start, s.end))), s.end));
      }
      emitted = closeTime;
      store.put(EMITTED_KEY, closeTime);
      await forwardAll(ctx, out);
    }
  });
}

/** A session in the index: its key's JSON text and `|`, its end as the time, its start and store key. */
interface Session extends Timed {
  readonly start: number;
  readonly k: string;
}
