import { bufferView } from '../serde/buffer-view.js';

/**
 * Writes waiting for a LevelDB persist: keys and values copied back to back into one growing
 * buffer, with an open-addressing hash table (a typed array) over the keys for reads. A commit's
 * worth of writes (tens of thousands of keys) costs a few buffers instead of a map entry, a string
 * and a Buffer per key, which would all outlive the young generation and die in the old one.
 *
 * Each write is `u32 flags and key length | i32 value length (-1: delete) | key | value`; the flags
 * mark a write superseded by a later one to the same key, and whether the key had a value before
 * the buffer's first write to it, when the writer knew.
 */
export class WriteBuffer {
  private data = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  /** Numbers go through a DataView: far faster than Buffer's readUInt32BE and friends. */
  private dv = new DataView(this.data.buffer, this.data.byteOffset, this.data.length);
  private end = 0;
  /** Slot → position of the key's latest write + 1; 0 is an empty slot. */
  private table = new Int32Array(256);
  private keys = 0;

  /** Distinct keys written. */
  get size(): number {
    return this.keys;
  }

  /**
   * Records a write; a null value deletes. `existed` tells whether the key had a value before this
   * buffer's writes, when the writer knows (only the first write of a key says). The bytes are
   * copied: the caller may reuse its buffers.
   */
  set(key: Buffer, value: Buffer | null, existed?: boolean): void {
    if ((this.keys + 1) * 2 > this.table.length) this.rehash(this.table.length * 2);
    const slot = this.find(key);
    const previous = this.table[slot]! - 1;
    let flags = existed === undefined ? 0 : existed ? KNOWN | EXISTED : KNOWN;
    if (previous >= 0) {
      const word = this.dv.getUint32(previous);
      flags = word & (KNOWN | EXISTED);
      this.dv.setUint32(previous, (word | SUPERSEDED) >>> 0);
    } else {
      this.keys++;
    }
    this.table[slot] = this.append(key, value, flags) + 1;
  }

  /** The latest write of `key`: a copy of its value, null for a delete, undefined when there is none. */
  get(key: Buffer): Buffer | null | undefined {
    const at = this.table[this.find(key)]! - 1;
    if (at < 0) return undefined;
    const valueLength = this.dv.getInt32(at + 4);
    if (valueLength < 0) return null;
    const start = at + 8 + key.length;
    return Buffer.from(this.data.subarray(start, start + valueLength));
  }

  /** Bytes held for writes, used or not. */
  get capacity(): number {
    return this.data.length;
  }

  /**
   * Forgets every write, keeping the memory for the next ones up to KEPT_BYTES: one commit of big
   * values must not keep its size for good (a store holds two of these).
   */
  clear(): void {
    this.end = 0;
    this.keys = 0;
    this.table.fill(0);
    if (this.data.length > KEPT_BYTES) {
      this.data = Buffer.allocUnsafeSlow(INITIAL_BYTES);
      this.dv = new DataView(this.data.buffer, this.data.byteOffset, this.data.length);
    }
  }

  /**
   * The latest write of every key, in the order they were made, with whether the key had a value
   * before (undefined: not known). Keys and values are views into this buffer, valid until it is
   * cleared.
   */
  *entries(): Generator<[key: Buffer, value: Buffer | null, existed: boolean | undefined]> {
    const data = this.data;
    const dv = this.dv;
    for (let at = 0; at < this.end; ) {
      const word = dv.getUint32(at);
      const keyLength = word & LENGTH;
      const valueLength = dv.getInt32(at + 4);
      const next = at + 8 + keyLength + Math.max(0, valueLength);
      if ((word & SUPERSEDED) === 0) {
        const key = bufferView(data.buffer, data.byteOffset + at + 8, keyLength);
        const value = valueLength < 0 ? null : bufferView(data.buffer, data.byteOffset + at + 8 + keyLength, valueLength);
        yield [key, value, (word & KNOWN) === 0 ? undefined : (word & EXISTED) !== 0];
      }
      at = next;
    }
  }

  /** The slot of `key`: the one holding its latest write, or the empty one where it would go. */
  private find(key: Buffer): number {
    const mask = this.table.length - 1;
    let slot = hash(key) & mask;
    for (;;) {
      const at = this.table[slot]! - 1;
      if (at < 0 || this.keyAt(at, key)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private keyAt(at: number, key: Buffer): boolean {
    const data = this.data;
    const n = key.length;
    if ((this.dv.getUint32(at) & LENGTH) !== n) return false;
    if (n > 32) return data.compare(key, 0, n, at + 8, at + 8 + n) === 0;
    for (let i = 0; i < n; i++) if (data[at + 8 + i] !== key[i]) return false;
    return true;
  }

  private append(key: Buffer, value: Buffer | null, flags: number): number {
    const size = 8 + key.length + (value === null ? 0 : value.length);
    if (this.end + size > this.data.length) {
      let capacity = this.data.length * 2;
      while (capacity < this.end + size) capacity *= 2;
      const grown = Buffer.allocUnsafeSlow(capacity);
      this.data.copy(grown, 0, 0, this.end);
      this.data = grown;
      this.dv = new DataView(grown.buffer, grown.byteOffset, grown.length);
    }
    const at = this.end;
    this.dv.setUint32(at, (key.length | flags) >>> 0);
    this.dv.setInt32(at + 4, value === null ? -1 : value.length);
    key.copy(this.data, at + 8);
    if (value !== null) value.copy(this.data, at + 8 + key.length);
    this.end = at + size;
    return at;
  }

  private rehash(slots: number): void {
    const old = this.table;
    this.table = new Int32Array(slots);
    const mask = slots - 1;
    for (let i = 0; i < old.length; i++) {
      const at = old[i]! - 1;
      if (at < 0) continue;
      const keyLength = this.dv.getUint32(at) & LENGTH;
      let slot = hashRange(this.data, at + 8, at + 8 + keyLength) & mask;
      while (this.table[slot] !== 0) slot = (slot + 1) & mask;
      this.table[slot] = at + 1;
    }
  }
}

const INITIAL_BYTES = 16 * 1024;
/** More than a WordCount commit of 10,000 words writes; a bigger buffer is let go when cleared. */
const KEPT_BYTES = 1024 * 1024;

const SUPERSEDED = 0x8000_0000;
const KNOWN = 0x4000_0000;
const EXISTED = 0x2000_0000;
const LENGTH = 0x1fff_ffff;

const hash = (key: Buffer): number => hashRange(key, 0, key.length);

/** FNV-1a over bytes [start, end). */
function hashRange(bytes: Buffer, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}
