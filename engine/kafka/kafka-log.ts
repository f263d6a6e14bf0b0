import type { Admin, GroupDescription, Kafka, PartitionMetadata } from 'kafkajs';
import kafkajs from './kafkajs.js';
import { tpKey, type CommittedOffset, type ConsumerOptions, type Log, type LogConsumer, type LogProducer, type LogRecord, type TopicPartition, type TopicSpec } from '../api/log.js';
import { createKafka, errorType, explainFailure, isRetriable, RetriableError, securityProblem, sleep, type KafkaOptions as ClientOptions } from './client.js';
import { COMPRESSION_TYPES, type CompressionName } from './codecs.js';
import { KafkaConsumer } from './kafka-consumer.js';
import { KafkaProducer } from './kafka-producer.js';
import { PartitionReader } from './partition-reader.js';

export interface KafkaOptions extends ClientOptions {
  /** The codec of every batch this log's producers write (`kafka.compression`); default none. */
  readonly compression?: CompressionName;
}

/** Tries at reading metadata that is still settling (a topic just created), 50 ms apart. */
const METADATA_ATTEMPTS = 40;
const { ConfigResourceTypes } = kafkajs;
/** A reader nobody read from for this long is closed (a restore reads without pause). */
const READER_IDLE_MS = 5000;

/**
 * The log on a Kafka cluster, through kafkajs, at-least-once: the engine flushes the producer,
 * then commits the consumer's offsets (`cheapTransactions` is false); `exactly_once` uses Kafka
 * transactions instead (KafkaProducer). Reads are read_committed throughout.
 *
 * Lifecycle: `KafkaLog.connect` (fails when no broker answers), use, `close` (which also closes
 * what `read` left open; producers and consumers are their creators' to close).
 */
