/**
 * A record of a record batch (magic 2) as bytes: its length, attributes, timestamp and offset
 * deltas, key, value and headers, with Kafka's variable-length integers (ByteUtils.writeVarint,
 * writeVarlong). The request encoder (produce-request.ts) and the record accumulator write records
 * through these.
 */

/** Zigzag, as Kafka's ByteUtils.writeVarint: 32-bit. */
const zigzag32 = (n: number): number => ((n << 1) ^ (n >> 31)) >>> 0;

export function varintSize(n: number): number {
  let v = zigzag32(n);
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

export function writeVarint(out: Buffer, at: number, n: number): number {
  let v = zigzag32(n);
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

/** Zigzag over 64 bits for any safe integer (a timestamp delta), with arithmetic instead of 32-bit operators. */
const zigzag64 = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);

export function varlongSize(n: number): number {
  let v = zigzag64(n);
  let size = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

export function writeVarlong(out: Buffer, at: number, n: number): number {
  let v = zigzag64(n);
  while (v >= 0x80) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}


/** A key, value or header value: bytes, or text written as its UTF-8 (as kafkajs does); null is none. */
export type Bytes = Buffer | string | null | undefined;
/** Headers by key; a list writes the key once per value. */
export type RecordHeaders = Readonly<Record<string, Bytes | readonly Bytes[]>> | undefined;

/** Keys and values up to this long are copied byte by byte: cheaper than a native copy for a word. */
const SHORT_COPY = 16;

function bytesSize(v: Bytes): number {
  if (v === null || v === undefined) return 1;
  const len = Buffer.isBuffer(v) ? v.length : Buffer.byteLength(String(v));
  return varintSize(len) + len;
}

/** A varint length (-1 for null), then the bytes. */
function writeBytes(out: Buffer, at: number, v: Bytes): number {
  if (v === null || v === undefined) return writeVarint(out, at, -1);
  if (!Buffer.isBuffer(v)) {
    const s = String(v);
    at = writeVarint(out, at, Buffer.byteLength(s));
    return at + out.write(s, at, 'utf8');
  }
  const n = v.length;
  at = writeVarint(out, at, n);
  if (n <= SHORT_COPY) for (let i = 0; i < n; i++) out[at + i] = v[i]!;
  else out.set(v, at);
  return at + n;
}

function headerCount(headers: RecordHeaders): number {
  let count = 0;
  for (const k in headers) {
    const v = headers[k];
    count += Array.isArray(v) ? v.length : 1;
  }
  return count;
}

/** A record's bytes after its length prefix. */
export function recordBodySize(timestampDelta: number, offsetDelta: number, key: Bytes, value: Bytes, headers: RecordHeaders): number {
  let size = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta) + bytesSize(key) + bytesSize(value);
  let count = 0;
  for (const k in headers) {
    const v = headers[k];
    const keySize = bytesSize(k);
    if (Array.isArray(v)) {
      for (const x of v as readonly Bytes[]) size += keySize + bytesSize(x);
      count += v.length;
    } else {
      size += keySize + bytesSize(v as Bytes);
      count++;
    }
  }
  return size + varintSize(count);
}

/** Writes a record, its length (`body`, from recordBodySize) first; returns where it ends. */
export function writeRecord(out: Buffer, at: number, body: number, timestampDelta: number, offsetDelta: number, key: Bytes, value: Bytes, headers: RecordHeaders): number {
  at = writeVarint(out, at, body);
  out[at++] = 0; // attributes: none are used
  at = writeVarlong(out, at, timestampDelta);
  at = writeVarint(out, at, offsetDelta);
  at = writeBytes(out, at, key);
  at = writeBytes(out, at, value);
  at = writeVarint(out, at, headerCount(headers));
  for (const k in headers) {
    const v = headers[k];
    if (Array.isArray(v)) {
      for (const x of v as readonly Bytes[]) at = writeBytes(out, writeBytes(out, at, k), x);
    } else {
      at = writeBytes(out, writeBytes(out, at, k), v as Bytes);
    }
  }
  return at;
}
