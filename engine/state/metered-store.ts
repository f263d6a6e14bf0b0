import { DualityError } from '../api/diagnostics.js';
import type { Serde } from '../api/serde.js';
import type { KeyValueStore } from '../api/store.js';
import { isPending, type CachingStore } from './caching-store.js';
import type { Timestamped } from './timestamped.js';

const valueOf = (t: unknown): unknown => (t === undefined ? undefined : (t as Timestamped).value);

/**
 * The typed outer layer that operators and queries see. It counts calls in plain fields that the
 * engine reads once per batch (no metrics library on the record path) and turns range queries
 * into byte bounds; reads and writes go to the typed cache below as they are, so a cache hit costs
 * a map lookup and nothing else.
 */
export class MeteredStore implements KeyValueStore {
  /** Monotonic counters: readers keep the last value they saw and add the difference. */
  gets = 0;
  puts = 0;

  readonly keySerde: Serde;
  readonly valueSerde: Serde;

  /**
   * `now`: the store keeps a timestamp with each value (timestamped.ts; the task's stores), and a
   * put without one takes `now()`, the timestamp of the record being processed.
   */
  constructor(
    readonly inner: CachingStore,
    private readonly now?: () => number,
  ) {
    this.keySerde = inner.keySerde;
    this.valueSerde = inner.valueSerde;
  }

  get name(): string {
    return this.inner.name;
  }

  /** Gets answered from memory, without reading the layers below. */
  get hits(): number {
    return this.inner.hits;
  }

  get(key: unknown): unknown {
    this.gets++;
    const found = this.inner.get(key);
    if (!this.now) return found;
    return isPending(found) ? found.then(valueOf) : valueOf(found);
  }

  /** The value with its timestamp; for a store without timestamps, the value at timestamp -1. */
  getWithTimestamp(key: unknown): Timestamped | undefined | Promise<Timestamped | undefined> {
    this.gets++;
    const found = this.inner.get(key);
    if (this.now) return found as Timestamped | undefined | Promise<Timestamped | undefined>;
    const plain = (v: unknown): Timestamped | undefined => (v === undefined ? undefined : { value: v, timestamp: -1 });
    return isPending(found) ? found.then(plain) : plain(found);
  }

  /** null (or undefined) deletes the key. */
  put(key: unknown, value: unknown, timestamp?: number): void {
    this.puts++;
    this.inner.put(key, value === null || value === undefined || !this.now ? value : { value, timestamp: timestamp ?? this.now() });
  }

  /**
   * Entries in the byte order of their serialized keys: alphabetical (by UTF-8) for string keys;
   * for long keys, non-negative numbers come before negative ones. `prefix` selects string keys
   * (string or json serde) that start with it; entries start at the bytes `from` (a page's cursor).
   */
  range(options: { prefix?: string; from?: Buffer; limit?: number } = {}): AsyncGenerator<[unknown, unknown]> {
    return this.entries(options, false);
  }

  /** As `range`, each value with its timestamp; -1 for a store without timestamps. */
  rangeWithTimestamp(options: { prefix?: string; from?: Buffer; limit?: number } = {}): AsyncGenerator<[unknown, Timestamped]> {
    return this.entries(options, true) as AsyncGenerator<[unknown, Timestamped]>;
  }

  private async *entries(options: { prefix?: string; from?: Buffer; limit?: number }, timestamps: boolean): AsyncGenerator<[unknown, unknown]> {
    let gte: Buffer | undefined;
    let lt: Buffer | undefined;
    if (options.prefix !== undefined) {
      gte = this.prefixBytes(options.prefix);
      lt = successor(gte);
    }
    const from = options.from;
    if (from !== undefined && (gte === undefined || Buffer.compare(from, gte) > 0)) gte = from;
    const bounds = { ...(gte && { gte }), ...(lt && { lt }), ...(options.limit !== undefined && { limit: options.limit }) };
    for await (const [k, v] of this.inner.range(bounds)) {
      const value = this.valueSerde.deserialize(v);
      if (!timestamps) yield [this.keySerde.deserialize(k), this.now ? (value as Timestamped).value : value];
      else yield [this.keySerde.deserialize(k), this.now ? value : { value, timestamp: -1 }];
    }
  }

  flush(): void {
    this.inner.flush();
  }

  persist(changelogOffset?: number): Promise<void> {
    return this.inner.persist(changelogOffset);
  }

  approximateSize(): number {
    return this.inner.approximateSize();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private prefixBytes(prefix: string): Buffer {
    switch (this.keySerde.name) {
      case 'string':
      case 'bytes':
        return Buffer.from(prefix, 'utf8');
      case 'json':
        // A JSON string key is its quoted text; without the closing quote it is a byte prefix.
        return Buffer.from(JSON.stringify(prefix).slice(0, -1), 'utf8');
      default:
        throw new DualityError('STORE', `store "${this.name}": a prefix query needs string keys, but its keys are ${this.keySerde.name}; query a single key instead`);
    }
  }
}

/** The smallest byte string greater than every string that starts with `prefix` (none for 0xff…). */
function successor(prefix: Buffer): Buffer | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const out = Buffer.from(prefix.subarray(0, end));
  out[end - 1]!++;
  return out;
}
