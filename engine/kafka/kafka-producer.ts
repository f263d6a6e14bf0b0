import kafkajs from './kafkajs.js';
import type { Kafka, Message, PartitionMetadata, Producer, RecordMetadata, TopicMessages, Transaction } from 'kafkajs';
import type { LogProducer, ProducedRecord, TopicPartition } from '../api/log.js';
import { Partitioner } from '../log/partitioner.js';
import { parseTpKey } from '../log/topic-state.js';
import { RetriableError, sleep, TransactionError } from './client.js';
import { batchBytesOf, RecordAccumulator, type EncodedBatch } from './record-accumulator.js';

const { Partitioners } = kafkajs;

/** Bytes per produce request, besides one batch that is bigger on its own (a batch stays below the broker's message.max.bytes, 1 MB, unless one record is bigger). */
const REQUEST_BYTES = 512 * 1024;
/** How long a committed transaction's records may take to become readable before that is an error. */
const VISIBLE_WAIT_MS = 10_000;
/** kafkajs producers a plain producer sends through side by side (see sendBuffered). */
const LANES = 4;

/** A hash of each topic's name, computed once: lanes are chosen per record. */
const topicHashes = new Map<string, number>();

/** A partition's lane: always the same one, so its records keep their order. */
function laneOf(topic: string, partition: number): number {
  let h = topicHashes.get(topic);
  if (h === undefined) {
    h = 0;
    for (let i = 0; i < topic.length; i++) h = (Math.imul(h, 31) + topic.charCodeAt(i)) | 0;
    topicHashes.set(topic, h);
  }
  return ((h + partition) >>> 0) % LANES;
}

/**
 * A record bigger than its topic takes (`max.message.bytes`), refused at send, as Java's producer
 * refuses one past max.request.size: the broker would refuse the whole request carrying it, which
 * fails the producer (and under exactly_once the transaction) for every record with it. Thrown from
 * the sink that sends it, it goes to the error policy like any record that cannot be processed.
 */
export class RecordTooLargeError extends Error {
  readonly code = 'RECORD_TOO_LARGE';

  constructor(topic: string, bytes: number, limit: number) {
    super(`the record is ${bytes} bytes as a record batch, more than topic "${topic}" takes (max.message.bytes ${limit})`);
    this.name = 'RecordTooLargeError';
  }
}

type Sender = { sendBatch(batch: { acks: number; topicMessages: TopicMessages[]; compression: number }): Promise<RecordMetadata[]> };

/**
 * A kafkajs producer behind the engine's buffer-then-flush interface. `send` encodes each record
 * at once into its partition's batch (record-accumulator.ts, as Java's RecordAccumulator does), so
 * nothing of the record object outlives the call; without a transaction, batches go out in the
 * background; `flush` sends the rest with acks=-1 and resolves once the broker has everything on
 * every in-sync replica. Idempotent, so a retried request is not written twice.
 *
 * Partitions are chosen here, at send, with the engine's Partitioner (Java's murmur2, so a key
 * lands where a Java producer would put it; the embedded log uses it too). A topic's partition
 * count is read from kafkajs's metadata the first time the topic is sent to; its records wait
 * (in order) until it is known.
 *
 * With a transactionalId, the first record sent after a commit opens a Kafka transaction, and
 * records go out in the background into it, as without one; they become visible only through
 * `commitTransaction`, which waits for them, adds the consumed offsets (`sendOffsets`) and commits.
 * On any failure it aborts, so neither the records nor the offsets count. The commit resolves
 * once what it wrote is readable (untilVisible).
 */
export class KafkaProducer implements LogProducer {
  private readonly accumulator = new RecordAccumulator();
  /** Records of topics whose partition count is not known yet, in send order (every record after them waits too). */
  private waiting: ProducedRecord[] = [];
  private readonly partitionCounts = new Map<string, number>();
  private readonly producer: Producer;
  /** kafkajs producers that send side by side, each for its share of the partitions: the first is `producer`. */
  private readonly lanes: Producer[];
  private readonly ready: Promise<void>;
  private readonly partitioner = new Partitioner();
  private closed = false;
  /** The background send while one runs. */
  private sender: Promise<void> | undefined;
  /** The open transaction records go into (transactional producers). */
  private txn: Transaction | undefined;
  /** Whether a commit is under way: records sent meanwhile wait for the next transaction. */
  private committing = false;
  /**
   * Where each record sent since the last flush went, in send order (records are encoded in send
   * order, waiting ones included), as its batch and its place in it; undefined when nobody asks
   * (the engine's producers).
   */
  private acks: { batch: EncodedBatch; index: number }[] | undefined;
  /** The first send that failed: later flushes fail with it (a transaction's abort clears it). */
  private failure: unknown;
  /** The end offset, per topic and partition, of what the open transaction wrote. */
  private ends = new Map<string, Map<number, number>>();

