import type { Processor, ProcessorContext, StreamRecord } from '../engine/api/processor.js';
import type { KeyValueStore } from '../engine/api/store.js';
import type { GraphNode } from '../engine/api/topology-graph.js';
import { compiled, forwardAll, processor, withKeyValue } from './runtime.js';

const pad = (ms: number): string => String(ms).padStart(16, '0');
/** A buffered record: `<json key>|<timestamp>|<id>`. */
const bufferKey = (prefix: string, ts: number, id: string): string => `${prefix}${pad(ts)}|${id}`;
const idOf = (bufferKey: string, prefix: string): string => bufferKey.slice(prefix.length + 17);
/** A record waiting for its window to close: `<timestamp>|<side>|<id>|<json key>|`, oldest first. */
const outerKey = (ts: number, side: number, id: string, prefix: string): string => `${pad(ts)}|${side}|${id}|${prefix}`;

interface Buffered {
  readonly ts: number;
  readonly value: unknown;
}

interface Unmatched {
  readonly side: 0 | 1;
  readonly key: unknown;
  readonly value: unknown;
  readonly ts: number;
}

/**
 * Stream-stream join within a time difference (Kafka Streams' JoinWindows with grace). Each side
 * is buffered in its own store, keyed `<json key>|<timestamp>|<id>`, so a record finds the other
 * side's records of its key with one prefix scan. A match is emitted at once. For left and outer
 * joins a record without a match waits in the `-join-outer` store, keyed by time, and is emitted
 * with a null partner only once its window has closed (stream time past its timestamp + within +
 * grace), so no spurious null results appear (Kafka Streams 3.1+). A record whose window ended
 * before stream time (grace or not) goes out with a null partner at once, as KStreamKStreamJoin
 * does. So a record arriving after its window closed (grace included) still joins the other side's
 * records that are still buffered, and on an outer side goes out at once when it has none; one
 * too old to be buffered that gives nothing is dropped and counted as late.
 */
export function streamStreamJoin(node: GraphNode): Processor {
  const joiner = compiled(node, 'value', 'join');
  const within = node.args.withinMs as number;
  const grace = (node.args.graceMs as number | undefined) ?? 0;
  const type = node.args.type as 'inner' | 'left' | 'outer';
  const keepsUnmatched = (side: 0 | 1): boolean => type === 'outer' || (type === 'left' && side === 0);
  // Ids keep records with equal key and timestamp apart; the start time keeps them apart across restarts.
  const run = Date.now().toString(36);
  let seq = 0;
  let observed = -1;
  let expiredUpTo = -Infinity;
  return processor((ctx) => {
    const [thisName, otherName, outerName] = node.stores;
    const buffers = [ctx.store<string, Buffered>(thisName!), ctx.store<string, Buffered>(otherName!)];
    const outer = outerName === undefined ? undefined : ctx.store<string, Unmatched>(outerName);
    // Where the task's stream time was when it started (committed with its offsets).
    observed = Math.max(observed, ctx.streamTime);
    return async (r, input) => {
      const side = input as 0 | 1;
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      if (r.timestamp > observed) observed = r.timestamp;
      // Buffered records are kept as long as a record that is not late can join them (expire below).
      const keptFrom = observed - 2 * within - grace;
      const kept = r.timestamp >= keptFrom;
      const prefix = `${JSON.stringify(r.key)}|`;
      const out: StreamRecord[] = [];
      let matched = false;
      for await (const [k, other] of buffers[1 - side]!.range({ prefix })) {
        // Past keptFrom a record is as good as expired, whenever expire last ran.
        if (Math.abs(other.ts - r.timestamp) > within || other.ts < keptFrom) continue;
        matched = true;
        const [left, right] = side === 0 ? [r.value, other.value] : [other.value, r.value];
        out.push({ ...withKeyValue(r, r.key, joiner.evaluate({ key: r.key, left, right })), timestamp: Math.max(r.timestamp, other.ts) });
        // The other record has its match now: it will not be emitted with a null partner.
        if (outer) outer.put(outerKey(other.ts, 1 - side, idOf(k, prefix), prefix), null);
      }
      if (!matched && keepsUnmatched(side) && r.timestamp + within < observed) {
        // Its window ended already (Kafka Streams' timeTo < stream time): it goes out at once with
        // a null partner rather than waiting for a close that already passed.
        const [left, right] = side === 0 ? [r.value, null] : [null, r.value];
        out.push(withKeyValue(r, r.key, joiner.evaluate({ key: r.key, left, right })));
      } else if (!kept && !matched) ctx.dropped(r, 'late', `its join window closed at stream time ${observed} (within ${within} ms, grace ${grace} ms)`);
      if (kept) {
        const id = `${run}-${seq++}`;
        buffers[side]!.put(bufferKey(prefix, r.timestamp, id), { ts: r.timestamp, value: r.value });
        if (!matched && outer && keepsUnmatched(side) && r.timestamp + within >= observed) outer.put(outerKey(r.timestamp, side, id, prefix), { side, key: r.key, value: r.value, ts: r.timestamp });
      }
      await forwardAll(ctx, out);
      if (outer) await emitClosed(ctx, outer, r);
      if (observed - 2 * within - grace > expiredUpTo + within) await expire(buffers);
    };
  });

  /** Emits, oldest first, the unmatched records whose window has closed. */
  async function emitClosed(ctx: ProcessorContext, outer: KeyValueStore<string, Unmatched>, r: StreamRecord): Promise<void> {
    const closed: [string, Unmatched][] = [];
    for await (const [k, u] of outer.range()) {
      if (u.ts + within + grace >= observed) break;
      closed.push([k, u]);
    }
    const out = closed.map(([k, u]) => {
      outer.put(k, null);
      const [left, right] = u.side === 0 ? [u.value, null] : [null, u.value];
      return { ...withKeyValue(r, u.key, joiner.evaluate({ key: u.key, left, right })), timestamp: u.ts };
    });
    await forwardAll(ctx, out);
  }

  /** Drops buffered records no future record can join: older than stream time − 2·within − grace. */
  async function expire(buffers: KeyValueStore<string, Buffered>[]): Promise<void> {
    expiredUpTo = observed - 2 * within - grace;
    for (const b of buffers) {
      const old: string[] = [];
      for await (const [k, v] of b.range()) if (v.ts < expiredUpTo) old.push(k);
      for (const k of old) b.put(k, null);
    }
  }
}
