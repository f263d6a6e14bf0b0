/**
 * A fetch response's records, read lazily. kafkajs decodes every record of a fetch into an object
 * as the response arrives (with its offset and timestamp as decimal strings), filters them in two
 * more passes and leaves the engine to make its own record of each. A fetch holds up to a megabyte
 * per partition, 40,000 small records, which wait while the engine works through the batches
 * queued before them: long enough to outlive two young-generation collections, so the garbage
 * collector copied every one of them into the old generation, about 700 bytes a record
 * (docs/benchmarks.md). Here a fetch response's records stay bytes, and each record is decoded
 * when the engine polls it, straight into a LogRecord that dies young.
 *
 * `decodeRecordSet` parses a partition's record set into its record batches (magic 2), up to
 * their records: the batch header as numbers and the records' bytes, decompressed. A
 * `RecordCursor` walks the records of the batches a fetch keeps (fetched-batch.ts), decoding
 * each into a LogRecord. `kafkajsMessage` decodes a record into the object kafkajs's own decoder
 * gives, for kafkajs's eachMessage and anyone iterating `batch.messages`.
 */
import type { Headers, LogRecord } from '../api/log.js';
import { setOwn } from '../api/own.js';
import { codecOf } from './codecs.js';

/** What kafkajs's fetch response decoder hands `decodeMessages`: its Decoder over the response. */
interface ResponseDecoder {
  readInt32(): number;
  canReadBytes(length: number): boolean;
  readBytes(length: number): Buffer;
}

const MAGIC_OFFSET = 16;
/** The bytes of a record batch before its first record. */
const BATCH_HEADER = 61;
const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME_FLAG = 0x08;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;

/** One record batch of a fetch response: its header, and its records still as bytes. */
export interface RecordBatch {
  readonly baseOffset: number;
  /** baseOffset + lastOffsetDelta: the batch's last offset, kept even when compaction removed that record. */
  readonly lastOffset: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  /** Timestamps are the broker's (LogAppendTime): every record has maxTimestamp. */
  readonly logAppendTime: boolean;
  readonly transactional: boolean;
  /** A batch of transaction markers (control records), never handed out. */
  readonly control: boolean;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly partitionLeaderEpoch: number;
  readonly count: number;
  /** The records, back to back from `start` to `end` of `bytes` (decompressed). */
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
}

/** A signed 64-bit big-endian number as a JS number (exact below 2^53, which offsets and timestamps are). */
const int64At = (b: Buffer, at: number): number => b.readInt32BE(at) * 0x1_0000_0000 + b.readUInt32BE(at + 4);

/**
 * kafkajs's `decodeMessages` (fetch v4 and later): a partition's record set into its record
 * batches. A batch cut off at the end of the response (the broker fills a fetch up to its byte
 * limit) is left out, as kafkajs leaves it: the next fetch starts at it.
 */
export async function decodeRecordSet(decoder: ResponseDecoder): Promise<RecordBatch[]> {
  const size = decoder.readInt32();
  if (size <= 0 || !decoder.canReadBytes(size)) return [];
  const set = decoder.readBytes(size);
  const batches: RecordBatch[] = [];
  for (let at = 0; set.length - at >= BATCH_HEADER; ) {
    const length = set.readInt32BE(at + 8);
    const end = at + 12 + length;
    if (end > set.length) break;
    const magic = set.readInt8(at + MAGIC_OFFSET);
    if (magic !== 2) {
      throw new Error(`kafka: a fetched record batch has message format v${magic}; Duality reads format v2 (Kafka 0.11 and later) only`);
    }
    const attributes = set.readInt16BE(at + 21);
    const compression = attributes & COMPRESSION_MASK;
    const count = set.readInt32BE(at + 57);
    let bytes = set;
    let start = at + BATCH_HEADER;
    let stop = end;
    if (compression !== 0 && count > 0) {
      bytes = await codecOf(compression).decompress(set.subarray(start, end));
      start = 0;
      stop = bytes.length;
    }
    const baseOffset = int64At(set, at);
    batches.push({
      baseOffset,
      lastOffset: baseOffset + set.readInt32BE(at + 23),
      firstTimestamp: int64At(set, at + 27),
      maxTimestamp: int64At(set, at + 35),
      logAppendTime: (attributes & LOG_APPEND_TIME_FLAG) !== 0,
      transactional: (attributes & TRANSACTIONAL_FLAG) !== 0,
      control: (attributes & CONTROL_FLAG) !== 0,
      producerId: int64At(set, at + 43),
      producerEpoch: set.readInt16BE(at + 51),
      firstSequence: set.readInt32BE(at + 53),
      partitionLeaderEpoch: set.readInt32BE(at + 12),
      count: count < 0 ? 0 : count,
      bytes,
      start,
      end: stop,
    });
    at = end;
  }
  return batches;
}

