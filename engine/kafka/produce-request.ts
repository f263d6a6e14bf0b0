/**
 * kafkajs's Produce request (versions 3 to 7 share it), encoded in one pass into one buffer.
 *
 * kafkajs builds a request out of an Encoder per record and per header, each growing its own
 * buffer, writes every varint through `Buffer.from([...bytes])`, makes 64-bit numbers BigInts, and
 * sorts each batch's timestamps with the default (string) comparison, which also picks the wrong
 * first and max timestamp when timestamps differ in digit count. Under a WordCount load that was
 * 30 % of Duality's CPU (docs/benchmarks.md). This encoder writes the same bytes (a test compares
 * them with kafkajs's own) with sizes computed first and no object per record, and a CRC-32C eight
 * bytes at a step; batch timestamps are compared as numbers. Compressed batches compress the same bytes (engine/kafka/codecs.ts).
 *
 * engine/kafka/kafkajs.ts puts `produceRequest` in Node's module cache in place of
 * `kafkajs/src/protocol/requests/produce/v3/request.js`, before kafkajs loads.
 */
import { createRequire } from 'node:module';
import { codecOf } from './codecs.js';
import { BATCH_HEADER, EncodedBatch } from './record-accumulator.js';
import { recordBodySize, varintSize, writeRecord, type Bytes, type RecordHeaders } from './record-fields.js';

const require = createRequire(import.meta.url);
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): { toString(): string } };

interface EncoderInstance {
  writeBuffer(b: Buffer): EncoderInstance;
}
type EncoderClass = new (size?: number) => EncoderInstance;

/** A message as kafkajs hands it to the request: what the application passed to send. */
export interface ProduceMessage {
  readonly key?: Bytes;
  readonly value: Bytes;
  readonly timestamp?: string | number | null;
  readonly headers?: RecordHeaders;
}

export interface ProduceRequestArgs {
  readonly acks: number;
  readonly timeout: number;
  readonly transactionalId?: string | null;
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly compression?: number;
  readonly topicData: readonly {
    readonly topic: string;
    readonly partitions: readonly { readonly partition: number; readonly firstSequence?: number; readonly messages: readonly ProduceMessage[] | EncodedBatch }[];
  }[];
}

const PRODUCE_API_KEY = 0;
const MAGIC = 2;
const TRANSACTIONAL = 16;
const COMPRESSION_MASK = 0x07;
/**
 * A record batch's bytes before the attributes, where its CRC starts: offset, length, leader epoch,
 * magic, crc. Then come attributes, last offset delta, first and max timestamp, producer id and
 * epoch, first sequence and record count, BATCH_HEADER bytes in all before the records.
 */
const BATCH_HEAD = 8 + 4 + 4 + 1 + 4;

/** The request kafkajs's `requests/produce/v3/request.js` would build, with the same bytes. */
export function produceRequest(args: ProduceRequestArgs): { apiKey: number; apiVersion: number; apiName: string; expectResponse: () => boolean; encode: () => Promise<EncoderInstance> } {
  return {
    apiKey: PRODUCE_API_KEY,
    apiVersion: 3,
    apiName: 'Produce',
    expectResponse: () => args.acks !== 0,
    encode: async () => new Encoder(0).writeBuffer(await encodeProduceRequest(args)),
  };
}

