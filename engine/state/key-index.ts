/** A cache's key: a string key's text, a long or int key's number, else its bytes as latin1 (see MapKeyForm). */
export type MapKey = string | number;

/**
 * The slot of each key in a cache: an open-addressing hash table over a typed array, with
 * backward-shift deletion. A Map would do, but a Map leaves a deleted entry behind until its next
 * rehash allocates a new table; with keys streaming through a cache (one eviction per new key)
 * those tables become most of the garbage the old generation collects. This table allocates
 * nothing once grown.
 */
export class KeyIndex {
  /** Slot + 1 per table position; 0 is empty. */
  private table = new Int32Array(64);
  private count = 0;
  /** The last key hashed, and its hash: a put usually follows a get of the same key. */
  private lastKey: MapKey | undefined;
  private lastHash = 0;

  /** `keys[slot]` is the key in each slot: the cache's own array, which this reads and never writes. */
  constructor(private readonly keys: readonly MapKey[]) {}

  get size(): number {
    return this.count;
  }

  /** The slot of `key`, or -1. */
  get(key: MapKey): number {
    const mask = this.table.length - 1;
    for (let i = this.hash(key) & mask; ; i = (i + 1) & mask) {
      const slot = this.table[i]! - 1;
      if (slot < 0) return -1;
      if (this.keys[slot] === key) return slot;
    }
  }

  /** Records `key` (which must not be present, and must already be in `keys[slot]`) at `slot`. */
  set(key: MapKey, slot: number): void {
    if ((this.count + 1) * 2 > this.table.length) this.grow();
    const mask = this.table.length - 1;
    let i = this.hash(key) & mask;
    while (this.table[i] !== 0) i = (i + 1) & mask;
    this.table[i] = slot + 1;
    this.count++;
  }

  /** Forgets `key`, whose slot is still `keys[slot]`; later keys of its run move back into the gap. */
  delete(key: MapKey): void {
    const table = this.table;
    const mask = table.length - 1;
    let i = this.hash(key) & mask;
    for (;;) {
      const slot = table[i]! - 1;
      if (slot < 0) return;
      if (this.keys[slot] === key) break;
      i = (i + 1) & mask;
    }
    this.count--;
    // Backward shift: an entry after the gap moves into it unless its home lies (cyclically) in (gap, entry].
    let gap = i;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.hash(this.keys[table[j]! - 1]!) & mask;
      if (gap <= j ? home > gap && home <= j : home > gap || home <= j) continue;
      table[gap] = table[j]!;
      gap = j;
    }
    table[gap] = 0;
  }

  clear(): void {
    this.table.fill(0);
    this.count = 0;
    this.lastKey = undefined;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Int32Array(old.length * 2);
    const mask = this.table.length - 1;
    for (let i = 0; i < old.length; i++) {
      if (old[i] === 0) continue;
      let j = this.hash(this.keys[old[i]! - 1]!) & mask;
      while (this.table[j] !== 0) j = (j + 1) & mask;
      this.table[j] = old[i]!;
    }
  }

  private hash(key: MapKey): number {
    if (key === this.lastKey) return this.lastHash;
    let h: number;
    if (typeof key === 'string') {
      // FNV-1a over UTF-16 code units.
      h = 0x811c9dc5;
      for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    } else {
      // Safe integers: mix both 32-bit halves.
      const hi = Math.floor(key / 0x1_0000_0000) | 0;
      h = Math.imul((key >>> 0) ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
    }
    h ^= h >>> 16;
    this.lastKey = key;
    this.lastHash = h;
    return h;
  }
}
