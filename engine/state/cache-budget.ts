/**
 * The bytes an engine's record caches may hold together: every store cache and every node's held
 * table updates, across tasks (Kafka Streams' `statestore.cache.max.bytes`, also one budget per
 * instance). A cache that takes the total over the bound evicts its own entries until the total is
 * back under it or the cache is empty, as Kafka Streams' ThreadCache does: evicting is pushing
 * dirty entries down (store caches) or sending updates on (held updates), never losing them. An
 * entry counts the estimated bytes of its key and value and an overhead (ENTRY_OVERHEAD, HELD_OVERHEAD).
 */
export class CacheBudget {
  /** Bytes held now, by every cache sharing this budget. */
  used = 0;

  /** `maxBytes` 0 turns caching off: every write goes down, every update goes on, at once. */
  constructor(readonly maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`a cache size in bytes must be a whole number >= 0, got ${maxBytes}`);
  }

  get off(): boolean {
    return this.maxBytes === 0;
  }

  get over(): boolean {
    return this.used > this.maxBytes;
  }
}

/** Kafka Streams' default `statestore.cache.max.bytes`. */
export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 * 1024;

/**
 * What an entry costs besides its key and value: its slots in the parallel arrays, its hash table
 * entry, its place in the order of puts, the key string's header. Measured: 200,000 small keys
 * took 80 bytes each of heap in a store cache (the key strings aside), and 183 each held as
 * table updates (each record's fields and headers object).
 */
export const ENTRY_OVERHEAD = 96;
export const HELD_OVERHEAD = 160;

/**
 * An estimate of a value's bytes in memory, without allocating: a string's length (V8 keeps text
 * that fits in Latin-1 at a byte a character), a number's 8 bytes, a buffer's length, the sum of an
 * array's or object's parts. Deep structures are walked: values in caches come from serdes, so
 * they are trees, never cycles.
 */
export function sizeOf(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length;
    case 'number':
    case 'bigint':
      return 8;
    case 'boolean':
      return 4;
    case 'object': {
      if (value === null) return 0;
      if (ArrayBuffer.isView(value)) return value.byteLength;
      let n = 16;
      if (Array.isArray(value)) {
        for (const v of value) n += 8 + sizeOf(v);
        return n;
      }
      for (const k in value) n += 8 + k.length + sizeOf((value as Record<string, unknown>)[k]);
      return n;
    }
    default:
      return 0;
  }
}
