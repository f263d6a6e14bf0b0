import type { Headers, LogRecord } from '../api/log.js';
import { setOwn } from '../api/own.js';
// Only the cheap Buffer view the serdes use too: the log knows no serdes.
import { bufferView } from '../serde/buffer-view.js';

/*
 * The segment file format: records back to back, each
 *
 *   u32 length of what follows | f64 timestamp | i32 key length (-1 = null) | key
 *   | i32 value length (-1 = null) | value | u16 header count | per header: u16 name length | name (UTF-8)
 *   | u32 value length | value
 *
 * all big-endian. Offsets are not stored: a record's offset is its index in the file. There is no
 * checksum because nothing past the manifest's committed length is ever read, and everything up to
 * it was fsynced before the manifest named it.
 */

export interface RecordFields {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers?: Headers | undefined;
}

/** The bytes of a record with no key, value or headers. */
export const FIXED = 4 + 8 + 4 + 4 + 2;

/** Headers of records that have none, shared so that reading allocates nothing for them. */
export const NO_HEADERS: Headers = Object.freeze({}) as Headers;

function headersSize(headers: Headers): number {
  let size = 0;
  for (const name in headers) size += 2 + Buffer.byteLength(name, 'utf8') + 4 + (headers[name] as Buffer).length;
  return size;
}

/** One buffer holding every record, so a flush appends to a partition with a single write. */
export function encodeRecords(records: readonly RecordFields[]): Buffer {
  const writer = new RecordWriter();
  for (const r of records) writer.add(r.key, r.value, r.timestamp, r.headers);
  return writer.take();
}

const EMPTY = Buffer.alloc(0);

/** The largest block a writer fills; a record larger than this gets a block of its own. */
const BLOCK = 256 * 1024;
/** Full-size blocks a writer keeps for reuse once given back. */
const KEEP_BLOCKS = 8;

/**
 * Encodes records one at a time into blocks: a producer copies each record's bytes at `send`, so
 * the record and its buffers die young instead of waiting in memory for the commit. Blocks hold
 * whole records, start small (a producer that writes little takes little) and grow to BLOCK; a big
 * batch is many blocks rather than one buffer doubled and copied, and blocks given back are reused
 * (a few of them: a burst's memory goes once it is over).
 */
export class RecordWriter {
  /** Blocks filled since the last take, each cut to what it holds. */
  private filled: Buffer[] = [];
  private buf: Buffer = EMPTY;
  private dv = dataView(EMPTY);
  private used = 0;
  /** The size of the next block: doubling from 4 KiB to BLOCK. */
  private tier = 4096;
  private readonly free: Buffer[] = [];
  /** Bytes written since the last take. */
  length = 0;
  /** Records written since the last take. */
  count = 0;

  add(key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers | undefined): void {
    const hasHeaders = headers !== undefined && headers !== NO_HEADERS && hasAny(headers);
    const size = FIXED + (key === null ? 0 : key.length) + (value === null ? 0 : value.length) + (hasHeaders ? headersSize(headers) : 0);
    if (this.used + size > this.buf.length) this.nextBlock(size);
    const buf = this.buf;
    const dv = this.dv;
    const start = this.used;
    dv.setUint32(start, size - 4);
    dv.setFloat64(start + 4, timestamp);
    let pos = writeNullable(buf, dv, key, start + 12);
    pos = writeNullable(buf, dv, value, pos);
    if (!hasHeaders) {
      dv.setUint16(pos, 0);
      pos += 2;
    } else {
      const countAt = pos;
      pos += 2;
      let count = 0;
      for (const name in headers) {
        const v = headers[name] as Buffer;
        const nameEnd = pos + 2 + buf.write(name, pos + 2, 'utf8');
        dv.setUint16(pos, nameEnd - pos - 2);
        dv.setUint32(nameEnd, v.length);
        pos = nameEnd + 4;
        buf.set(v, pos);
        pos += v.length;
        count++;
      }
      dv.setUint16(countAt, count);
    }
    this.used = pos;
    this.length += size;
    this.count++;
  }

  /** The records written since the last take, in one buffer of their own; the writer starts over. */
  take(): Buffer {
    const blocks = this.lend();
    const out = blocks.length === 1 ? Buffer.from(blocks[0]!) : Buffer.concat(blocks);
    this.giveBack(blocks);
    return out;
  }

  /**
   * The records written since the last take, as the blocks they were written in (no copy); the
   * writer goes on in other blocks. `giveBack` them once done, so they can be written again.
   */
  lend(): Buffer[] {
    if (this.used > 0) this.filled.push(this.buf.subarray(0, this.used));
    const out = this.filled;
    this.filled = [];
    this.setBlock(EMPTY);
    this.length = 0;
    this.count = 0;
    return out;
  }

  giveBack(lent: readonly Buffer[]): void {
    for (const b of lent) {
      if (this.free.length < KEEP_BLOCKS && b.buffer.byteLength === BLOCK && b.byteOffset === 0) this.free.push(Buffer.from(b.buffer));
    }
  }

