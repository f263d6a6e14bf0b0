import type { Headers, LogRecord } from '../api/log.js';

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

const FIXED = 4 + 8 + 4 + 4 + 2;

/** Headers of records that have none, shared so that reading allocates nothing for them. */
export const NO_HEADERS: Headers = Object.freeze({}) as Headers;

function headersSize(headers: Headers): number {
  let size = 0;
  for (const name in headers) size += 2 + Buffer.byteLength(name, 'utf8') + 4 + (headers[name] as Buffer).length;
  return size;
}

/** One buffer holding every record, so a flush appends to a partition with a single write. */
export function encodeRecords(records: readonly RecordFields[]): Buffer {
  let total = 0;
  for (const r of records) {
    total += FIXED + (r.key?.length ?? 0) + (r.value?.length ?? 0);
    if (r.headers !== undefined && r.headers !== NO_HEADERS) total += headersSize(r.headers);
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const r of records) {
    const start = pos;
    pos = buf.writeDoubleBE(r.timestamp, pos + 4);
    pos = writeNullable(buf, r.key, pos);
    pos = writeNullable(buf, r.value, pos);
    const countAt = pos;
    pos += 2;
    let count = 0;
    const headers = r.headers ?? NO_HEADERS;
    for (const name in headers) {
      const value = headers[name] as Buffer;
      const nameEnd = pos + 2 + buf.write(name, pos + 2, 'utf8');
      buf.writeUInt16BE(nameEnd - pos - 2, pos);
      pos = buf.writeUInt32BE(value.length, nameEnd);
      buf.set(value, pos);
      pos += value.length;
      count++;
    }
    buf.writeUInt16BE(count, countAt);
    buf.writeUInt32BE(pos - start - 4, start);
  }
  return buf;
}

function writeNullable(buf: Buffer, bytes: Buffer | null, pos: number): number {
  if (bytes === null) return buf.writeInt32BE(-1, pos);
  pos = buf.writeInt32BE(bytes.length, pos);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

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

/** The record at `pos`. Keys, values and header values are views into `buf`, not copies. */
export function decodeRecordAt(buf: Buffer, pos: number, topic: string, partition: number, offset: number): LogRecord {
  const end = pos + 4 + buf.readUInt32BE(pos);
  const where = `${topic}:${partition}`;
  const timestamp = buf.readDoubleBE(pos + 4);
  pos += 12;
  const key = readNullable(buf, pos, end, where);
  pos += 4 + (key?.length ?? 0);
  const value = readNullable(buf, pos, end, where);
  pos += 4 + (value?.length ?? 0);
  if (pos + 2 > end) throw corrupt(where, pos);
  let count = buf.readUInt16BE(pos);
  pos += 2;
  let headers = NO_HEADERS;
  if (count > 0) headers = {};
  for (; count > 0; count--) {
    const nameEnd = pos + 2 + buf.readUInt16BE(pos);
    const valueStart = nameEnd + 4;
    if (valueStart > end) throw corrupt(where, pos);
    const valueEnd = valueStart + buf.readUInt32BE(nameEnd);
    if (valueEnd > end) throw corrupt(where, pos);
    // defineProperty, because a header named __proto__ must stay a header.
    Object.defineProperty(headers, buf.toString('utf8', pos + 2, nameEnd), {
      value: buf.subarray(valueStart, valueEnd),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    pos = valueEnd;
  }
  if (pos !== end) throw corrupt(where, pos);
  return { topic, partition, offset, key, value, timestamp, headers };
}

function readNullable(buf: Buffer, pos: number, end: number, where: string): Buffer | null {
  if (pos + 4 > end) throw corrupt(where, pos);
  const length = buf.readInt32BE(pos);
  if (length < 0) return null;
  if (pos + 4 + length > end) throw corrupt(where, pos);
  return buf.subarray(pos + 4, pos + 4 + length);
}

function corrupt(where: string, pos: number): Error {
  return new Error(`embedded log: the data of ${where} is damaged at byte ${pos} (a record runs past its end)`);
}
