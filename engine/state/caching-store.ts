import type { BytesStore } from '../api/store.js';
import { latin1, mergeRange, sortedOverlay } from './merge-range.js';

interface Entry {
  readonly key: Buffer;
  /** null: the key is known to be absent (deleted here, or missing below). */
  readonly value: Buffer | null;
  dirty: boolean;
}

export const DEFAULT_CACHE_ENTRIES = 100_000;

/** True for a promise-like answer; a Buffer or undefined means the layer answered at once. */
export const isPending = <T>(x: T | Promise<T>): x is Promise<T> =>
  typeof (x as { then?: unknown } | undefined)?.then === 'function';

/**
 * An LRU cache of up to `maxEntries` entries over a bytes store. It makes repeated reads
 * synchronous (no promise, no await on the record path) and folds many updates of a key between
 * commits into one write below, so the changelog gets one record per key per commit. With
 * `maxEntries` 0 it passes everything straight through.
 */
export class CachingStore implements BytesStore {
  /** Map order is recency: the first entry is the least recently used. */
  private readonly cache = new Map<string, Entry>();
  /** Dirty entries in the order of their latest put (re-putting a key moves it to the end). */
  private readonly dirty = new Map<string, Entry>();

  constructor(
    private readonly inner: BytesStore,
    readonly maxEntries: number = DEFAULT_CACHE_ENTRIES,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`cache size must be a whole number >= 0, got ${maxEntries}`);
  }

  get name(): string {
    return this.inner.name;
  }

  get(key: Buffer): Buffer | undefined | Promise<Buffer | undefined> {
    if (this.maxEntries === 0) return this.inner.get(key);
    const k = latin1(key);
    const hit = this.cache.get(k);
    if (hit !== undefined) {
      this.cache.delete(k);
      this.cache.set(k, hit);
      return hit.value ?? undefined;
    }
    const below = this.inner.get(key);
    if (!isPending(below)) {
      this.insert(k, { key, value: below ?? null, dirty: false });
      return below;
    }
    return below.then((value) => {
      // A put that landed while the read was in flight is newer than what was read: keep it.
      if (!this.cache.has(k)) this.insert(k, { key, value: value ?? null, dirty: false });
      return value;
    });
  }

  put(key: Buffer, value: Buffer | null): void {
    if (this.maxEntries === 0) return this.inner.put(key, value);
    const k = latin1(key);
    const entry: Entry = { key, value, dirty: true };
    this.cache.delete(k);
    this.dirty.delete(k);
    this.insert(k, entry);
    this.dirty.set(k, entry);
  }

  private insert(k: string, entry: Entry): void {
    this.cache.set(k, entry);
    if (this.cache.size <= this.maxEntries) return;
    const [oldestKey, oldest] = this.cache.entries().next().value!;
    // Pushing every dirty entry (not only the evicted one) keeps writes below in put order, as
    // Kafka Streams' NamedCache does; the rest of the cache stays, now clean.
    if (oldest.dirty) this.pushDirty();
    this.cache.delete(oldestKey);
  }

  private pushDirty(): void {
    for (const entry of this.dirty.values()) {
      this.inner.put(entry.key, entry.value);
      entry.dirty = false;
    }
    this.dirty.clear();
  }

  flush(): void {
    this.pushDirty();
    this.inner.flush();
  }

  persist(): Promise<void> {
    return this.inner.persist();
  }

  range(options: { gte?: Buffer; lt?: Buffer; limit?: number }): AsyncIterable<[Buffer, Buffer]> {
    const below = this.inner.range({ ...(options.gte && { gte: options.gte }), ...(options.lt && { lt: options.lt }) });
    if (this.dirty.size === 0) return options.limit === undefined ? below : mergeRange([], below, options.limit);
    // Clean entries equal what is below; only dirty ones differ from it.
    const overlay = sortedOverlay(
      Array.from(this.dirty, ([k, e]) => [k, e.value] as const),
      options.gte,
      options.lt,
    );
    return mergeRange(overlay, below, options.limit);
  }

  /** Entries below; dirty entries not yet flushed are not counted. */
  approximateSize(): number {
    return this.inner.approximateSize();
  }

  /** Dirty entries are dropped, like every write not yet committed: the changelog has the truth. */
  close(): Promise<void> {
    this.cache.clear();
    this.dirty.clear();
    return this.inner.close();
  }
}
