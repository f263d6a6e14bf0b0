/**
 * Records encoded into record batches as they are sent, one open batch per partition: Kafka's
 * RecordAccumulator. The engine's producer used to keep each record it was handed (and its key
 * and value Buffers) until a produce request took it; under load a request travels while tens of
 * thousands more wait, long enough for the garbage collector to copy them into the old generation.
 * Here a record is bytes in its partition's batch the moment it is sent, and the record object dies
 * young. A produce request takes the batches whole (produce-request.ts writes their headers).
 */
import type { Headers } from '../api/log.js';
import { recordBodySize, varintSize, writeRecord } from './record-fields.js';

/** Bytes before a record batch's first record (its header, written when a request takes it). */
export const BATCH_HEADER = 61;
/** A batch is closed once it holds this much; a partition's next records open another. */
export const BATCH_BYTES = 256 * 1024;
/** The size of a batch holding only this record: a topic whose max.message.bytes is smaller refuses it. */
export function batchBytesOf(key: Buffer | null, value: Buffer | null, headers: Headers | undefined): number {
  const body = recordBodySize(0, 0, key, value, headers);
  return BATCH_HEADER + varintSize(body) + body;
}

/** A batch's first buffer; it doubles as records come, up to BATCH_BYTES (or one bigger record). */
const FIRST_BYTES = 4096;

/**
 * One partition's records, encoded back to back after room for the batch header. For kafkajs it
 * stands in for the partition's list of messages: kafkajs numbers a partition's records by its
 * `length` (the idempotent producer's sequence) and hands it to the request encoder, which
 * recognises it. `value` is there for kafkajs's check that every message has one.
 */
export class EncodedBatch {
  readonly value = null;
  buffer: Buffer = Buffer.allocUnsafe(FIRST_BYTES);
  /** Bytes written, header room included. */
  size = BATCH_HEADER;
  count = 0;
  firstTimestamp = 0;
  maxTimestamp = 0;
  /** The broker's offset of the first record, once a request carrying the batch was answered. */
  baseOffset = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get length(): number {
    return this.count;
  }

  /** The batch's bytes, header room included. */
  get bytes(): Buffer {
    return this.buffer.subarray(0, this.size);
  }

  /** The batch's size with one more record: what the broker would compare with the topic's max.message.bytes. */
  sizeWith(key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers | undefined): number {
    const body = recordBodySize(this.count === 0 ? 0 : timestamp - this.firstTimestamp, this.count, key, value, headers);
    return this.size + varintSize(body) + body;
  }

  append(key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers | undefined): void {
    // Deltas from the first record's timestamp, as Java's producer writes them (they may be negative).
    if (this.count === 0) this.firstTimestamp = this.maxTimestamp = timestamp;
    else if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    const delta = timestamp - this.firstTimestamp;
    const body = recordBodySize(delta, this.count, key, value, headers);
    this.reserve(varintSize(body) + body);
    this.size = writeRecord(this.buffer, this.size, body, delta, this.count, key, value, headers);
    this.count++;
  }

  private reserve(n: number): void {
    if (this.size + n <= this.buffer.length) return;
    let length = this.buffer.length * 2;
    while (length < this.size + n) length *= 2;
    const grown = Buffer.allocUnsafe(length);
    this.buffer.copy(grown, 0, 0, this.size);
    this.buffer = grown;
  }
}

/**
 * The open batch of each partition, and the closed ones waiting for a request. `drain` hands out
 * every batch with records, closing the open ones: the next records open new batches.
 */
export class RecordAccumulator {
  /** Per topic, per partition, the batch records go into now. */
  private readonly open = new Map<string, (EncodedBatch | undefined)[]>();
  /** Full batches, in the order they filled. */
  private full: EncodedBatch[] = [];
  private records = 0;
  /** The topic and partitions of the last append: records come in runs of one topic. */
  private lastTopic = '';
  private lastBatches: (EncodedBatch | undefined)[] = [];

  /** Records appended and not yet drained. */
  get size(): number {
    return this.records;
  }

  /**
   * Appends a record to its partition's batch; returns the batch and the record's place in it. A
   * record that would take the batch past `maxBatchBytes` (the topic's max.message.bytes: the broker
   * refuses a bigger batch whole) opens a new one, as Java's producer does past batch.size.
   */
  append(topic: string, partition: number, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers | undefined, maxBatchBytes = Infinity): EncodedBatch {
    if (topic !== this.lastTopic) {
      let batches = this.open.get(topic);
      if (!batches) this.open.set(topic, (batches = []));
      this.lastTopic = topic;
      this.lastBatches = batches;
    }
    let batch = this.lastBatches[partition];
    if (batch !== undefined && maxBatchBytes !== Infinity && batch.sizeWith(key, value, timestamp, headers) > maxBatchBytes) {
      this.full.push(batch);
      batch = undefined;
    }
    if (batch === undefined) this.lastBatches[partition] = batch = new EncodedBatch(topic, partition);
    batch.append(key, value, timestamp, headers);
    this.records++;
    if (batch.size >= BATCH_BYTES) {
      this.full.push(batch);
      this.lastBatches[partition] = undefined;
    }
    return batch;
  }

  /** Every batch with records, full ones first, each partition's in the order they were filled. */
  drain(): EncodedBatch[] {
    const out = this.full;
    this.full = [];
    for (const batches of this.open.values()) {
      for (let p = 0; p < batches.length; p++) {
        const b = batches[p];
        if (b === undefined) continue;
        out.push(b);
        batches[p] = undefined;
      }
    }
    this.records = 0;
    return out;
  }

  /** Drops every record not yet drained. */
  clear(): void {
    this.drain();
  }
}
