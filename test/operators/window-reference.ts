/**
 * A brute-force model of windowed aggregations, written from Kafka Streams' rules rather than
 * from Duality's code: it keeps every accepted record and, for each window, the values it holds
 * in the order they were folded, and recomputes what it needs by scanning them.
 *   - Stream time: the largest timestamp seen. A window is closed once end + grace is at or
 *     before it (tumbling, hopping: end excluded), end + grace before it (sliding: end included),
 *     end + gap + grace before it (sessions).
 *   - A record updates the open windows that contain it; one that updates none is late.
 *   - `emit: final` sends each window once, when it closes, in order of start then key (sessions:
 *     of end, then key, then start), and nothing else.
 *   - Retention: windows starting at or before stream time - retention are gone, sessions
 *     ending before stream time - retention.
 *   - Timestamps (Kafka Streams' timestamped stores): a time or sliding window's result, update or
 *     final, carries the largest timestamp of its records; a session's, and the tombstone of a
 *     session merged away, the session's end.
 */
import type { InputRecord, OutputRow, WindowRow } from './window-harness.js';

export type WindowKind = { type: 'tumbling'; size: number } | { type: 'hopping'; size: number; advance: number } | { type: 'sliding'; size: number } | { type: 'session'; gap: number };

export interface Model {
  readonly window: WindowKind & { grace: number; retention: number };
  readonly emit: 'changes' | 'final';
  /** The table's value for the values a window folded, in order. */
  readonly value: (folded: readonly InputRecord['value'][]) => unknown;
}

interface Win {
  key: string;
  start: number;
  end: number;
  folded: InputRecord[];
}

