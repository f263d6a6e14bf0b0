import { DualityError } from '../api/diagnostics.js';
import type { Serde } from '../api/serde.js';
import type { BytesStore } from '../api/store.js';
import { canonicalValue, mapKeyForm, NOT_CANONICAL, type MapKeyForm } from '../serde/canonical.js';
import { ENTRY_OVERHEAD, sizeOf, type CacheBudget } from './cache-budget.js';
import { KeyIndex, type MapKey } from './key-index.js';
import { latin1, mergeRange, sortedOverlay } from './merge-range.js';

/**
 * A bytes layer below the cache. `put` may be told whether the key has a value below it now: the
 * cache knows that for every key it read or pushed down, and LevelDB need not be asked at persist
 * (for approximateSize).
 */
export interface BytesLayer extends BytesStore {
  put(key: Buffer, value: Buffer | null, existed?: boolean): void;
  /** Throws when a write of this value would be refused below (a changelog record too large), writing nothing. */
  check?(key: Buffer, value: Buffer): void;
}

/** True for a promise-like answer; anything else means the layer answered at once. */
export const isPending = <T>(x: T | Promise<T>): x is Promise<T> =>
  typeof (x as { then?: unknown } | undefined)?.then === 'function';

/* Per-slot flags. */
/** Read since the clock hand last passed (second-chance eviction). */
const USED = 1;
/** Whether the layers below hold a value for the key is known (it was read, or pushed down)... */
const KNOWN = 2;
/** ...and they do. */
const BELOW = 4;
/** The slot holds no entry (evicted); `freeSlots` lists it. */
const FREE = 8;

/**
 * Values from about this size on are checked against the layers below when put (see BytesLayer.check),
 * so a value too large for its changelog goes to the error policy with the record that made it
 * instead of failing the commit that would flush it. Smaller ones fit any changelog.
 */
const CHECK_FROM = 16 * 1024;

const keySize = (k: MapKey): number => (typeof k === 'string' ? k.length : 8);

/**
 * The typed cache, and the layer where types become bytes: it holds decoded values under the typed
 * key (a string key is its own map key), so a hit is one map lookup, with nothing serialized or
 * decoded. Keys and values are serialized only when they go down (flush, eviction) and decoded
 * only when a miss reads them from below. Many updates of a key between commits become one write
 * below, so the changelog gets one record per key per commit.
 *
 * A put stores what a read of the bytes would give (`42` for a long put as `"42"`, a fresh copy of
 * a json object), so the cache never answers differently from the disk, and a value the serde
 * refuses fails at the put, on the record that made it, not at the commit.
 *
 * Entries live in slots, parallel arrays indexed by the number a KeyIndex gives a key, rather than
 * in an object each: with keys streaming through the cache (a million distinct words), entry
 * objects would outlive the young generation and pile up in the old one. The cache is bounded by
 * bytes, in a budget it shares with the engine's other caches (cache-budget.ts): a put or a read
 * that takes the budget over evicts entries of this cache until it is back under, the one just
 * written included (an entry larger than the whole budget goes straight down). Eviction is
 * second-chance (CLOCK): a hit only sets a bit, and the hand sweeps the slots for one not read
 * since it last passed. With a budget of 0 bytes nothing is kept: every call is serialized and
 * passed down.
 */
export class CachingStore {
  private readonly keys: MapKey[] = [];
  private readonly index = new KeyIndex(this.keys);
  /** The decoded value; undefined: the key is absent (deleted here, or missing below). */
  private readonly values: unknown[] = [];
  /** The value's bytes while dirty, when the put already had to serialize it (objects); else made at flush. */
  private readonly valueBytes: (Buffer | undefined)[] = [];
  /** The sequence number of the slot's latest put not yet pushed down; 0 when clean. */
  private dirty = new Float64Array(64);
  private flags = new Uint8Array(64);
  /** The bytes each entry counts in the budget. */
  private sizes = new Float64Array(64);
  private readonly freeSlots: number[] = [];
  /** Entries held, and the bytes they count. */
  private live = 0;
  private bytes = 0;
  private hand = 0;
  /**
   * Puts since the last push down, oldest first, with the sequence number each had; a slot whose
   * `dirty` no longer matches was put again later. Pushing in this order writes keys in the order
   * of their last put, as Kafka Streams' NamedCache does. Typed arrays, reused from one push to the
   * next: a list of every put would otherwise be garbage after each commit.
   */
  private dirtySlots = new Int32Array(64);
  private dirtySeqs = new Float64Array(64);
  private dirtyCount = 0;
  private seq = 0;
  private readonly keyForm: MapKeyForm;
  private readonly canonical: (value: unknown) => unknown;
  private readonly serializeKey = (key: unknown): Buffer | null => this.keySerde.serialize(key);
  /** Gets answered by the cache, for metrics. */
  hits = 0;

