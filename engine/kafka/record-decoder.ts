/**
 * kafkajs's decoder of one record of a record batch (magic 2), with numbers instead of its 64-bit
 * Long class: kafkajs makes a BigInt wrapper per record for the offset and the timestamp and
 * decodes the timestamp delta through a chain of them, which was 10 % of Duality's CPU under a
 * WordCount load (docs/benchmarks.md). The answer is the same object (a test compares it with
 * kafkajs's own): offset and timestamp as decimal strings, key and value as views of the fetch
 * buffer, headers by key (a list when a key repeats). Offsets and timestamps stay below 2^53.
 *
 * engine/kafka/kafkajs.ts puts `decodeRecord` in Node's module cache in place of
 * `kafkajs/src/protocol/recordBatch/record/v0/decoder.js`, before kafkajs loads.
 */

/** What kafkajs's Decoder gives this function: the record's bytes and where it starts. */
interface Decoder {
  buffer: Buffer;
  offset: number;
}

export interface BatchContext {
  readonly firstOffset?: string;
  readonly firstTimestamp?: string;
  readonly maxTimestamp?: string;
  readonly magicByte?: number;
  readonly isControlBatch?: boolean;
  readonly timestampType?: number;
}

export interface DecodedRecord {
  magicByte: number | undefined;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
  batchContext: BatchContext;
}

const LOG_APPEND_TIME = 1;

/** Records without headers share one (kafkajs only reads them). */
const NO_HEADERS: DecodedRecord['headers'] = Object.freeze({}) as DecodedRecord['headers'];

/** The buffer being read and where: module state rather than an object per record (decoding is synchronous). */
let buf: Buffer = Buffer.alloc(0);
let at = 0;
/** The batch of the record before, and its first offset and timestamp as numbers: parsed once a batch. */
let batch: BatchContext | undefined;
let baseOffset = 0;
let baseTimestamp = 0;

export function decodeRecord(decoder: Decoder, batchContext: BatchContext = {}): DecodedRecord {
  const record = decodeRecordAt(decoder.buffer, decoder.offset, batchContext);
  decoder.offset = at;
  return record;
}

/**
 * The records of a batch, `count` of them back to back from `start` of `buffer`, each after its
 * length (a varint), as kafkajs's batch decoder would decode them one slice and Decoder at a time.
 */
export function decodeRecords(buffer: Buffer, start: number, count: number, batchContext: BatchContext): DecodedRecord[] {
  const records = new Array<DecodedRecord>(count);
  buf = buffer;
  at = start;
  for (let i = 0; i < count; i++) {
    const length = varint();
    if (length < 0 || at + length > buffer.length) throw new RangeError(`record ${i} of a batch has length ${length}, beyond the batch's ${buffer.length - at} bytes left`);
    const end = at + length;
    records[i] = decodeRecordAt(buffer, at, batchContext);
    at = end;
  }
  return records;
}

function decodeRecordAt(buffer: Buffer, start: number, batchContext: BatchContext): DecodedRecord {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  buf = buffer;
  at = start;
  const attributes = buf.readInt8(at++);
  const timestampDelta = varlong();
  if (batchContext !== batch) {
    batch = batchContext;
    baseOffset = Number(firstOffset);
    baseTimestamp = Number(firstTimestamp);
  }
  const timestamp = timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : String(baseTimestamp + timestampDelta);
  const offset = String(baseOffset + varint());
  const key = bytes();
  const value = bytes();
  let headers = NO_HEADERS;
  for (let n = varint(); n > 0; n--) {
    if (headers === NO_HEADERS) headers = {};
    const k = bytes()?.toString('utf8') ?? 'null';
    const v = bytes();
    const had = headers[k];
    headers[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: isControlBatch, batchContext };
}

/** An unsigned varint of up to 64 bits, as a number (exact below 2^53). */
function uvarint(): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    const b = buf[at++];
    if (b === undefined) throw new RangeError('a record ends inside a varint');
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 128;
  }
}

function varint(): number {
  const v = uvarint();
  return (v >>> 1) ^ -(v & 1);
}

function varlong(): number {
  const v = uvarint();
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

/** Length-prefixed bytes, a view of the buffer; length -1 is null. */
function bytes(): Buffer | null {
  const len = varint();
  if (len < 0) return null;
  const out = buf.subarray(at, at + len);
  at += len;
  return out;
}
