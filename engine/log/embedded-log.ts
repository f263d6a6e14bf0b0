import { tpKey, type CommittedOffset, type ConsumerOptions, type Log, type LogConsumer, type LogProducer, type LogRecord, type TopicPartition, type TopicSpec } from '../api/log.js';
import { DiskStore, type SegmentWrite } from './disk-store.js';
import { EmbeddedConsumer } from './embedded-consumer.js';
import { EmbeddedProducer } from './embedded-producer.js';
import type { Manifest } from './manifest.js';
import type { PartitionLog } from './partition-log.js';
import { buildManifest, checkTopicSpec, newTopic, parseTpKey, type PendingLengths, type TopicState } from './topic-state.js';

/** Encoded records a producer appends to one partition: `count` whole records in `chunks`, each holding whole records. */
export interface PartitionWrite {
  readonly log: PartitionLog;
  readonly chunks: readonly Buffer[];
  readonly count: number;
}

export type RecordMetadata = TopicPartition & { offset: number };

/** Offsets a transaction commits with its records. */
export interface GroupCommit {
  readonly groupId: string;
  readonly offsets: ReadonlyMap<string, number>;
  /** Per tpKey, stored with the offset; an offset committed without any clears what was stored. */
  readonly metadata?: ReadonlyMap<string, string>;
}

/**
 * The single-process log: partitioned, append-only, for `duality run` without brokers (persisted
 * under a directory) and for the topology test runner (in memory). Every write (flush, transaction
 * commit, offset commit, topic change) runs one at a time and ends with one manifest write, which
 * is what makes it atomic and durable; readers see only what a finished write committed.
 */
export class EmbeddedLog implements Log {
  private topics = new Map<string, TopicState>();
  private groups = new Map<string, Map<string, CommittedOffset>>();
  /** Topics deleted whose files are not all removed yet: every manifest names them (Manifest.deleted). */
  private readonly deleting = new Set<string>();
  private readonly members = new Set<string>();
  private readonly epochs = new Map<string, number>();
  private waiters = new Set<() => void>();
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** A commit is one manifest write either way: the engine always commits output and offsets together. */
  readonly cheapTransactions = true;
  private readonly readerFor: ((topic: string, partition: number) => (position: number, length: number) => Buffer) | undefined;

  private constructor(
    readonly description: string,
    private readonly disk: DiskStore | undefined,
  ) {
    this.readerFor = disk?.reader.bind(disk);
  }

  /** A log kept in memory only: nothing survives `close`. */
  static inMemory(): EmbeddedLog {
    return new EmbeddedLog('embedded (in memory)', undefined);
  }

  /**
   * Opens (or creates) the log persisted in `dir`; fails if another live process has it open. Only
   * an index of the records is kept in memory: reads read the segment files.
   */
  static async open(dir: string): Promise<EmbeddedLog> {
    const { store, manifest } = await DiskStore.open(dir);
    const log = new EmbeddedLog(`embedded (${dir})`, store);
    try {
      log.load(manifest);
    } catch (e) {
      await store.close();
      throw e;
    }
    return log;
  }

  private load(manifest: Manifest): void {
    for (const t of manifest.topics) {
      const state = newTopic({ name: t.name, partitions: t.records.length, ...(t.cleanupPolicy ? { cleanupPolicy: t.cleanupPolicy } : {}) }, this.readerFor);
      for (const p of state.partitions) {
        p.load(t.bytes[p.partition] as number);
        if (p.length !== t.records[p.partition]) {
          throw new Error(`embedded log: ${tpKey(p)} holds ${p.length} records where the manifest committed ${t.records[p.partition]}`);
        }
      }
      this.topics.set(t.name, state);
    }
    for (const g of manifest.groups) {
      const metadata = new Map(g.metadata);
      this.groups.set(g.id, new Map(g.offsets.map(([key, offset]) => [key, { offset, metadata: metadata.get(key) ?? '' }])));
    }
  }