export function runReference(model: Model, input: readonly InputRecord[]): { output: OutputRow[]; table: WindowRow[] } {
  const w = model.window;
  const final = model.emit === 'final';
  const wins = new Map<string, Win>();
  const id = (key: string, start: number, end: number): string => `${key}|${start}|${end}`;
  const accepted: InputRecord[] = [];
  const output: OutputRow[] = [];
  const valueOf = (x: Win): unknown => model.value(x.folded.map((f) => f.value));
  const row = (x: Win, value: unknown): WindowRow => ({ key: x.key, start: x.start, end: x.end, value });
  const timestampOf = (x: Win): number => (w.type === 'session' ? x.end : Math.max(...x.folded.map((f) => f.timestamp)));
  const out = (x: Win, value: unknown): OutputRow => ({ ...row(x, value), timestamp: timestampOf(x) });
  const send = (x: Win): void => {
    if (!final) output.push(out(x, valueOf(x)));
  };
  let streamTime = -1;
  let emitted = -Infinity;
  for (const r of input) {
    streamTime = Math.max(streamTime, r.timestamp);
    const t = r.timestamp;
    if (w.type === 'tumbling' || w.type === 'hopping') {
      const size = w.size;
      const advance = w.type === 'hopping' ? w.advance : size;
      for (let start = 0; start <= t; start += advance) {
        if (!(start <= t && t < start + size) || start + size + w.grace <= streamTime) continue;
        const k = id(r.key, start, start + size);
        const x = wins.get(k) ?? { key: r.key, start, end: start + size, folded: [] };
        wins.set(k, x);
        x.folded.push(r);
        send(x);
      }
      const closeTime = streamTime - w.grace;
      if (final && closeTime > emitted) {
        const closing = [...wins.values()].filter((x) => x.end <= closeTime && x.end > emitted).sort(byStartKey);
        for (const x of closing) output.push(out(x, valueOf(x)));
        emitted = closeTime;
      }
      for (const [k, x] of wins) if (x.start <= streamTime - w.retention) wins.delete(k);
    } else if (w.type === 'sliding') {
      sliding(r, w.size, w.grace);
      const closeTime = streamTime - w.grace;
      if (final && closeTime > emitted) {
        const closing = [...wins.values()].filter((x) => x.end < closeTime && x.end >= emitted).sort(byStartKey);
        for (const x of closing) output.push(out(x, valueOf(x)));
        emitted = closeTime;
      }
      for (const [k, x] of wins) if (x.start <= streamTime - w.retention) wins.delete(k);
    } else {
      session(r, w.gap, w.grace);
      const closeTime = streamTime - w.grace - w.gap;
      if (final && closeTime > emitted && closeTime > 0) {
        const closing = [...wins.values()].filter((x) => x.end < closeTime && x.end >= Math.max(0, emitted));
        closing.sort((a, b) => a.end - b.end || cmp(a.key, b.key) || a.start - b.start);
        for (const x of closing) output.push(out(x, valueOf(x)));
        emitted = closeTime;
      }
      for (const [k, x] of wins) if (x.end < streamTime - w.retention) wins.delete(k);
    }
  }
  const table = [...wins.values()].map((x) => row(x, valueOf(x)));
  return { output, table };

  /**
   * Sliding windows by their definition (KIP-450): the windows of a key are, for each record at
   * t, [t - size, t] ([0, size] before size) and [t + 1, t + 1 + size] when a later record is in
   * it; each holds the records in it, both ends included. A new window holds the accepted
   * records already in it; the record is added to each open window that contains it.
   * Kafka Streams builds a new window from a neighbour's aggregate, which agrees with this
   * definition unless a record came after its own left window closed but in time for another
   * window ("partly late"): the streams of the sliding-window test have none (see there).
   */
  function sliding(r: InputRecord, size: number, grace: number): void {
    const t = r.timestamp;
    const closeTime = streamTime - grace;
    if (t + size < closeTime) return; // late
    const mine = accepted.filter((p) => p.key === r.key);
    const has = (start: number): Win | undefined => wins.get(id(r.key, start, start + size));
    const inside = (start: number): InputRecord[] => mine.filter((p) => p.timestamp >= start && p.timestamp <= start + size);
    const open = (start: number): boolean => start + size >= closeTime;
    const existing = [...wins.values()].filter((x) => x.key === r.key && x.start <= t && t <= x.end && open(x.start));
    const before = mine.filter((p) => p.timestamp < t).map((p) => p.timestamp);
    let previous = before.length > 0 ? Math.max(...before) : undefined;
    // Kafka Streams finds the previous record through the windows starting from t - 2 x size: one
    // at t - size - 1 only when a window other than its own left window ends with it.
    const seen = (p: number): boolean => [...wins.values()].some((x) => x.key === r.key && x.start >= t - 2 * size && x.end < t && Math.max(...x.folded.map((f) => f.timestamp)) === p);
    if (previous !== undefined && t >= size && previous === t - size - 1 && !seen(previous)) previous = undefined;
    const created: Win[] = [];
    const create = (start: number, withRecord: boolean): void => {
      if (has(start) || !open(start)) return;
      const x: Win = { key: r.key, start, end: start + size, folded: inside(start) };
      if (withRecord) x.folded.push(r);
      wins.set(id(r.key, start, start + size), x);
      created.push(x);
    };
    const later = mine.some((p) => p.timestamp > t && p.timestamp <= t + 1 + size);
    if (t < size) {
      existing.sort((a, b) => a.start - b.start);
      for (const x of existing.filter((x) => x.start > 0)) {
        x.folded.push(r);
        send(x);
      }
      if (later) create(t + 1, false);
      if (previous !== undefined) create(previous + 1, true);
      const combined = has(0);
      if (combined && open(0)) combined.folded.push(r);
      else create(0, true);
      for (const x of created) send(x);
      if (combined && open(0)) send(combined);
    } else {
      existing.sort((a, b) => b.start - a.start);
      for (const x of existing) {
        x.folded.push(r);
        send(x);
      }
      if (previous !== undefined && previous + 1 + size >= t) create(previous + 1, true);
      // When the previous record's right window is this record's left window (t = previous + 1 +
      // size), Kafka Streams writes and sends it twice, the same value both times.
      if (previous !== undefined && previous + 1 === t - size && created.length > 0) created.push(created[created.length - 1]!);
      create(t - size, true);
      if (later) create(t + 1, false);
      for (const x of created) send(x);
    }
    accepted.push(r);
  }

  /** Sessions by their definition: a record joins every session of its key within gap of it. */
  function session(r: InputRecord, gap: number, grace: number): void {
    const t = r.timestamp;
    const mine = [...wins.values()].filter((x) => x.key === r.key && x.end >= t - gap && x.start <= t + gap).sort((a, b) => a.start - b.start);
    const start = Math.min(t, ...mine.map((x) => x.start));
    const end = Math.max(t, ...mine.map((x) => x.end));
    if (end < streamTime - grace - gap) return; // late
    const merged: Win = { key: r.key, start, end, folded: [...mine.flatMap((x) => x.folded), r] };
    for (const x of mine) {
      wins.delete(id(x.key, x.start, x.end));
      if (!final && (start !== t || end !== t)) output.push(out(x, null));
    }
    wins.set(id(r.key, start, end), merged);
    send(merged);
  }
}

const cmp = (a: string, b: string): number => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0);
const byStartKey = (a: Win, b: Win): number => a.start - b.start || cmp(a.key, b.key);
