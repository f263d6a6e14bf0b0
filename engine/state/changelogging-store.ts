import type { RecordCollector } from '../api/serde.js';
import type { BytesLayer } from './caching-store.js';
import { plainValue, timestampOf } from './timestamped.js';

/**
 * Sends every write to the store's changelog topic, the partition of the task that owns the
 * store, so that the store can be rebuilt anywhere from its changelog. Below a cache it sees
 * only what the cache flushes: one record per key per commit instead of one per update.
 */
export class ChangeloggingStore implements BytesLayer {
  constructor(
    private readonly inner: BytesLayer,
    private readonly collector: RecordCollector,
    private readonly changelogTopic: string,
    private readonly partition: number,
    /** The timestamp of the record being processed (Kafka Streams stamps changelogs with it). */
    private readonly timestamp: () => number,
    /** Values carry their timestamp (timestamped.ts): the changelog gets the plain value, stamped with it, as in Kafka Streams. */
    private readonly timestamped = false,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  /** `existed`: whether the key has a value below now, when the caller knows (see LevelDbStore.put). */
  put(key: Buffer, value: Buffer | null, existed?: boolean): void {
    this.inner.put(key, value, existed);
    if (this.timestamped && value !== null) {
      this.collector.send({ topic: this.changelogTopic, partition: this.partition, key, value: plainValue(value), timestamp: timestampOf(value) });
    } else {
      this.collector.send({ topic: this.changelogTopic, partition: this.partition, key, value, timestamp: this.timestamp() });
    }
  }

  /** Throws when the changelog would refuse this write (too large), writing nothing. */
  check(key: Buffer, value: Buffer): void {
    this.collector.check?.({ topic: this.changelogTopic, partition: this.partition, key, value: this.timestamped ? plainValue(value) : value, timestamp: 0 });
  }

  get(key: Buffer): Buffer | undefined | Promise<Buffer | undefined> {
    return this.inner.get(key);
  }

  flush(): void {
    this.inner.flush();
  }

  persist(changelogOffset?: number): Promise<void> {
    return this.inner.persist(changelogOffset);
  }

  range(options: { gte?: Buffer; lt?: Buffer; limit?: number }): AsyncIterable<[Buffer, Buffer]> {
    return this.inner.range(options);
  }

  approximateSize(): number {
    return this.inner.approximateSize();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
