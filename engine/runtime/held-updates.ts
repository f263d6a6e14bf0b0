import type { StreamRecord } from '../api/processor.js';

/** A held table update. */
export interface Held {
  readonly key: unknown;
  record: StreamRecord;
  /** The number of its latest update. */
  seq: number;
}

/**
 * One node's table updates held back until the commit (ProcessorContext.forwardUpdate), as Kafka
 * Streams' record cache holds them: the latest per key, in order of each key's last update.
 *
 * The order is a log of (entry, update number) pairs; an entry updated again later is skipped
 * where its older number stands. A Map kept in order by delete-and-set would do the same, but
 * costs a deletion per update, and a Map's deleted entries stay until it rehashes.
 */
export class HeldUpdates {
  private readonly byKey = new Map<unknown, Held>();
  private entries: Held[] = [];
  private seqs: number[] = [];
  private head = 0;
  private seq = 0;

  get size(): number {
    return this.byKey.size;
  }

  /** Holds `record` as its key's latest update. */
  hold(record: StreamRecord): void {
    const key = heldKey(record.key);
    let h = this.byKey.get(key);
    if (h === undefined) {
      h = { key, record, seq: 0 };
      this.byKey.set(key, h);
    } else {
      h.record = record;
    }
    h.seq = ++this.seq;
    this.entries.push(h);
    this.seqs.push(h.seq);
  }

  /** Takes out the update whose key was updated least recently. */
  takeOldest(): Held | undefined {
    while (this.head < this.entries.length) {
      const h = this.entries[this.head]!;
      const seq = this.seqs[this.head++]!;
      if (h.seq !== seq) continue;
      this.byKey.delete(h.key);
      h.seq = 0;
      return h;
    }
    return undefined;
  }

  /** Takes out every update, oldest first. */
  takeAll(): Held[] {
    const out: Held[] = [];
    for (let i = this.head; i < this.entries.length; i++) if (this.entries[i]!.seq === this.seqs[i]) out.push(this.entries[i]!);
    this.clear();
    return out;
  }

  clear(): void {
    this.byKey.clear();
    this.entries = [];
    this.seqs = [];
    this.head = 0;
  }
}

/**
 * A held update's map key: the record's key itself when it is a number or string (a Map compares
 * those by value); JSON for anything else, behind a NUL that no JSON text starts with (strings that
 * start with one are taken as JSON too, so no two keys meet).
 */
const heldKey = (key: unknown): unknown =>
  typeof key === 'number' || (typeof key === 'string' && key.charCodeAt(0) !== 0) ? key : `\u0000${JSON.stringify(key)}`;
