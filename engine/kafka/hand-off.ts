import type { LogRecord } from '../api/log.js';
import type { RecordCursor } from './record-set.js';

/** How a queued batch ended: all handed out, set aside by a pause, or dropped (rebalance, seek, close). */
export type Outcome = 'taken' | 'paused' | 'dropped';

export interface Entry {
  readonly key: string;
  /** The offset of the last record handed out; -1 before the first. */
  readonly last: number;
  readonly outcome: Outcome | undefined;
  /** Resolves when the entry has an outcome, or after `ms`, whichever is first. */
  settled(ms: number): Promise<void>;
}

interface Slot {
  key: string;
  /** The batch's records, decoded as they are taken: a queued batch holds bytes, not an object per record. */
  records: RecordCursor;
  /** The offset after the fetched batch, markers included: where the partition stands once it is all taken. */
  end: number;
  outcome: Outcome | undefined;
  wake: () => void;
  done: Promise<void>;
}

/**
 * Fetched batches waiting for `poll`, at most one per partition (kafkajs hands a partition's next
 * batch only after the previous one's eachBatch returned). `take` hands out records in offset
 * order per partition, spreading a poll's budget over the partitions that have some.
 */
export class HandOff {
  private slots: Slot[] = [];
  private cursor = 0;
  /** After `take`: per partition, the offset after the last record it handed out (after its batch, once all of it is). */
  readonly lastTaken = new Map<string, number>();

  /** Queues a batch's records (at least one); `end` is where the partition stands after them. */
  add(key: string, records: RecordCursor, end: number): Entry {
    let wake!: () => void;
    const done = new Promise<void>((r) => (wake = r));
    const slot: Slot = { key, records, end, outcome: undefined, wake, done };
    this.slots.push(slot);
    return {
      key,
      get last() {
        return records.last;
      },
      get outcome() {
        return slot.outcome;
      },
      settled: (ms) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((r) => (timer = setTimeout(r, ms)));
        return Promise.race([slot.done, timeout]).finally(() => clearTimeout(timer));
      },
    };
  }

  take(max: number): LogRecord[] {
    this.lastTaken.clear();
    const out: LogRecord[] = [];
    const n = this.slots.length;
    if (n === 0 || max <= 0) return out;
    // Every partition gets to go first in turn, and gets a fair share of the budget.
    const start = this.cursor++ % n;
    const order = [...this.slots.slice(start), ...this.slots.slice(0, start)];
    const chunk = Math.max(1, Math.ceil(max / n));
    let progressed = true;
    while (out.length < max && progressed) {
      progressed = false;
      for (const s of order) {
        const k = Math.min(chunk, max - out.length);
        if (s.outcome || k <= 0) continue;
        if (s.records.next(out, k) > 0) progressed = true;
        if (s.records.remaining > 0) {
          if (s.records.last >= 0) this.lastTaken.set(s.key, s.records.last + 1);
        } else {
          this.lastTaken.set(s.key, s.end);
          this.settle(s, 'taken');
        }
      }
    }
    this.slots = this.slots.filter((s) => !s.outcome);
    return out;
  }

  dropWhere(match: (key: string) => boolean, outcome: Outcome = 'dropped'): void {
    for (const s of this.slots) if (match(s.key)) this.settle(s, outcome);
    this.slots = this.slots.filter((s) => !s.outcome);
  }

  dropAll(): void {
    this.dropWhere(() => true);
  }

  private settle(s: Slot, outcome: Outcome): void {
    s.outcome ??= outcome;
    s.wake();
  }
}