  async createTopics(specs: readonly TopicSpec[]): Promise<TopicSpec[]> {
    for (const spec of specs) checkTopicSpec(spec);
    return this.serial(async () => {
      const fresh = specs.filter((s, i) => !this.topics.has(s.name) && specs.findIndex((o) => o.name === s.name) === i);
      if (fresh.length === 0) return [];
      const topics = new Map(this.topics);
      for (const spec of fresh) {
        await this.disk?.createTopic(spec.name, spec.partitions);
        this.deleting.delete(spec.name);
        topics.set(spec.name, newTopic(spec, this.readerFor));
      }
      await this.disk?.writeManifest(buildManifest(topics, this.groups, this.deleting));
      this.topics = topics;
      return fresh;
    });
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    await this.serial(async () => {
      const gone = names.filter((n) => this.topics.has(n));
      if (gone.length === 0) return;
      const topics = new Map(this.topics);
      for (const n of gone) topics.delete(n);
      // Offsets of a deleted topic go with it, so a topic created again under its name starts at 0.
      const groups = new Map<string, Map<string, CommittedOffset>>();
      for (const [id, offsets] of this.groups) {
        groups.set(id, new Map([...offsets].filter(([key]) => topics.has(parseTpKey(key)?.topic ?? ''))));
      }
      for (const n of gone) this.deleting.add(n);
      await this.disk?.writeManifest(buildManifest(topics, groups, this.deleting));
      this.topics = topics;
      this.groups = groups;
      for (const n of gone) {
        await this.disk?.deleteTopic(n);
        this.deleting.delete(n);
      }
    });
  }

  async partitions(topic: string): Promise<number | undefined> {
    return this.partitionCount(topic);
  }

  // Synchronous inside: see DiskStore.reader.
  async read(tp: TopicPartition, offset: number, maxRecords: number): Promise<LogRecord[]> {
    return this.partitionLog(tp).slice(offset, offset + Math.max(0, maxRecords));
  }

  async endOffsets(topic: string): Promise<number[]> {
    const state = this.topics.get(topic);
    if (!state) throw unknownTopic(topic, 'read the end offsets of');
    return state.partitions.map((p) => p.length);
  }

  producer(options?: { transactionalId?: string }): LogProducer {
    this.checkOpen();
    return new EmbeddedProducer(this, options?.transactionalId);
  }

  consumer(groupId: string, options?: ConsumerOptions): LogConsumer {
    this.checkOpen();
    return new EmbeddedConsumer(this, groupId, options?.endpoint);
  }

  /** Its failures are the disk's, or the program's: none passes by waiting. */
  retriable(): boolean {
    return false;
  }

  explain(): undefined {
    return undefined;
  }

  async groupMembers(groupId: string): Promise<number> {
    return this.members.has(groupId) ? 1 : 0;
  }

  /** Every partition starts at 0: nothing is ever removed from the front of an embedded topic. */
  async rewindGroup(groupId: string, topics: readonly string[]): Promise<RecordMetadata[]> {
    if (this.members.has(groupId)) throw new Error(`embedded log: cannot rewind group "${groupId}": it has a consumer in this process; close it first`);
    const start: RecordMetadata[] = [];
    for (const topic of new Set(topics)) for (const p of this.topics.get(topic)?.partitions ?? []) start.push({ topic, partition: p.partition, offset: 0 });
    if (start.length > 0) await this.append([], { groupId, offsets: new Map(start.map((tp) => [tpKey(tp), tp.offset])) });
    return start;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    await this.tail;
    await this.disk?.close();
  }

  /* The rest is for this log's producers and consumers. */

  partitionCount(topic: string): number | undefined {
    return this.topics.get(topic)?.partitions.length;
  }

  /** A partition's committed records; undefined when its topic is gone. */
  partitionData(tp: TopicPartition): PartitionLog | undefined {
    return this.topics.get(tp.topic)?.partitions[tp.partition];
  }

  /** The partitions of a topic, which producers append to; undefined when it does not exist. */
  topicPartitions(topic: string): readonly PartitionLog[] | undefined {
    return this.topics.get(topic)?.partitions;
  }

  committedOffset(groupId: string, tp: TopicPartition): number | undefined {
    return this.groups.get(groupId)?.get(tpKey(tp))?.offset;
  }

  committedWithMetadata(groupId: string, tp: TopicPartition): CommittedOffset | undefined {
    return this.groups.get(groupId)?.get(tpKey(tp));
  }