  /** Forgets what was written since the last take. */
  clear(): void {
    this.giveBack(this.lend());
  }

  private nextBlock(size: number): void {
    if (this.used > 0) this.filled.push(this.buf.subarray(0, this.used));
    if (size > BLOCK) return this.setBlock(Buffer.allocUnsafeSlow(size));
    while (this.tier < size) this.tier *= 2;
    this.setBlock(this.tier === BLOCK ? (this.free.pop() ?? Buffer.allocUnsafeSlow(BLOCK)) : Buffer.allocUnsafeSlow(this.tier));
    this.tier = Math.min(BLOCK, this.tier * 2);
  }

  private setBlock(buf: Buffer): void {
    this.buf = buf;
    this.dv = dataView(buf);
    this.used = 0;
  }
}

function hasAny(headers: Headers): boolean {
  for (const _ in headers) return true;
  return false;
}

function writeNullable(buf: Buffer, dv: DataView, bytes: Buffer | null, pos: number): number {
  if (bytes === null) {
    dv.setInt32(pos, -1);
    return pos + 4;
  }
  const n = bytes.length;
  dv.setInt32(pos, n);
  pos += 4;
  // A short copy by hand beats set()'s call into the runtime.
  if (n <= 32) {
    for (let i = 0; i < n; i++) buf[pos + i] = bytes[i]!;
  } else {
    buf.set(bytes, pos);
  }
  return pos + n;
}

/**
 * A DataView over a buffer's bytes. Its getters and setters are what the codec reads and writes
 * numbers with: the JIT compiles them to plain loads and stores, an order of magnitude faster than
 * Buffer's readUInt32BE and friends.
 */
export const dataView = (buf: Buffer): DataView => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

/**
 * The start of every record in `buf`, which must hold whole records and nothing else; this is all
 * a partition keeps per record, so reading a segment back creates no objects per record.
 */
export function frameStarts(buf: Buffer, where: string): number[] {
  const starts: number[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + FIXED > buf.length) throw corrupt(where, pos);
    starts.push(pos);
    pos += 4 + buf.readUInt32BE(pos);
  }
  if (pos !== buf.length) throw corrupt(where, starts[starts.length - 1] ?? 0);
  return starts;
}

/**
 * The record at `pos`. Keys, values and header values are views into `buf`, not copies. `dv` is
 * `dataView(buf)`, for callers that decode many records of one buffer.
 */
export function decodeRecordAt(buf: Buffer, pos: number, topic: string, partition: number, offset: number, dv = dataView(buf)): LogRecord {
  const end = pos + 4 + dv.getUint32(pos);
  if (end > buf.length) throw corrupt(`${topic}:${partition}`, pos);
  const timestamp = dv.getFloat64(pos + 4);
  pos += 12;
  const key = readNullable(buf, dv, pos, end, topic, partition);
  pos += 4 + (key === null ? 0 : key.length);
  const value = readNullable(buf, dv, pos, end, topic, partition);
  pos += 4 + (value === null ? 0 : value.length);
  if (pos + 2 > end) throw corrupt(`${topic}:${partition}`, pos);
  let count = dv.getUint16(pos);
  pos += 2;
  let headers = NO_HEADERS;
  if (count > 0) headers = {};
  for (; count > 0; count--) {
    if (pos + 2 > end) throw corrupt(`${topic}:${partition}`, pos);
    const nameEnd = pos + 2 + dv.getUint16(pos);
    const valueStart = nameEnd + 4;
    if (valueStart > end) throw corrupt(`${topic}:${partition}`, pos);
    const valueEnd = valueStart + dv.getUint32(nameEnd);
    if (valueEnd > end) throw corrupt(`${topic}:${partition}`, pos);
    setOwn(headers, buf.toString('utf8', pos + 2, nameEnd), view(buf, valueStart, valueEnd - valueStart));
    pos = valueEnd;
  }
  if (pos !== end) throw corrupt(`${topic}:${partition}`, pos);
  return { topic, partition, offset, key, value, timestamp, headers };
}

/** The length of the record at `pos` (its frame included), once 4 bytes of it are readable. */
export const frameLength = (dv: DataView, pos: number): number => 4 + dv.getUint32(pos);

function readNullable(buf: Buffer, dv: DataView, pos: number, end: number, topic: string, partition: number): Buffer | null {
  if (pos + 4 > end) throw corrupt(`${topic}:${partition}`, pos);
  const length = dv.getInt32(pos);
  if (length < 0) return null;
  if (pos + 4 + length > end) throw corrupt(`${topic}:${partition}`, pos);
  return view(buf, pos + 4, length);
}

const view = (buf: Buffer, start: number, length: number): Buffer => bufferView(buf.buffer, buf.byteOffset + start, length);

function corrupt(where: string, pos: number): Error {
  return new Error(`embedded log: the data of ${where} is damaged at byte ${pos} (a record runs past its end)`);
}