  constructor(
    kafka: Kafka,
    private readonly partitionsOf: (topic: string) => Promise<PartitionMetadata[]>,
    /** read_committed end offsets (the last stable offset) of each partition of a topic. */
    private readonly endOffsets: (topic: string) => Promise<number[]>,
    private readonly transactionalId?: string,
    offsets = true,
    /** The codec of every batch (engine/kafka/codecs.ts), 0 for none. */
    private readonly compression = 0,
    /** The largest batch a topic takes (its max.message.bytes), when known. */
    private readonly limitOf: (topic: string) => number | undefined = () => undefined,
  ) {
    if (offsets) this.acks = [];
    const create = (): Producer =>
      kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
        idempotent: true,
        maxInFlightRequests: 1,
        ...(transactionalId !== undefined ? { transactionalId } : {}),
      });
    const producer = create();
    const lanes = [producer, ...Array.from({ length: transactionalId === undefined ? LANES - 1 : 0 }, create)];
    this.producer = producer;
    this.lanes = lanes;
    // Connected at once. A transactional producer also registers its id (InitProducerId, which
    // kafkajs sends only at the first transaction: an empty one, aborted): that fences older
    // producers of the id and settles their open transaction, which a restore reading
    // read_committed would otherwise wait behind.
    this.ready = (async () => {
      await Promise.all(lanes.map((p) => p.connect()));
      if (transactionalId !== undefined) await (await producer.transaction()).abort();
    })();
    this.ready.catch(() => undefined);
  }

  init(): Promise<void> {
    return this.ready;
  }

  send(records: readonly ProducedRecord[]): void {
    this.checkOpen();
    for (const r of records) {
      if (!Number.isFinite(r.timestamp)) throw new Error(`kafka: cannot produce to topic "${r.topic}": timestamp ${r.timestamp} is not a number of milliseconds`);
      this.check(r);
    }
    for (const r of records) {
      const n = this.partitionCounts.get(r.topic);
      if (n === undefined || this.waiting.length > 0) this.waiting.push(r);
      else this.append(r, n);
    }
    if (this.sender === undefined && !this.committing) this.sender = this.sendBuffered();
  }

  check(r: ProducedRecord): void {
    const limit = this.limitOf(r.topic);
    if (limit === undefined) return;
    const bytes = batchBytesOf(r.key, r.value, r.headers);
    if (bytes > limit) throw new RecordTooLargeError(r.topic, bytes, limit);
  }

  /** Encodes a record into its partition's batch. A partition the topic lacks fails the producer, as a failed send would. */
  private append(r: ProducedRecord, partitions: number): void {
    if (this.failure !== undefined) return;
    let p = r.partition;
    if (p === undefined) p = this.partitioner.partition(r.topic, r.key, partitions);
    else if (!Number.isInteger(p) || p < 0 || p >= partitions) {
      this.failure = new Error(`kafka: cannot produce to partition ${p} of topic "${r.topic}": it has partitions 0..${partitions - 1}`);
      return;
    }
    const batch = this.accumulator.append(r.topic, p, r.key, r.value, r.timestamp, r.headers, this.limitOf(r.topic));
    this.acks?.push({ batch, index: batch.count - 1 });
  }

  /** Learns the partition counts of the waiting records' topics, then encodes them, in order. */
  private async appendWaiting(): Promise<void> {
    for (const r of this.waiting) {
      if (!this.partitionCounts.has(r.topic)) this.partitionCounts.set(r.topic, (await this.partitionsOf(r.topic)).length);
    }
    const waiting = this.waiting;
    this.waiting = [];
    for (const r of waiting) this.append(r, this.partitionCounts.get(r.topic)!);
  }

  async flush(): Promise<(TopicPartition & { offset: number })[]> {
    this.checkOpen();
    // A transaction's records are not readable before its commit: nothing to publish here.
    if (this.transactionalId !== undefined) return [];
    while (this.sender !== undefined) await this.sender;
    if (this.failure !== undefined) throw this.failure;
    if (!this.acks) return [];
    const acks = this.acks;
    this.acks = [];
    return acks.map(({ batch, index }) => ({ topic: batch.topic, partition: batch.partition, offset: batch.baseOffset + index }));
  }

  /**
   * Records go out as Kafka's producer sends them: in the background, each round of requests
   * taking the batches filled while the round before it travelled. Under load batches grow (up to
   * BATCH_BYTES); when idle a record leaves at once. kafkajs's idempotent producer has one request
   * in flight per broker, where Kafka's has five; so a plain producer sends through LANES kafkajs
   * producers side by side, each for a fixed share of the partitions (a partition's records keep
   * their order). Once a send fails, nothing after it is sent (it would overtake the lost
   * records): flushes and commits fail, and the engine replaces the producer.
   */
  private async sendBuffered(): Promise<void> {
    try {
      await this.ready;
      while ((this.accumulator.size > 0 || this.waiting.length > 0) && this.failure === undefined) {
        if (this.waiting.length > 0) await this.appendWaiting();
        const batches = this.accumulator.drain();
        if (batches.length === 0) continue;
        if (this.transactionalId !== undefined) {
          this.txn ??= await this.producer.transaction();
          await this.sendAll(this.txn, batches);
        } else {
          await this.sendOverLanes(batches);
        }
      }
    } catch (e) {
      this.failure ??= e;
    } finally {
      this.sender = undefined;
    }
  }

  async commitTransaction(groupId: string, offsets: ReadonlyMap<string, number>, metadata?: ReadonlyMap<string, string>): Promise<void> {
    this.checkOpen();
    if (this.transactionalId === undefined) throw new Error('kafka: commitTransaction needs a producer created with a transactionalId');
    this.committing = true;
    try {
      while (this.sender !== undefined) await this.sender;
      if (this.failure !== undefined) {
        // An abort that fails too leaves the outcome to the next producer of this id, whose init
        // aborts the transaction.
        await this.txn?.abort().catch(() => undefined);
        this.txn = undefined;
        throw this.failure;
      }
      if (this.txn === undefined && offsets.size === 0) return;
      const txn = this.txn ?? (await this.producer.transaction());
      this.txn = undefined;
      const ends = this.ends;
      this.ends = new Map();
      try {
        if (offsets.size > 0) await txn.sendOffsets({ consumerGroupId: groupId, topics: byTopic(offsets, metadata) });
        await txn.commit();
      } catch (e) {
        await txn.abort().catch(() => undefined);
        throw e;
      }
      await this.untilVisible(ends);
    } catch (e) {
      throw new TransactionError(this.transactionalId, `kafka: the transaction of "${this.transactionalId}" failed: ${(e as Error).message}`, { cause: e });
    } finally {
      this.committing = false;
      if ((this.accumulator.size > 0 || this.waiting.length > 0) && this.sender === undefined && !this.closed) this.sender = this.sendBuffered();
    }
  }

  /**
   * The commit resolves once the coordinator has decided; the markers that make the records
   * readable (read_committed) land on the partitions a moment later. Until they have, the
   * coordinator answers the id's next transaction with CONCURRENT_TRANSACTIONS (which kafkajs
   * retries with seconds of backoff): so the commit waits for them, each task's transaction on
   * its own, as the contract says (visible when the commit resolves). Waiting instead at the next
   * transaction's start, in the background, stalled two instances sharing the tasks in CI.
   */
  private async untilVisible(need: ReadonlyMap<string, ReadonlyMap<number, number>>): Promise<void> {
    const deadline = Date.now() + VISIBLE_WAIT_MS;
    for (const [topic, parts] of need) {
      for (;;) {
        const ends = await this.endOffsets(topic);
        if ([...parts].every(([p, end]) => (ends[p] ?? 0) >= end)) break;
        if (Date.now() > deadline) {
          throw new RetriableError(
            `kafka: the transaction of "${this.transactionalId}" committed, but its records in ${topic} are still held back after ${VISIBLE_WAIT_MS / 1000} s ` +
              "by another producer's open transaction on the same partitions (a stopped instance's: the broker aborts it once its task starts elsewhere or its transaction times out)",
          );
        }
        await sleep(5);
      }
    }
  }

  /** Drops what was sent since the last commit: what is not sent yet, and the open transaction, aborted. */
  async abortTransaction(): Promise<void> {
    this.dropUnsent();
    while (this.sender !== undefined) await this.sender;
    this.dropUnsent();
    this.ends = new Map();
    this.failure = undefined;
    const txn = this.txn;
    this.txn = undefined;
    await txn?.abort();
  }

  private dropUnsent(): void {
    this.accumulator.clear();
    this.waiting = [];
    if (this.acks) this.acks = [];
  }

  /** A plain producer flushes what it still holds (as Kafka's close does); a transactional one aborts it. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      // What a failed producer still holds is lost already: the engine reprocesses it.
      if (this.transactionalId === undefined && this.failure === undefined) await this.flush();
      if (this.transactionalId !== undefined) await this.abortTransaction().catch(() => undefined);
    } finally {
      this.dropUnsent();
      this.closed = true;
      await Promise.all(this.lanes.map((p) => p.disconnect()));
    }
  }

  /** Sends each lane the batches of its partitions, side by side. */
  private async sendOverLanes(batches: readonly EncodedBatch[]): Promise<void> {
    const lanes = new Map<number, EncodedBatch[]>();
    for (const b of batches) {
      const lane = laneOf(b.topic, b.partition);
      let share = lanes.get(lane);
      if (!share) lanes.set(lane, (share = []));
      share.push(b);
    }
    await Promise.all([...lanes].map(([lane, share]) => this.sendAll(this.lanes[lane]!, share)));
  }

  /**
   * Sends batches in requests of about REQUEST_BYTES, one after another, each partition's batches
   * in order and at most one of them per request (kafkajs gives a request one batch a partition);
   * each batch learns the offset the broker gave its first record.
   */
  private async sendAll(sender: Sender, batches: readonly EncodedBatch[]): Promise<void> {
    for (let start = 0; start < batches.length; ) {
      const inRequest = new Set<string>();
      const byTopicBatches = new Map<string, EncodedBatch[]>();
      let bytes = 0;
      let end = start;
      for (; end < batches.length; end++) {
        const b = batches[end]!;
        const key = `${b.topic}:${b.partition}`;
        if (end > start && (inRequest.has(key) || bytes + b.size > REQUEST_BYTES)) break;
        inRequest.add(key);
        bytes += b.size;
        let list = byTopicBatches.get(b.topic);
        if (!list) byTopicBatches.set(b.topic, (list = []));
        list.push(b);
      }
      const topicMessages = [...byTopicBatches].map(([topic, messages]) => ({ topic, messages: messages as unknown as Message[] }));
      const res = await sender.sendBatch({ acks: -1, topicMessages, compression: this.compression });
      const base = new Map<string, number>();
      for (const m of res) base.set(`${m.topicName}:${m.partition}`, Number(m.baseOffset));
      for (let i = start; i < end; i++) {
        const b = batches[i]!;
        const offset = base.get(`${b.topic}:${b.partition}`);
        if (offset === undefined || Number.isNaN(offset)) throw new Error(`kafka: the broker's answer has no offset for ${b.topic}:${b.partition}`);
        b.baseOffset = offset;
        // Now past the partition's last record: what the transaction's commit waits to see readable.
        if (this.transactionalId !== undefined) {
          let ends = this.ends.get(b.topic);
          if (!ends) this.ends.set(b.topic, (ends = new Map()));
          ends.set(b.partition, Math.max(ends.get(b.partition) ?? 0, offset + b.count));
        }
      }
      start = end;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('kafka: the producer is closed');
  }
}

function byTopic(offsets: ReadonlyMap<string, number>, metadata?: ReadonlyMap<string, string>): { topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[] {
  const topics = new Map<string, { partition: number; offset: string; metadata: string | null }[]>();
  for (const [key, offset] of offsets) {
    const tp = parseTpKey(key);
    if (!tp) throw new Error(`kafka: "${key}" is not a topic:partition`);
    let list = topics.get(tp.topic);
    if (!list) topics.set(tp.topic, (list = []));
    list.push({ partition: tp.partition, offset: String(offset), metadata: metadata?.get(key) ?? null });
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}
