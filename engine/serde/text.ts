import { bufferView } from './buffer-view.js';

/*
 * Short text to bytes and back, for the serdes on the record path. Keys and values are mostly a
 * few ASCII characters, where Buffer.from and toString spend more on their general machinery than
 * on the bytes: short ASCII is copied by hand, into buffers carved from a shared slab (as
 * Buffer.from itself carves from Node's pool), and anything else takes Node's way.
 */

const SLAB_SIZE = 64 * 1024;
/** Longer strings go to Buffer.from: the slab is for the many small ones. */
const SHORT = 64;
/** Decoded by hand up to this many bytes: V8 keeps strings this short flat when concatenated. */
const SHORT_DECODE = 12;

let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
/** Numbers are written through a DataView: far faster than Buffer's writeInt32BE and friends. */
let slabView = new DataView(slab.buffer, slab.byteOffset, SLAB_SIZE);
let used = 0;

/** Room for `n` bytes at `used` in the slab (a fresh slab when the current one is full). */
function reserve(n: number): void {
  if (used + n > SLAB_SIZE) {
    // Buffers carved earlier keep the old slab alive for as long as they live.
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabView = new DataView(slab.buffer, slab.byteOffset, SLAB_SIZE);
    used = 0;
  }
}

/** A buffer over the `n` bytes just written at `used`. */
function carve(n: number): Buffer {
  const out = bufferView(slab.buffer, slab.byteOffset + used, n);
  used += n;
  return out;
}

/**
 * Writes the ASCII string `s` at slab[at..]; false at the first character that needs escaping in
 * JSON (when `json`) or is not ASCII, leaving the caller to take the general way.
 */
function writeAscii(s: string, at: number, json: boolean): boolean {
  const b = slab;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || (json && (c < 0x20 || c === 0x22 || c === 0x5c))) return false;
    b[at + i] = c;
  }
  return true;
}

/** The UTF-8 bytes of `s`. */
export function utf8Bytes(s: string): Buffer {
  const n = s.length;
  if (n <= SHORT) {
    reserve(n);
    if (writeAscii(s, used, false)) return carve(n);
  }
  return Buffer.from(s, 'utf8');
}

/** The UTF-8 bytes of JSON.stringify(s), for a string. */
export function jsonStringBytes(s: string): Buffer {
  const n = s.length;
  if (n <= SHORT) {
    reserve(n + 2);
    if (writeAscii(s, used + 1, true)) {
      slab[used] = 0x22;
      slab[used + n + 1] = 0x22;
      return carve(n + 2);
    }
  }
  return Buffer.from(JSON.stringify(s), 'utf8');
}

/** The text of UTF-8 bytes; malformed sequences become U+FFFD. */
export function utf8Text(b: Buffer): string {
  return b.length <= SHORT_DECODE ? (asciiText(b, 0, b.length) ?? b.toString('utf8')) : b.toString('utf8');
}

/**
 * The string a JSON text holding one string parses to, when it is short, ASCII and free of escapes;
 * undefined for anything else (the caller parses it).
 */
export function shortJsonString(b: Buffer): string | undefined {
  const n = b.length;
  if (n < 2 || n > SHORT_DECODE + 2 || b[0] !== 0x22 || b[n - 1] !== 0x22) return undefined;
  for (let i = 1; i < n - 1; i++) {
    const c = b[i]!;
    if (c < 0x20 || c === 0x22 || c === 0x5c) return undefined;
  }
  return asciiText(b, 1, n - 1);
}

function asciiText(b: Buffer, start: number, end: number): string | undefined {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x80) return undefined;
    s += String.fromCharCode(c);
  }
  return s;
}

/** A long's 8 bytes, big-endian two's complement, for a safe integer; without a BigInt. */
export function longBytes(n: number): Buffer {
  reserve(8);
  const hi = Math.floor(n / 0x1_0000_0000);
  slabView.setInt32(used, hi);
  slabView.setUint32(used + 4, n - hi * 0x1_0000_0000);
  return carve(8);
}

/** An int's 4 bytes, big-endian. */
export function intBytes(n: number): Buffer {
  reserve(4);
  slabView.setInt32(used, n);
  return carve(4);
}

/** A double's 8 bytes, IEEE 754 big-endian. */
export function doubleBytes(n: number): Buffer {
  reserve(8);
  slabView.setFloat64(used, n);
  return carve(8);
}

/** The big-endian int32 at b[at..at+4). */
export const int32At = (b: Buffer, at: number): number => (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;

const eight = new DataView(new ArrayBuffer(8));

/** The big-endian double in b[0..8), read without a DataView per call. */
export function doubleAt(b: Buffer): number {
  for (let i = 0; i < 8; i++) eight.setUint8(i, b[i]!);
  return eight.getFloat64(0);
}