  constructor(
    private readonly inner: BytesLayer,
    readonly keySerde: Serde,
    readonly valueSerde: Serde,
    private readonly budget: CacheBudget,
  ) {
    this.keyForm = mapKeyForm(keySerde.name);
    // A timestamped store's serde brings its own (timestamped.ts).
    this.canonical = (valueSerde as { canonical?: (v: unknown) => unknown }).canonical ?? canonicalValue(valueSerde.name);
  }

  get name(): string {
    return this.inner.name;
  }

  get(key: unknown): unknown {
    if (this.budget.off) return this.decode(this.inner.get(this.keyBytes(key)));
    let k = this.keyForm.fast(key);
    if (k === NOT_CANONICAL) k = this.keyForm.fromBytes(this.keyBytes(key));
    const slot = this.index.get(k);
    if (slot >= 0) {
      this.flags[slot]! |= USED;
      this.hits++;
      return this.values[slot];
    }
    const below = this.inner.get(this.keyForm.toBytes(k, this.serializeKey));
    if (!isPending(below)) return this.cacheRead(k, below);
    const mapKey = k;
    return below.then((bytes) => {
      // A put that landed while the read was in flight is newer than what was read: keep it.
      if (this.index.get(mapKey) < 0) return this.cacheRead(mapKey, bytes);
      return this.decodeBytes(bytes);
    });
  }

  private cacheRead(k: MapKey, bytes: Buffer | undefined): unknown {
    const value = this.decodeBytes(bytes);
    this.insert(k, value, undefined, bytes !== undefined, ENTRY_OVERHEAD + keySize(k) + (bytes?.length ?? 0));
    this.fit();
    return value;
  }

  /** null (or undefined) deletes the key. */
  put(key: unknown, value: unknown): void {
    let bytes: Buffer | undefined;
    let v: unknown = undefined;
    if (value !== null && value !== undefined) {
      v = this.canonical(value);
      if (v === NOT_CANONICAL) {
        bytes = this.valueSerde.serialize(value)!;
        v = this.valueSerde.deserialize(bytes);
      }
    }
    let valueSize = bytes === undefined ? sizeOf(v) : bytes.length;
    if (v !== undefined && valueSize >= CHECK_FROM && this.inner.check !== undefined) {
      bytes ??= this.valueSerde.serialize(v)!;
      valueSize = bytes.length;
      this.inner.check(this.keyBytes(key), bytes);
    }
    if (this.budget.off) return this.inner.put(this.keyBytes(key), v === undefined ? null : (bytes ?? this.valueSerde.serialize(v)));
    let k = this.keyForm.fast(key);
    if (k === NOT_CANONICAL) k = this.keyForm.fromBytes(this.keyBytes(key));
    const size = ENTRY_OVERHEAD + keySize(k) + valueSize;
    let slot = this.index.get(k);
    if (slot < 0) {
      slot = this.insert(k, v, bytes, undefined, size);
    } else {
      this.values[slot] = v;
      this.valueBytes[slot] = bytes;
      this.count(size - this.sizes[slot]!);
      this.sizes[slot] = size;
    }
    const seq = ++this.seq;
    this.dirty[slot] = seq;
    if (this.dirtyCount === this.dirtySlots.length) this.growDirty();
    this.dirtySlots[this.dirtyCount] = slot;
    this.dirtySeqs[this.dirtyCount++] = seq;
    // Only now, with the put marked dirty: evicting it pushes it down.
    this.fit();
  }

  private count(bytes: number): void {
    this.bytes += bytes;
    this.budget.used += bytes;
  }

  private growDirty(): void {
    const slots = new Int32Array(this.dirtySlots.length * 2);
    slots.set(this.dirtySlots);
    const seqs = new Float64Array(this.dirtySeqs.length * 2);
    seqs.set(this.dirtySeqs);
    this.dirtySlots = slots;
    this.dirtySeqs = seqs;
  }