export class KafkaLog implements Log {
  readonly cheapTransactions = false;
  readonly description: string;
  private readonly metadata = new Map<string, PartitionMetadata[]>();
  /** Each topic's max.message.bytes, once learnRecordLimits asked: producers check records against it. */
  private readonly maxMessageBytes = new Map<string, number>();
  private readonly readers = new Map<string, { reader: PartitionReader; idle?: NodeJS.Timeout }>();
  private readonly reading = new Map<string, Promise<unknown>>();
  private adminTail: Promise<unknown> = Promise.resolve();
  private readonly closing = new Set<Promise<void>>();
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private client: Admin,
    private readonly options: KafkaOptions,
    /** False until the admin client has connected: `create` leaves that to the first call. */
    private connected: boolean,
  ) {
    this.description = `kafka (${options.brokers.join(',')})`;
  }

  /**
   * A log that connects on first use, so that it can be made while no broker answers: the engine
   * then tries again with backoff (see Log.retriable) and says so in /readyz.
   */
  static create(options: KafkaOptions): KafkaLog {
    const kafka = createKafka(options);
    return new KafkaLog(kafka, kafka.admin(), options, false);
  }

  static async connect(options: KafkaOptions): Promise<KafkaLog> {
    const kafka = createKafka(options);
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
    } catch (e) {
      await admin.disconnect().catch(() => undefined);
      const why = securityProblem(e);
      throw new Error(why !== undefined ? `kafka (${options.brokers.join(',')}): ${why}` : `no Kafka broker answers on ${options.brokers.join(',')}: ${(e as Error).message}`, { cause: e });
    }
    return new KafkaLog(kafka, admin, options, true);
  }

  async createTopics(specs: readonly TopicSpec[]): Promise<TopicSpec[]> {
    this.checkOpen();
    const existing = new Set(await this.admin((a) => a.listTopics()));
    const fresh = specs.filter((s, i) => !existing.has(s.name) && specs.findIndex((o) => o.name === s.name) === i);
    if (fresh.length === 0) return [];
    // false means "already there": another instance created them meanwhile, which is as good.
    const topics = fresh.map((s) => ({
      topic: s.name,
      numPartitions: s.partitions,
      // The broker's default.replication.factor: one on a development broker, more in production.
      replicationFactor: -1,
      configEntries: s.cleanupPolicy ? [{ name: 'cleanup.policy', value: s.cleanupPolicy }] : [],
    }));
    await this.admin((a) => a.createTopics({ waitForLeaders: true, topics }));
    return fresh;
  }

  /** Asked afresh (the cache serves the producer): the topic may have been deleted or created elsewhere. */
  async partitions(topic: string): Promise<number | undefined> {
    this.metadata.delete(topic);
    return (await this.partitionMetadata(topic))?.length;
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    this.checkOpen();
    const existing = new Set(await this.admin((a) => a.listTopics()));
    const gone = [...new Set(names)].filter((n) => existing.has(n));
    for (const n of names) this.metadata.delete(n);
    if (gone.length > 0) await this.admin((a) => a.deleteTopics({ topics: gone }));
  }

  /**
   * Reads through a reader per partition (see PartitionReader) that stays open while reads
   * continue where the last one ended, as a restore's do; any other offset opens a new one.
   */
  read(tp: TopicPartition, offset: number, maxRecords: number, options?: { follow?: boolean }): Promise<LogRecord[]> {
    // One read at a time per partition, so two callers never race to open its reader.
    const key = tpKey(tp);
    const run = (this.reading.get(key) ?? Promise.resolve()).then(() => this.readNow(tp, offset, maxRecords, options?.follow ?? false));
    const tail = run.catch(() => undefined);
    this.reading.set(key, tail);
    void tail.then(() => this.reading.get(key) === tail && this.reading.delete(key));
    return run;
  }

  private async readNow(tp: TopicPartition, offset: number, maxRecords: number, follow: boolean): Promise<LogRecord[]> {
    this.checkOpen();
    const end = (await this.endOffsets(tp.topic))[tp.partition];
    if (end === undefined) throw new Error(`kafka: topic "${tp.topic}" has no partition ${tp.partition}`);
    if (offset >= end || maxRecords <= 0) return [];
    const key = tpKey(tp);
    let slot = this.readers.get(key);
    if (slot && !slot.reader.continues(offset)) {
      this.dropReader(key);
      slot = undefined;
    }
    if (!slot) {
      slot = { reader: await PartitionReader.open(this.kafka, this.options.clientId, tp, offset) };
      this.readers.set(key, slot);
    }
    clearTimeout(slot.idle);
    const records = await slot.reader.read(offset, maxRecords, end);
    // A caller that read up to the end is done (a restore), unless it follows; otherwise keep it for a while.
    if (slot.reader.doneUpTo(end) && !follow) this.dropReader(key);
    else slot.idle = setTimeout(() => this.dropReader(key), READER_IDLE_MS).unref();
    return records;
  }

  /** The end offset a read_committed reader sees: the high watermark, unless a transaction is open. */
  async endOffsets(topic: string): Promise<number[]> {
    return (await this.watermarks(topic)).map((w) => w.high);
  }

  /** Per partition of a topic: its start (the earliest offset it holds) and its end as endOffsets gives it. */
  private async watermarks(topic: string): Promise<{ low: number; high: number }[]> {
    this.checkOpen();
    const n = (await this.partitionMetadata(topic))?.length;
    if (n === undefined) throw new Error(`kafka: cannot read the end offsets of topic "${topic}": it does not exist`);
    // In kafkajs's metadata cache a topic just created can briefly lack partitions or name a leader
    // that is not one yet: the admin then answers fewer of them, fails inside with a TypeError, or
    // the broker says NOT_LEADER_FOR_PARTITION (kafkajs refreshes its metadata then). Asked again.
    for (let attempt = 1; ; attempt++) {
      let offsets: { partition: number; high: string; low: string }[] = [];
      try {
        offsets = await this.admin((a) => a.fetchTopicOffsets(topic));
      } catch (e) {
        if (!(e instanceof TypeError || errorType(e) === 'NOT_LEADER_FOR_PARTITION' || errorType(e) === 'LEADER_NOT_AVAILABLE') || attempt >= METADATA_ATTEMPTS) throw e;
      }
      if (offsets.length === n) return offsets.sort((a, b) => a.partition - b.partition).map((o) => ({ low: Number(o.low), high: Number(o.high) }));
      if (attempt >= METADATA_ATTEMPTS) throw new Error(`kafka: the broker gave end offsets for ${offsets.length} of the ${n} partitions of topic "${topic}"`);
      await sleep(50);
    }
  }

  /**
   * Every admin call, one at a time. kafkajs's admin answers some calls from a metadata cache that
   * a refresh replaces wholesale, so concurrent calls could see each other's half-built cache.
   * And it keeps refreshing every topic it was ever asked about: once one of them is deleted
   * elsewhere, those calls fail with UNKNOWN_TOPIC_OR_PARTITION for good. A fresh admin forgets
   * them, so such a failure is tried once more with one.
   */
  private admin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const run = this.adminTail.then(async () => {
      if (!this.connected) {
        try {
          await this.client.connect();
        } catch (e) {
          // A failed connect leaves kafkajs's admin half set up: the next attempt gets a new one.
          this.client = this.kafka.admin();
          throw new Error(`no Kafka broker answers on ${this.options.brokers.join(',')}: ${(e as Error).message}`, { cause: e });
        }
        this.connected = true;
      }
      try {
        return await work(this.client);
      } catch (e) {
        // kafkajs's BrokerPool.withBroker swallows each broker's failure and gives null when none
        // answered (connections cut mid-request); its admin's listTopics and fetchTopicMetadata
        // then fail on that null with a TypeError, which is a lost broker, not a bug to stop for.
        if (e instanceof TypeError && /topicMetadata/.test(e.message)) {
          throw new RetriableError(`no broker of ${this.options.brokers.join(',')} answered a metadata request (${e.message})`, { cause: e });
        }
        if (errorType(e) !== 'UNKNOWN_TOPIC_OR_PARTITION' || this.closed) throw e;
        const stale = this.client;
        this.client = this.kafka.admin();
        await stale.disconnect().catch(() => undefined);
        await this.client.connect();
        return work(this.client);
      }
    });
    this.adminTail = run.catch(() => undefined);
    return run;
  }


  producer(options?: { transactionalId?: string; offsets?: boolean }): LogProducer {
    this.checkOpen();
    return new KafkaProducer(this.kafka, (t) => this.requireMetadata(t), (t) => this.endOffsets(t), options?.transactionalId, options?.offsets !== false, COMPRESSION_TYPES[this.options.compression ?? 'none'], (t) => this.maxMessageBytes.get(t));
  }

  /** Reads the max.message.bytes of the topics that exist among `topics` (a topic's own, or the broker's default). */
  async learnRecordLimits(topics: readonly string[]): Promise<void> {
    this.checkOpen();
    const existing = new Set(await this.admin((a) => a.listTopics()));
    const resources = [...new Set(topics)].filter((t) => existing.has(t)).map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] }));
    if (resources.length === 0) return;
    const answer = await this.admin((a) => a.describeConfigs({ resources, includeSynonyms: false }));
    for (const r of answer.resources) {
      const bytes = Number(r.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
      if (Number.isInteger(bytes) && bytes > 0) this.maxMessageBytes.set(r.resourceName, bytes);
    }
  }

  consumer(groupId: string, options?: ConsumerOptions): LogConsumer {
    this.checkOpen();
    const describe = async (g: string): Promise<GroupDescription> => (await this.admin((a) => a.describeGroups([g]))).groups[0]!;
    return new KafkaConsumer(this.kafka, groupId, { committed: (g, tp) => this.committed(g, tp), describe, watermarks: (t) => this.watermarks(t) }, options);
  }

  retriable(error: unknown): boolean {
    return isRetriable(error);
  }

  explain(error: unknown): string | undefined {
    return securityProblem(error) ?? explainFailure(error);
  }

  async groupMembers(groupId: string): Promise<number> {
    this.checkOpen();
    const { groups } = await this.admin((a) => a.describeGroups([groupId]));
    return groups.find((g) => g.groupId === groupId)?.members.length ?? 0;
  }

  /**
   * To each partition's low watermark, written as that number: kafkajs's resetOffsets would commit
   * -2 ("earliest") itself, which readers of the group's offsets would have to resolve. setOffsets
   * joins the group for a moment to commit, and refuses a group with live members.
   */
  async rewindGroup(groupId: string, topics: readonly string[]): Promise<(TopicPartition & { offset: number })[]> {
    this.checkOpen();
    const start: (TopicPartition & { offset: number })[] = [];
    for (const topic of new Set(topics)) {
      const n = await this.partitions(topic);
      if (n === undefined) continue;
      const offsets = await this.admin((a) => a.fetchTopicOffsets(topic));
      if (offsets.length !== n) throw new Error(`kafka: the broker gave start offsets for ${offsets.length} of the ${n} partitions of topic "${topic}"; try again`);
      const partitions = offsets.map((o) => ({ partition: o.partition, offset: o.low })).sort((a, b) => a.partition - b.partition);
      await this.admin((a) => a.setOffsets({ groupId, topic, partitions }));
      for (const p of partitions) start.push({ topic, partition: p.partition, offset: Number(p.offset) });
    }
    return start;
  }

  private async committed(groupId: string, tp: TopicPartition): Promise<CommittedOffset | undefined> {
    const res = await this.admin((a) => a.fetchOffsets({ groupId, topics: [tp.topic] }));
    const found = res.find((t) => t.topic === tp.topic)?.partitions.find((p) => p.partition === tp.partition);
    // kafkajs says -1 for a partition the group has no offset for.
    return found === undefined || Number(found.offset) < 0 ? undefined : { offset: Number(found.offset), metadata: found.metadata ?? '' };
  }

  /**
   * Partition metadata, cached once a topic is known (partition counts only grow, and the engine
   * never adds partitions). Listed first: asking kafkajs for the metadata of a missing topic fails.
   */
  private async partitionMetadata(topic: string): Promise<PartitionMetadata[] | undefined> {
    this.checkOpen();
    const known = this.metadata.get(topic);
    if (known) return known;
    if (!(await this.admin((a) => a.listTopics())).includes(topic)) return undefined;
    for (let attempt = 1; ; attempt++) {
      const meta = await this.admin((a) => a.fetchTopicMetadata({ topics: [topic] }));
      const partitions = [...(meta.topics.find((t) => t.name === topic)?.partitions ?? [])].sort((a, b) => a.partitionId - b.partitionId);
      // A topic just created may not show all its partitions and leaders yet: asked again, not cached.
      const complete = partitions.length > 0 && partitions.every((p, i) => p.partitionId === i && p.leader >= 0);
      if (complete) this.metadata.set(topic, partitions);
      if (complete || attempt >= METADATA_ATTEMPTS) return partitions;
      await sleep(50);
    }
  }

  private async requireMetadata(topic: string): Promise<PartitionMetadata[]> {
    const meta = await this.partitionMetadata(topic);
    if (!meta) throw new Error(`kafka: cannot produce to topic "${topic}": it does not exist (topics are created before the topology runs)`);
    return meta;
  }

  private dropReader(key: string): void {
    const slot = this.readers.get(key);
    if (!slot) return;
    this.readers.delete(key);
    clearTimeout(slot.idle);
    const { reader } = slot;
    // A group that could not be deleted is only clutter on the broker: nothing to report.
    const closing = reader
      .close()
      .then(() => this.admin((a) => a.deleteGroups([reader.groupId])))
      .then(() => undefined)
      .catch(() => undefined);
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const key of [...this.readers.keys()]) this.dropReader(key);
    await Promise.all(this.closing);
    await this.adminTail;
    if (this.connected) await this.client.disconnect();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`${this.description} is closed`);
  }
}
