import type { StreamRecord } from '../api/processor.js';
import { HELD_OVERHEAD, sizeOf, type CacheBudget } from '../state/cache-budget.js';
import { KeyIndex, type MapKey } from '../state/key-index.js';

/**
 * One node's table updates held back until the commit (ProcessorContext.forwardUpdate), as Kafka
 * Streams' record cache holds them: the latest per key, in order of each key's last update.
 *
 * An update is every word of a WordCount, so holding one allocates nothing: its record's fields go
 * into slots (parallel arrays, one slot per held key, found through a KeyIndex) and a record is
 * made again only when the update goes on. Holding the records themselves kept each key's latest
 * until the commit, long enough to be copied into the old generation, and replaced it at the next
 * update: the garbage collector's worst case, once per word. The order is a log of (slot, update
 * number) pairs in typed arrays; a slot updated again later is skipped where its older number stands.
 *
 * What is held counts in the engine's cache budget (cache-budget.ts), as Kafka Streams' record
 * cache holds the updates: `over` tells the task to send the oldest on.
 */
export class HeldUpdates {
  /** Per slot: the map key (heldKey) of the record's key, then the fields of its latest update. */
  private readonly mapKeys: MapKey[] = [];
  private readonly index = new KeyIndex(this.mapKeys);
  private readonly keys: unknown[] = [];
  private readonly values: unknown[] = [];
  private readonly headers: StreamRecord['headers'][] = [];
  private readonly topics: string[] = [];
  private readonly sources: (string | undefined)[] = [];
  private timestamps = new Float64Array(64);
  private offsets = new Float64Array(64);
  private partitions = new Int32Array(64);
  /** The number of the slot's latest update; 0 when it is free. */
  private seqOf = new Float64Array(64);
  /** The bytes each held update counts in the budget. */
  private sizes = new Float64Array(64);
  private bytes = 0;
  private readonly free: number[] = [];
  /** The log, from head to tail. */
  private logSlots = new Int32Array(256);
  private logSeqs = new Float64Array(256);
  private head = 0;
  private tail = 0;
  private seq = 0;
  private count = 0;

  constructor(private readonly budget: CacheBudget) {}

  get size(): number {
    return this.count;
  }

  /** Whether the engine's caches hold more than their budget, and this holds something to send on. */
  get over(): boolean {
    return this.count > 0 && this.budget.over;
  }

  /** Holds `record` as its key's latest update. */
  hold(record: StreamRecord): void {
    const k = heldKey(record.key);
    let slot = this.index.get(k);
    if (slot < 0) {
      slot = this.free.pop() ?? this.mapKeys.length;
      if (slot === this.mapKeys.length) this.addSlot();
      this.mapKeys[slot] = k;
      this.index.set(k, slot);
      this.keys[slot] = record.key;
      this.count++;
    }
    this.values[slot] = record.value;
    this.timestamps[slot] = record.timestamp;
    this.headers[slot] = record.headers;
    this.topics[slot] = record.topic;
    this.partitions[slot] = record.partition;
    this.offsets[slot] = record.offset;
    this.sources[slot] = record.source;
    const size = HELD_OVERHEAD + sizeOf(record.key) + sizeOf(record.value) + sizeOf(record.headers);
    this.counted(size - this.sizes[slot]!);
    this.sizes[slot] = size;
    const seq = ++this.seq;
    this.seqOf[slot] = seq;
    if (this.tail === this.logSlots.length) this.growLog();
    this.logSlots[this.tail] = slot;
    this.logSeqs[this.tail++] = seq;
  }

  /** Takes out the update whose key was updated least recently. */
  takeOldest(): StreamRecord | undefined {
    while (this.head < this.tail) {
      const slot = this.logSlots[this.head]!;
      if (this.seqOf[slot] !== this.logSeqs[this.head++]) continue;
      const record = this.recordOf(slot);
      this.index.delete(this.mapKeys[slot]!);
      this.seqOf[slot] = 0;
      this.keys[slot] = this.values[slot] = undefined;
      this.free.push(slot);
      this.count--;
      this.counted(-this.sizes[slot]!);
      this.sizes[slot] = 0;
      return record;
    }
    return undefined;
  }

  /** Takes out every update, oldest first. */
  takeAll(): StreamRecord[] {
    const out: StreamRecord[] = [];
    for (let i = this.head; i < this.tail; i++) {
      const slot = this.logSlots[i]!;
      if (this.seqOf[slot] === this.logSeqs[i]) out.push(this.recordOf(slot));
    }
    this.clear();
    return out;
  }

  clear(): void {
    this.index.clear();
    this.seqOf.fill(0, 0, this.mapKeys.length);
    this.sizes.fill(0, 0, this.mapKeys.length);
    this.counted(-this.bytes);
    for (const a of [this.mapKeys, this.keys, this.values, this.headers, this.topics, this.sources]) a.length = 0;
    this.free.length = 0;
    this.head = this.tail = 0;
    this.count = 0;
  }

  /** The slot's update as a record: the shape operators make (withKeyValue), so forwarding it stays monomorphic. */
  private recordOf(slot: number): StreamRecord {
    return {
      key: this.keys[slot],
      value: this.values[slot],
      timestamp: this.timestamps[slot]!,
      headers: this.headers[slot]!,
      topic: this.topics[slot]!,
      partition: this.partitions[slot]!,
      offset: this.offsets[slot]!,
      source: this.sources[slot],
    };
  }

  private addSlot(): void {
    const n = this.mapKeys.length;
    for (const a of [this.mapKeys, this.keys, this.values, this.headers, this.topics, this.sources] as unknown[][]) a.push(undefined);
    if (n < this.seqOf.length) return;
    this.timestamps = grown(this.timestamps);
    this.offsets = grown(this.offsets);
    this.partitions = grown(this.partitions);
    this.seqOf = grown(this.seqOf);
    this.sizes = grown(this.sizes);
  }

  private counted(bytes: number): void {
    this.bytes += bytes;
    this.budget.used += bytes;
  }

  private growLog(): void {
    // Entries before the head are spent: move the rest to the front before growing.
    const live = this.tail - this.head;
    if (this.head >= this.logSlots.length / 2) {
      this.logSlots.copyWithin(0, this.head, this.tail);
      this.logSeqs.copyWithin(0, this.head, this.tail);
    } else {
      const slots = new Int32Array(this.logSlots.length * 2);
      slots.set(this.logSlots.subarray(this.head, this.tail));
      const seqs = new Float64Array(this.logSeqs.length * 2);
      seqs.set(this.logSeqs.subarray(this.head, this.tail));
      this.logSlots = slots;
      this.logSeqs = seqs;
    }
    this.head = 0;
    this.tail = live;
  }
}

function grown<T extends Float64Array | Int32Array>(a: T): T {
  const out = new (a.constructor as new (n: number) => T)(a.length * 2);
  out.set(a);
  return out;
}

/**
 * A held update's map key: the record's key itself when it is a number or string (compared by
 * value); JSON for anything else, behind a NUL that no JSON text starts with (strings that start
 * with one are taken as JSON too, so no two keys meet).
 */
function heldKey(key: unknown): MapKey {
  if (typeof key === 'string') return key.charCodeAt(0) !== 0 ? key : `\u0000${JSON.stringify(key)}`;
  // NaN is one key, as in a Map; no JSON text reads NaN.
  if (typeof key === 'number') return Number.isNaN(key) ? '\u0000NaN' : key;
  return `\u0000${JSON.stringify(key)}`;
}
