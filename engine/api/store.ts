/**
 * State stores, as layers (Kafka Streams' KeyValueStoreBuilder):
 *   metered(caching(changelogging(leveldb)))
 * Only the outer, typed layer knows serdes; the inner layers deal in bytes.
 *
 * Writes reach disk only after the log has committed them: the engine's commit is
 *   1. `flush()`            caches push dirty entries down; changelogging sends them to the changelog
 *   2. the log commit       output, changelog records and input offsets (a transaction where it can)
 *   3. `persist()`          LevelDB writes the batch it holds since the last persist (with the
 *                           changelog offset it reflects, when a checkpoint is taken)
 *   4. checkpoint           the changelog offsets the stores now reflect, written to disk
 * so a crash at any point leaves a store that a replay of its changelog from its checkpoint makes
 * exact, and nothing is counted twice. A store that does not record at least its checkpoint's
 * offset lost writes, and is rebuilt (engine/state/restore.ts).
 */

/** The bytes layers: LevelDB at the bottom, changelogging and caching above it. */
export interface BytesStore {
  readonly name: string;
  /** The value, synchronously when this layer (or one above) holds it, else a promise. */
  get(key: Buffer): Buffer | undefined | Promise<Buffer | undefined>;
  /** A null value deletes. */
  put(key: Buffer, value: Buffer | null): void;
  /** Pushes buffered writes down a layer (and, for changelogging, to the changelog). */
  flush(): void;
  /**
   * Writes what the layer holds to disk; called after the log commit. `changelogOffset`: the
   * changelog offset the store reflects once these writes land, recorded with them (a checkpoint).
   */
  persist(changelogOffset?: number): Promise<void>;
  /** Entries in key order (byte order) within [gte, lt), for queries; reflects unpersisted writes. */
  range(options: { gte?: Buffer; lt?: Buffer; limit?: number }): AsyncIterable<[Buffer, Buffer]>;
  /** An estimate of live entries, for metrics. */
  approximateSize(): number;
  close(): Promise<void>;
}

/** The typed face of a store that operators use. */
export interface KeyValueStore<K = unknown, V = unknown> {
  readonly name: string;
  get(key: K): V | undefined | Promise<V | undefined>;
  /** The value with the timestamp it was put with (Kafka Streams' ValueAndTimestamp). */
  getWithTimestamp(key: K): { value: V; timestamp: number } | undefined | Promise<{ value: V; timestamp: number } | undefined>;
  /** `timestamp`: the value's (default: the timestamp of the record being processed). null deletes. */
  put(key: K, value: V | null, timestamp?: number): void;
  /** `from`: where to start, in the byte order of serialized keys (a key's bytes, or any position between keys). */
  range(options?: { prefix?: string; from?: Buffer; limit?: number }): AsyncIterable<[K, V]>;
  /** As `range`, each value with the timestamp it was put with (-1 in a store without timestamps). */
  rangeWithTimestamp(options?: { prefix?: string; from?: Buffer; limit?: number }): AsyncIterable<[K, { value: V; timestamp: number }]>;
}