/** The request's body (after the request header), as a Produce v3..v7 request. */
export async function encodeProduceRequest(args: ProduceRequestArgs): Promise<Buffer> {
  const compression = (args.compression ?? 0) & COMPRESSION_MASK;
  const producerId = BigInt(Long.fromValue(args.producerId ?? -1).toString());
  const now = Date.now();
  const batches: Buffer[] = [];
  let size = nullableStringSize(args.transactionalId) + 2 + 4 + 4;
  for (const t of args.topicData) {
    size += 2 + Buffer.byteLength(t.topic) + 4;
    for (const p of t.partitions) {
      const batch = await recordBatch(p.messages, {
        compression,
        transactional: Boolean(args.transactionalId),
        producerId,
        producerEpoch: args.producerEpoch ?? 0,
        firstSequence: p.firstSequence ?? 0,
        now,
      });
      batches.push(batch);
      size += 4 + 4 + batch.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = writeNullableString(out, 0, args.transactionalId);
  at = out.writeInt16BE(args.acks, at);
  at = out.writeInt32BE(args.timeout, at);
  at = out.writeInt32BE(args.topicData.length, at);
  let b = 0;
  for (const t of args.topicData) {
    at = writeNullableString(out, at, t.topic);
    at = out.writeInt32BE(t.partitions.length, at);
    for (const p of t.partitions) {
      const batch = batches[b++]!;
      at = out.writeInt32BE(p.partition, at);
      at = out.writeInt32BE(batch.length, at);
      at += batch.copy(out, at);
    }
  }
  return out;
}

interface BatchOptions {
  readonly compression: number;
  readonly transactional: boolean;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly now: number;
}

/** One partition's record batch (magic 2), from its first offset field to its last record. */
async function recordBatch(messages: readonly ProduceMessage[] | EncodedBatch, o: BatchOptions): Promise<Buffer> {
  if (messages instanceof EncodedBatch) return encodedBatch(messages, o);
  const n = messages.length;
  const stamps = new Float64Array(n);
  let first = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const ts = messages[i]!.timestamp;
    const t = ts === null || ts === undefined || ts === '' ? o.now : Number(ts);
    stamps[i] = t;
    if (t < first) first = t;
    if (t > max) max = t;
  }
  if (n === 0) first = max = o.now;

  let records = encodeRecords(messages, stamps, first);
  if (o.compression !== 0) records = await codecOf(o.compression).compress({ buffer: records });

  const batch = Buffer.allocUnsafe(BATCH_HEADER + records.length);
  records.copy(batch, BATCH_HEADER);
  return writeBatchHeader(batch, n, first, max, o);
}

/**
 * A batch whose records the accumulator encoded as they were sent: its header is written into the
 * room left before them (a retried request writes it again, with its new sequence number).
 */
async function encodedBatch(b: EncodedBatch, o: BatchOptions): Promise<Buffer> {
  if (o.compression !== 0) {
    const records = await codecOf(o.compression).compress({ buffer: b.bytes.subarray(BATCH_HEADER, b.size) });
    const out = Buffer.allocUnsafe(BATCH_HEADER + records.length);
    records.copy(out, BATCH_HEADER);
    return writeBatchHeader(out, b.count, b.firstTimestamp, b.maxTimestamp, o);
  }
  return writeBatchHeader(b.bytes, b.count, b.firstTimestamp, b.maxTimestamp, o);
}

/** Writes a batch's header into `batch[0..61)`, before its records, and its CRC; returns `batch`. */
function writeBatchHeader(batch: Buffer, n: number, first: number, max: number, o: BatchOptions): Buffer {
  batch.writeBigInt64BE(0n, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(0, 12);
  batch.writeInt8(MAGIC, 16);
  let at = BATCH_HEAD;
  const body = at;
  at = batch.writeInt16BE(o.compression | (o.transactional ? TRANSACTIONAL : 0), at);
  at = batch.writeInt32BE(n - 1, at);
  at = batch.writeBigInt64BE(BigInt(first), at);
  at = batch.writeBigInt64BE(BigInt(max), at);
  at = batch.writeBigInt64BE(o.producerId, at);
  at = batch.writeInt16BE(o.producerEpoch, at);
  at = batch.writeInt32BE(o.firstSequence, at);
  batch.writeInt32BE(n, at);
  batch.writeUInt32BE(crc32C(batch.subarray(body)), 17);
  return batch;
}

/** The records of a batch, back to back: each its length (varint) and its body. */
function encodeRecords(messages: readonly ProduceMessage[], stamps: Float64Array, first: number): Buffer {
  const n = messages.length;
  const bodySizes = new Int32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    const s = recordBodySize(stamps[i]! - first, i, m.key, m.value, m.headers);
    bodySizes[i] = s;
    total += varintSize(s) + s;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    at = writeRecord(out, at, bodySizes[i]!, stamps[i]! - first, i, m.key, m.value, m.headers);
  }
  return out;
}

function nullableStringSize(s: string | null | undefined): number {
  return s === null || s === undefined ? 2 : 2 + Buffer.byteLength(s);
}

function writeNullableString(out: Buffer, at: number, s: string | null | undefined): number {
  if (s === null || s === undefined) return out.writeInt16BE(-1, at);
  const len = Buffer.byteLength(s);
  at = out.writeInt16BE(len, at);
  return at + out.write(s, at, 'utf8');
}

/** CRC-32C (Castagnoli), as a record batch's checksum: slicing by 8, eight tables of 256. */
const CRC_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

export function crc32C(b: Uint8Array): number {
  const t = CRC_TABLES;
  let crc = ~0;
  let i = 0;
  for (const end = b.length - 8; i <= end; i += 8) {
    const a = crc ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    crc =
      t[0x700 + (a & 0xff)]! ^
      t[0x600 + ((a >>> 8) & 0xff)]! ^
      t[0x500 + ((a >>> 16) & 0xff)]! ^
      t[0x400 + (a >>> 24)]! ^
      t[0x300 + b[i + 4]!]! ^
      t[0x200 + b[i + 5]!]! ^
      t[0x100 + b[i + 6]!]! ^
      t[b[i + 7]!]!;
  }
  for (; i < b.length; i++) crc = t[(crc ^ b[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/**
 * kafkajs's grouping of a send's messages by partition, in linear time: kafkajs's own copies the
 * partition's list at every message, which is quadratic in the request's size. Same answer: an
 * object from partition to its messages in send order; empty when the topic has no partitions.
 */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    // A partition's batch encoded by the accumulator is its whole list of messages.
    if (message instanceof EncodedBatch) {
      if (result[message.partition] !== undefined) throw new Error(`kafka: two batches for partition ${message.partition} of topic "${topic}" in one request`);
      result[message.partition] = message as unknown as M[];
      continue;
    }
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}
