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

export function decodeRecord(decoder: Decoder, batchContext: BatchContext = {}): DecodedRecord {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const r = new Reader(decoder.buffer, decoder.offset);
  const attributes = r.buf.readInt8(r.at++);
  const timestampDelta = r.varlong();
  const timestamp = timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : String(Number(firstTimestamp) + timestampDelta);
  const offset = String(Number(firstOffset) + r.varint());
  const key = r.bytes();
  const value = r.bytes();
  const headers: DecodedRecord['headers'] = {};
  for (let n = r.varint(); n > 0; n--) {
    const k = r.bytes()?.toString('utf8') ?? 'null';
    const v = r.bytes();
    const had = headers[k];
    headers[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  decoder.offset = r.at;
  return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: isControlBatch, batchContext };
}

class Reader {
  constructor(
    readonly buf: Buffer,
    public at: number,
  ) {}

  /** An unsigned varint of up to 64 bits, as a number (exact below 2^53). */
  private uvarint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.buf[this.at++];
      if (b === undefined) throw new RangeError('a record ends inside a varint');
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
  }

  varint(): number {
    const v = this.uvarint();
    return (v >>> 1) ^ -(v & 1);
  }

  varlong(): number {
    const v = this.uvarint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  /** Length-prefixed bytes, a view of the buffer; length -1 is null. */
  bytes(): Buffer | null {
    const len = this.varint();
    if (len < 0) return null;
    const out = this.buf.subarray(this.at, this.at + len);
    this.at += len;
    return out;
  }
}