  /** Puts a key in a free slot; returns the slot. */
  private insert(k: MapKey, value: unknown, bytes: Buffer | undefined, below: boolean | undefined, size: number): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.keys.length;
      this.keys.push(k);
      this.values.push(value);
      this.valueBytes.push(bytes);
      if (slot >= this.flags.length) this.growSlots();
    } else {
      this.keys[slot] = k;
      this.values[slot] = value;
      this.valueBytes[slot] = bytes;
    }
    this.flags[slot] = below === undefined ? 0 : below ? KNOWN | BELOW : KNOWN;
    this.dirty[slot] = 0;
    this.sizes[slot] = size;
    this.index.set(k, slot);
    this.live++;
    this.count(size);
    return slot;
  }

  /** Evicts entries of this cache while the budget is over (Kafka Streams' ThreadCache.maybeEvict). */
  private fit(): void {
    while (this.budget.over && this.live > 0) this.evictOne();
  }

  /** Advances the clock hand to an entry not read since it last passed, and evicts it. */
  private evictOne(): void {
    const n = this.keys.length;
    for (;;) {
      const slot = this.hand;
      this.hand = slot + 1 === n ? 0 : slot + 1;
      const flags = this.flags[slot]!;
      if ((flags & FREE) !== 0) continue;
      if ((flags & USED) !== 0) {
        // A second chance; the loop ends within two rounds, having cleared every bit it passed.
        this.flags[slot] = flags & ~USED;
        continue;
      }
      // Pushing every dirty entry (not only the evicted one) keeps writes below in put order; the
      // rest of the cache stays, now clean.
      if (this.dirty[slot] !== 0) this.pushDirty();
      this.index.delete(this.keys[slot]!);
      this.keys[slot] = 0;
      this.values[slot] = this.valueBytes[slot] = undefined;
      this.flags[slot] = FREE;
      this.freeSlots.push(slot);
      this.live--;
      this.count(-this.sizes[slot]!);
      return;
    }
  }

  private growSlots(): void {
    const size = this.flags.length * 2;
    const dirty = new Float64Array(size);
    dirty.set(this.dirty);
    const flags = new Uint8Array(size);
    flags.set(this.flags);
    const sizes = new Float64Array(size);
    sizes.set(this.sizes);
    this.dirty = dirty;
    this.flags = flags;
    this.sizes = sizes;
  }

  private pushDirty(): void {
    const slots = this.dirtySlots;
    const seqs = this.dirtySeqs;
    const n = this.dirtyCount;
    // Nothing below puts back into this cache, so the lists are not written while being read.
    this.dirtyCount = 0;
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      if (this.dirty[slot] !== seqs[i]) continue;
      this.dirty[slot] = 0;
      const flags = this.flags[slot]!;
      const existed = (flags & KNOWN) === 0 ? undefined : (flags & BELOW) !== 0;
      this.inner.put(this.keyForm.toBytes(this.keys[slot]!, this.serializeKey), this.bytesOf(slot), existed);
      this.valueBytes[slot] = undefined;
      this.flags[slot] = (flags & USED) | KNOWN | (this.values[slot] === undefined ? 0 : BELOW);
    }
  }

  flush(): void {
    this.pushDirty();
    this.inner.flush();
  }

  persist(changelogOffset?: number): Promise<void> {
    return this.inner.persist(changelogOffset);
  }

  /** Entries in byte order of their keys within [gte, lt), as bytes; unflushed writes included. */
  range(options: { gte?: Buffer; lt?: Buffer; limit?: number }): AsyncIterable<[Buffer, Buffer]> {
    const below = this.inner.range({ ...(options.gte && { gte: options.gte }), ...(options.lt && { lt: options.lt }) });
    if (this.dirtyCount === 0) return options.limit === undefined ? below : mergeRange([], below, options.limit);
    // Clean entries equal what is below; only dirty ones differ from it.
    const dirty: [string, Buffer | null][] = [];
    for (let i = 0; i < this.dirtyCount; i++) {
      const slot = this.dirtySlots[i]!;
      if (this.dirty[slot] !== this.dirtySeqs[i]) continue;
      dirty.push([latin1(this.keyForm.toBytes(this.keys[slot]!, this.serializeKey)), this.bytesOf(slot)]);
    }
    return mergeRange(sortedOverlay(dirty, options.gte, options.lt), below, options.limit);
  }

  /** Entries below; dirty entries not yet flushed are not counted. */
  approximateSize(): number {
    return this.inner.approximateSize();
  }

  /** Dirty entries are dropped, like every write not yet committed: the changelog has the truth. */
  close(): Promise<void> {
    this.index.clear();
    this.keys.length = 0;
    this.values.length = 0;
    this.valueBytes.length = 0;
    this.freeSlots.length = 0;
    this.flags.fill(0);
    this.dirtyCount = 0;
    this.hand = 0;
    this.live = 0;
    this.count(-this.bytes);
    return this.inner.close();
  }

  private bytesOf(slot: number): Buffer | null {
    const value = this.values[slot];
    if (value === undefined) return null;
    return this.valueBytes[slot] ?? this.valueSerde.serialize(value);
  }

  private keyBytes(key: unknown): Buffer {
    const bytes = this.keySerde.serialize(key);
    if (bytes === null) throw new DualityError('STORE', `store "${this.name}": a record with a null key cannot be stored`);
    return bytes;
  }

  private decode(found: Buffer | undefined | Promise<Buffer | undefined>): unknown {
    return isPending(found) ? found.then((bytes) => this.decodeBytes(bytes)) : this.decodeBytes(found);
  }

  private decodeBytes(bytes: Buffer | undefined): unknown {
    return bytes === undefined ? undefined : this.valueSerde.deserialize(bytes);
  }
}
