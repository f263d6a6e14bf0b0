import type { KeyValueStore } from '../engine/api/store.js';
import { EMITTED_KEY, parseTimeWindowKey, timeWindowBound } from './window-keys.js';

export interface ClosedWindow<S> {
  readonly start: number;
  readonly key: unknown;
  readonly state: S;
  /** The window's timestamp: the largest of its records' (Kafka Streams' ValueAndTimestamp). */
  readonly timestamp: number;
}

/**
 * `emit: final` of a window store (time or sliding windows): the windows that closed since the
 * last call, each once, in order of window start then key, each with its own timestamp (Kafka
 * Streams' suppress and emitStrategy(onWindowClose) send the stored window's, not the closing record's). The close time up to which windows
 * went out is kept in the store under EMITTED_KEY, so a restarted task does not send them again
 * (Kafka Streams keeps it as processor metadata). `lastStart(closeTime)`: the latest start of a
 * closed window; `firstStart(emitted)`: the earliest start not yet sent.
 */
export class FinalWindows<S> {
  private emitted: number | undefined;

  constructor(
    private readonly lastStart: (closeTime: number) => number,
    private readonly firstStart: (emitted: number) => number,
  ) {}

  /** False when nothing can have closed since the last call: the common case, without I/O. */
  due(closeTime: number): boolean {
    return this.emitted === undefined || closeTime > this.emitted;
  }

  async take(store: KeyValueStore<string, unknown>, closeTime: number): Promise<ClosedWindow<S>[]> {
    this.emitted ??= ((await store.get(EMITTED_KEY)) as number | undefined) ?? -Infinity;
    if (closeTime <= this.emitted) return [];
    const from = this.firstStart(this.emitted);
    const to = this.lastStart(closeTime);
    const rows: ClosedWindow<S>[] = [];
    const range = from > 0 ? { from: Buffer.from(timeWindowBound(from)) } : {};
    for await (const [k, { value, timestamp }] of store.rangeWithTimestamp(range)) {
      const w = parseTimeWindowKey(k);
      if (!w || w.start > to) break; // the reserved keys sort after every window
      rows.push({ ...w, state: value as S, timestamp });
    }
    rows.sort((a, b) => a.start - b.start || (JSON.stringify(a.key) < JSON.stringify(b.key) ? -1 : 1));
    this.emitted = closeTime;
    store.put(EMITTED_KEY, closeTime);
    return rows;
  }
}

/** Deletes every window of a window store that starts before `cutoff`. */
export async function expireWindows(store: KeyValueStore<string, unknown>, cutoff: number): Promise<void> {
  const old: string[] = [];
  for await (const [k] of store.range()) {
    if (!parseTimeWindowKey(k) || k >= timeWindowBound(cutoff)) break;
    old.push(k);
  }
  for (const k of old) store.put(k, null);
}
