/** Kafka's variable-length integers (ByteUtils.writeVarint, writeVarlong), as record batches carry them. */

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