/* The buffer being read and where: module state rather than an object per record (decoding is synchronous). */
let buf: Buffer = Buffer.alloc(0);
let at = 0;

/** An unsigned varint of up to 64 bits, as a number (exact below 2^53). */
function uvarint(): number {
  let b = buf[at++];
  if (b === undefined) throw new RangeError('a record ends inside a varint');
  if (b < 0x80) return b;
  let result = b & 0x7f;
  let scale = 128;
  for (;;) {
    b = buf[at++];
    if (b === undefined) throw new RangeError('a record ends inside a varint');
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 128;
  }
}

/** Zigzag 32-bit. */
function varint(): number {
  const v = uvarint();
  return (v >>> 1) ^ -(v & 1);
}

/** Zigzag 64-bit, with arithmetic instead of 32-bit operators. */
function varlong(): number {
  const v = uvarint();
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

/** Length-prefixed bytes, a view of the buffer; length -1 is null. */
function bytesField(): Buffer | null {
  const len = varint();
  if (len < 0) return null;
  const out = buf.subarray(at, at + len);
  at += len;
  return out;
}

/** Most records carry no headers: they share one empty object. */
const NO_HEADERS: Headers = Object.freeze({}) as Headers;

/** A record's headers as the engine keeps them: Kafka allows a key more than once; like Java's `lastHeader`, the last wins. */
function headersField(): Headers {
  let n = varint();
  if (n <= 0) return NO_HEADERS;
  const out: Record<string, Buffer> = {};
  for (; n > 0; n--) {
    const k = bytesField()?.toString('utf8') ?? 'null';
    setOwn(out, k, bytesField() as Buffer);
  }
  return out;
}

/** Moves past a record, given at the byte after its length; returns its offset delta. */
function skipToOffsetDelta(): number {
  at++; // attributes
  uvarint(); // timestamp delta
  return varint();
}

/**
 * The offsets of a batch's records, in order: `fn` gets each and may stop the walk by returning
 * false. Reads only each record's length and offset delta.
 */
export function eachOffset(b: RecordBatch, fn: (offset: number) => boolean | void): void {
  buf = b.bytes;
  at = b.start;
  for (let i = 0; i < b.count && at < b.end; i++) {
    const length = varint();
    const next = at + length;
    const offset = b.baseOffset + skipToOffsetDelta();
    if (fn(offset) === false) return;
    buf = b.bytes;
    at = next;
  }
}

/** A batch's records at or after an offset: all of them, or (a batch the offset falls in) those it counts. */
export function countFrom(b: RecordBatch, from: number): number {
  if (b.baseOffset >= from) return b.count;
  if (b.lastOffset < from) return 0;
  let n = 0;
  eachOffset(b, (offset) => void (offset >= from && n++));
  return n;
}

/** The key of a control batch's marker: version (int16), then type, 0 for an abort. */
export function isAbortMarker(b: RecordBatch): boolean {
  buf = b.bytes;
  at = b.start;
  varint();
  skipToOffsetDelta();
  const key = bytesField();
  return key !== null && key.length >= 4 && key.readInt16BE(2) === 0;
}

/**
 * Walks the records of a list of batches (those a fetch keeps), decoding each into a LogRecord.
 * Records below `from` are passed over: a compressed batch holds records before the offset that
 * was fetched, and the engine may stand past a fetch's first records.
 */
export class RecordCursor {
  private batch = 0;
  private pos: number;
  private index = 0;
  /** Records left to hand out. */
  remaining = 0;
  /** The offset of the last record handed out; -1 before the first. */
  last = -1;

  constructor(
    private readonly topic: string,
    private readonly partition: number,
    private readonly batches: readonly RecordBatch[],
    private readonly from: number,
  ) {
    this.pos = batches.length > 0 ? batches[0]!.start : 0;
    for (const b of batches) this.remaining += countFrom(b, from);
  }

  /** Decodes up to `max` records onto the end of `out`; returns how many. */
  next(out: LogRecord[], max: number): number {
    let n = 0;
    const { topic, partition, from } = this;
    while (n < max && this.remaining > 0) {
      const b = this.batches[this.batch]!;
      if (this.index >= b.count || this.pos >= b.end) {
        // A batch that ends before its count says (it never should) ends the walk, not the process.
        if (++this.batch >= this.batches.length) {
          this.remaining = 0;
          break;
        }
        this.pos = this.batches[this.batch]!.start;
        this.index = 0;
        continue;
      }
      buf = b.bytes;
      at = this.pos;
      const length = varint();
      const next = at + length;
      at++; // attributes
      const timestampDelta = varlong();
      const offset = b.baseOffset + varint();
      this.index++;
      if (offset >= from) {
        const key = bytesField();
        const value = bytesField();
        const headers = headersField();
        const timestamp = b.logAppendTime ? b.maxTimestamp : b.firstTimestamp + timestampDelta;
        out.push({ topic, partition, offset, key, value, timestamp, headers });
        this.last = offset;
        this.remaining--;
        n++;
      }
      this.pos = next;
    }
    return n;
  }
}

/** A record as kafkajs's decoder gives it: offset and timestamp as decimal strings, headers by key (a list when a key repeats). */
export interface KafkajsMessage {
  magicByte: number;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
  batchContext: Record<string, unknown>;
}

/** The batch context kafkajs gives each of a batch's messages. */
function kafkajsBatchContext(b: RecordBatch): Record<string, unknown> {
  return {
    firstOffset: String(b.baseOffset),
    firstTimestamp: String(b.firstTimestamp),
    partitionLeaderEpoch: b.partitionLeaderEpoch,
    inTransaction: b.transactional,
    isControlBatch: b.control,
    lastOffsetDelta: b.lastOffset - b.baseOffset,
    producerId: String(b.producerId),
    producerEpoch: b.producerEpoch,
    firstSequence: b.firstSequence,
    maxTimestamp: String(b.maxTimestamp),
    timestampType: b.logAppendTime ? 1 : 0,
    magicByte: 2,
  };
}

/** Every record of a batch as kafkajs's decoder would give it. */
export function kafkajsMessages(b: RecordBatch): KafkajsMessage[] {
  const context = kafkajsBatchContext(b);
  const out: KafkajsMessage[] = [];
  buf = b.bytes;
  at = b.start;
  for (let i = 0; i < b.count && at < b.end; i++) {
    const length = varint();
    const next = at + length;
    const attributes = buf.readInt8(at++);
    const timestampDelta = varlong();
    const offset = String(b.baseOffset + varint());
    const timestamp = b.logAppendTime ? String(b.maxTimestamp) : String(b.firstTimestamp + timestampDelta);
    const key = bytesField();
    const value = bytesField();
    const headers: KafkajsMessage['headers'] = {};
    for (let n = varint(); n > 0; n--) {
      const k = bytesField()?.toString('utf8') ?? 'null';
      const v = bytesField();
      const had = headers[k];
      headers[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    out.push({ magicByte: 2, attributes, timestamp, offset, key, value, headers, isControlRecord: b.control, batchContext: context });
    at = next;
  }
  return out;
}