  /**
   * Appends encoded records (and, for a transaction, sets a group's offsets) as one atomic write;
   * resolves, once they are visible, with the offset of each write's first record. A persisted
   * log is done with the writes' buffers once this settles; the in-memory log keeps them.
   */
  append(writes: readonly PartitionWrite[], commit?: GroupCommit, check?: () => void): Promise<number[]> {
    return this.serial(async () => {
      check?.();
      for (const w of writes) {
        if (this.topics.get(w.log.topic)?.partitions[w.log.partition] !== w.log) throw unknownTopic(w.log.topic, 'produce to');
      }
      const bases: number[] = [];
      const lengths = new Map<PartitionLog, { records: number; bytes: number }>() satisfies PendingLengths;
      for (const w of writes) {
        // One segment write per partition: two appends to one file at once could land in either order.
        if (lengths.has(w.log)) throw new Error(`embedded log: two writes to ${tpKey(w.log)} in one append`);
        bases.push(w.log.length);
        let bytes = 0;
        for (const c of w.chunks) bytes += c.length;
        lengths.set(w.log, { records: w.log.length + w.count, bytes: w.log.bytes + bytes });
      }
      const groups = commit ? this.withOffsets(commit) : this.groups;
      if (this.disk && (writes.length > 0 || commit)) {
        const segmentWrites: SegmentWrite[] = [];
        for (const w of writes) segmentWrites.push({ topic: w.log.topic, partition: w.log.partition, chunks: w.chunks, committedBytes: w.log.bytes });
        await this.disk.commit(segmentWrites, buildManifest(this.topics, groups, this.deleting, lengths));
      }
      for (const w of writes) for (const c of w.chunks) w.log.append(c);
      this.groups = groups;
      if (writes.length > 0) this.wake();
      return bases;
    });
  }

  /** True when appended chunks stay in memory (the in-memory log); a persisted log only writes them out. */
  get keepsChunks(): boolean {
    return this.disk === undefined;
  }

  private withOffsets({ groupId, offsets, metadata }: GroupCommit): Map<string, Map<string, CommittedOffset>> {
    const next = new Map(this.groups.get(groupId));
    for (const [key, offset] of offsets) {
      const tp = parseTpKey(key);
      if (!tp || this.partitionCount(tp.topic) === undefined || tp.partition >= (this.partitionCount(tp.topic) as number)) {
        throw new Error(`embedded log: cannot commit an offset of group "${groupId}" for ${key}: no such topic partition`);
      }
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw new Error(`embedded log: cannot commit offset ${offset} of group "${groupId}" for ${key}: not a whole number ≥ 0`);
      }
      next.set(key, { offset, metadata: metadata?.get(key) ?? '' });
    }
    return new Map(this.groups).set(groupId, next);
  }

  /** One consumer per group: in one process it is given every partition, so a second has nothing to do. */
  join(groupId: string): void {
    this.checkOpen();
    if (this.members.has(groupId)) {
      throw new Error(`embedded log: group "${groupId}" already has a consumer in this process; close it first`);
    }
    this.members.add(groupId);
  }

  leave(groupId: string): void {
    this.members.delete(groupId);
  }

  /** Registers a transactional producer, fencing off earlier ones with the same id (zombies). */
  fence(transactionalId: string): number {
    const epoch = (this.epochs.get(transactionalId) ?? 0) + 1;
    this.epochs.set(transactionalId, epoch);
    return epoch;
  }

  isCurrent(transactionalId: string, epoch: number): boolean {
    return this.epochs.get(transactionalId) === epoch;
  }

  /** Resolves at the next commit of records, at close, or after `ms`, whichever is first. */
  waitForRecords(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Wakes every waiting poll; a spurious wake-up only makes a poll look again. */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  checkOpen(): void {
    if (this.closed) throw new Error(`${this.description} is closed`);
  }

  private partitionLog(tp: TopicPartition): PartitionLog {
    const state = this.topics.get(tp.topic);
    if (!state) throw unknownTopic(tp.topic, 'read');
    const p = state.partitions[tp.partition];
    if (!p) throw new Error(`embedded log: topic "${tp.topic}" has no partition ${tp.partition} (it has ${state.partitions.length})`);
    return p;
  }

  /** Runs writes one at a time, in call order, so the manifest is never written concurrently. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    this.checkOpen();
    const run = this.tail.then(work);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

function unknownTopic(topic: string, action: string): Error {
  return new Error(`embedded log: cannot ${action} topic "${topic}": it does not exist (topics are created before the topology runs)`);
}
