import kafkajs from './kafkajs.js';
import type { Kafka, Message, PartitionMetadata, Producer, RecordMetadata, TopicMessages, Transaction } from 'kafkajs';
import type { LogProducer, ProducedRecord, TopicPartition } from '../api/log.js';
import { Partitioner } from '../log/partitioner.js';
import { parseTpKey } from '../log/topic-state.js';
import { recordSize, RetriableError, sleep, toMessage } from './client.js';

const { Partitioners } = kafkajs;

/** Bytes per produce request: well below the broker's default message.max.bytes (1 MB) per partition batch. */
const REQUEST_BYTES = 512 * 1024;
/** Records per produce request, besides the bytes: small records (a word and a count) fill a request at about 16,000. */
const REQUEST_RECORDS = 50_000;
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

/** How long a committed transaction's records may take to become readable before that is an error. */
const VISIBLE_WAIT_MS = 10_000;

type Ack = TopicPartition & { offset: number };

type Sender = { sendBatch(batch: { acks: number; topicMessages: TopicMessages[] }): Promise<RecordMetadata[]> };

/**
 * A kafkajs producer behind the engine's buffer-then-flush interface. `send` buffers (it keeps the
 * records' Buffers until they are sent) and, without a transaction, sends each full request's
 * worth in the background; `flush` sends the rest with acks=-1 and resolves once the broker has
 * everything on every in-sync replica. Idempotent, so a retried request is not written twice.
 *
 * Partitions are chosen here, with the engine's Partitioner (Java's murmur2, so a key lands
 * where a Java producer would put it; the embedded log uses it too), because `flush` must answer each record's offset: a
 * response gives a base offset per partition, and a partition's records take consecutive offsets
 * in send order.
 *
 * With a transactionalId, the first record sent after a commit opens a Kafka transaction, and
 * records go out in the background into it, as without one; they become visible only through
 * `commitTransaction`, which waits for them, adds the consumed offsets (`sendOffsets`) and commits.
 * On any failure it aborts, so neither the records nor the offsets count.
 */
export class KafkaProducer implements LogProducer {
  private buffer: ProducedRecord[] = [];
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
   * Where the records sent since the last flush went, in send order; undefined when nobody asks
   * (the engine's producers): an object per record kept until the commit would be most of what the
   * garbage collector has to move.
   */
  private acks: Ack[] | undefined;
  /** The end offset, per topic and partition, of what the open transaction wrote: its commit waits until they are readable. */
  private ends = new Map<string, Map<number, number>>();
  /** The first send that failed: later flushes fail with it (a transaction's abort clears it). */
  private failure: unknown;

  constructor(
    kafka: Kafka,
    private readonly partitionsOf: (topic: string) => Promise<PartitionMetadata[]>,
    private readonly endOffsets: (topic: string) => Promise<number[]>,
    private readonly transactionalId?: string,
    offsets = true,
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
    }
    for (const r of records) this.buffer.push(r);
    if (this.sender === undefined && !this.committing) this.sender = this.sendBuffered();
  }

  async flush(): Promise<(TopicPartition & { offset: number })[]> {
    this.checkOpen();
    // A transaction's records are not readable before its commit: nothing to publish here.
    if (this.transactionalId !== undefined) return [];
    while (this.sender !== undefined) await this.sender;
    if (this.failure !== undefined) throw this.failure;
    const acks = this.acks ?? [];
    if (this.acks) this.acks = [];
    return acks;
  }

  /**
   * Records go out as Kafka's producer sends them: in the background, each round of requests
   * taking what was buffered while the round before it travelled. Under load requests grow (up to
   * REQUEST_BYTES); when idle a record leaves at once. kafkajs's idempotent producer has one
   * request in flight per broker, where Kafka's has five; so a plain producer sends through LANES
   * kafkajs producers side by side, each for a fixed share of the partitions (a partition's
   * records keep their order). Once a send fails, nothing after it is sent (it would overtake the
   * lost records): flushes and commits fail, and the engine replaces the producer.
   */
  private async sendBuffered(): Promise<void> {
    try {
      await this.ready;
      while (this.buffer.length > 0 && this.failure === undefined) {
        const records = this.buffer;
        this.buffer = [];
        const partitions = await this.choosePartitions(records);
        if (this.transactionalId !== undefined) {
          this.txn ??= await this.producer.transaction();
          await this.sendAll(this.txn, records, partitions);
        } else {
          const acks = await this.sendOverLanes(records, partitions);
          if (acks) for (const ack of acks) this.acks!.push(ack);
        }
      }
    } catch (e) {
      this.failure ??= e;
    } finally {
      this.sender = undefined;
    }
  }

  async commitTransaction(groupId: string, offsets: ReadonlyMap<string, number>): Promise<void> {
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
        if (offsets.size > 0) await txn.sendOffsets({ consumerGroupId: groupId, topics: byTopic(offsets) });
        await txn.commit();
      } catch (e) {
        await txn.abort().catch(() => undefined);
        throw e;
      }
      await this.untilVisible(ends);
    } catch (e) {
      throw new Error(`kafka: the transaction of "${this.transactionalId}" failed: ${(e as Error).message}`, { cause: e });
    } finally {
      this.committing = false;
      if (this.buffer.length > 0 && this.sender === undefined && !this.closed) this.sender = this.sendBuffered();
    }
  }

  /**
   * The commit returns once the coordinator has decided; the markers that make the records
   * readable (read_committed) land on the partitions a moment later. Waiting for them keeps the
   * contract (visible when the commit resolves) and the checkpoints the engine takes right after.
   */
  private async untilVisible(need: ReadonlyMap<string, ReadonlyMap<number, number>>): Promise<void> {
    const deadline = Date.now() + VISIBLE_WAIT_MS;
    for (const [topic, parts] of need) {
      for (;;) {
        const ends = await this.endOffsets(topic);
        if ([...parts].every(([p, end]) => (ends[p] ?? 0) >= end)) break;
        if (Date.now() > deadline) throw new RetriableError(`kafka: the transaction of "${this.transactionalId}" committed, but its records in ${topic} did not become readable within ${VISIBLE_WAIT_MS / 1000} s`);
        await sleep(5);
      }
    }
  }

  /** Drops what was sent since the last commit: the buffer, and the open transaction, aborted. */
  async abortTransaction(): Promise<void> {
    this.buffer = [];
    while (this.sender !== undefined) await this.sender;
    this.buffer = [];
    if (this.acks) this.acks = [];
    this.ends = new Map();
    this.failure = undefined;
    const txn = this.txn;
    this.txn = undefined;
    await txn?.abort();
  }

  /** A plain producer flushes what it still holds (as Kafka's close does); a transactional one aborts it. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      // What a failed producer still holds is lost already: the engine reprocesses it.
      if (this.transactionalId === undefined && this.failure === undefined) await this.flush();
      if (this.transactionalId !== undefined) await this.abortTransaction().catch(() => undefined);
    } finally {
      this.buffer = [];
      this.closed = true;
      await Promise.all(this.lanes.map((p) => p.disconnect()));
    }
  }

  /** Sends each lane its records, side by side; answers where each record went, in their order. */
  private async sendOverLanes(records: readonly ProducedRecord[], partitions: readonly number[]): Promise<Ack[] | undefined> {
    // Per lane: its records, their partitions, and where they stand among all.
    const lanes = new Map<number, { records: ProducedRecord[]; partitions: number[]; at: number[] }>();
    for (let i = 0; i < records.length; i++) {
      const lane = laneOf(records[i]!.topic, partitions[i]!);
      let share = lanes.get(lane);
      if (!share) lanes.set(lane, (share = { records: [], partitions: [], at: [] }));
      share.records.push(records[i]!);
      share.partitions.push(partitions[i]!);
      if (this.acks) share.at.push(i);
    }
    const out = this.acks && new Array<Ack>(records.length);
    await Promise.all(
      [...lanes].map(async ([lane, share]) => {
        const acks = await this.sendAll(this.lanes[lane]!, share.records, share.partitions);
        if (out && acks) share.at.forEach((i, j) => (out[i] = acks[j]!));
      }),
    );
    return out;
  }

  /** Sends in requests of at most REQUEST_BYTES; answers where each record went when the producer keeps that. */
  private async sendAll(sender: Sender, records: readonly ProducedRecord[], partitions: readonly number[]): Promise<Ack[] | undefined> {
    const out = this.acks && new Array<Ack>(records.length);
    // Requests go one after another, so each partition's records keep their order.
    for (let start = 0; start < records.length; ) {
      let end = start;
      let bytes = 0;
      for (; end < records.length && end - start < REQUEST_RECORDS; end++) {
        const size = recordSize(records[end]!);
        if (end > start && bytes + size > REQUEST_BYTES) break;
        bytes += size;
      }
      // Records come in runs of one topic: the list is looked up when the topic changes.
      const byTopicMessages = new Map<string, Message[]>();
      let topic: string | undefined;
      let list: Message[] = [];
      for (let i = start; i < end; i++) {
        const r = records[i]!;
        if (r.topic !== topic) {
          topic = r.topic;
          const known = byTopicMessages.get(topic);
          if (known) list = known;
          else byTopicMessages.set(topic, (list = []));
        }
        list.push(toMessage(r, partitions[i]!));
      }
      const res = await sender.sendBatch({ acks: -1, topicMessages: [...byTopicMessages].map(([topic, messages]) => ({ topic, messages })) });
      // A partition's records take consecutive offsets from the base offset the broker answers.
      const next = new Map<string, number[]>();
      for (const m of res) {
        let byPartition = next.get(m.topicName);
        if (!byPartition) next.set(m.topicName, (byPartition = []));
        byPartition[m.partition] = Number(m.baseOffset);
      }
      let byPartition: number[] | undefined;
      topic = undefined;
      for (let i = start; i < end; i++) {
        if (records[i]!.topic !== topic) {
          topic = records[i]!.topic;
          byPartition = next.get(topic);
        }
        const partition = partitions[i]!;
        const offset = byPartition?.[partition];
        if (offset === undefined || Number.isNaN(offset)) throw new Error(`kafka: the broker's answer has no offset for ${topic}:${partition}`);
        if (out) out[i] = { topic, partition, offset };
        byPartition![partition] = offset + 1;
      }
      // Now past each partition's last record: what the transaction's commit waits to see readable.
      if (this.transactionalId !== undefined) {
        for (const [topic, byPartition] of next) {
          let ends = this.ends.get(topic);
          if (!ends) this.ends.set(topic, (ends = new Map()));
          byPartition.forEach((end, partition) => ends.set(partition, Math.max(ends.get(partition) ?? 0, end)));
        }
      }
      start = end;
    }
    return out;
  }

  /** Each record's partition: the one it names, else Kafka's (murmur2 of the key, round-robin without one). */
  private async choosePartitions(records: readonly ProducedRecord[]): Promise<number[]> {
    const counts = new Map<string, number>();
    for (const r of records) if (!counts.has(r.topic)) counts.set(r.topic, (await this.partitionsOf(r.topic)).length);
    return records.map((r) => {
      const n = counts.get(r.topic)!;
      if (r.partition === undefined) return this.partitioner.partition(r.topic, r.key, n);
      if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= n) {
        throw new Error(`kafka: cannot produce to partition ${r.partition} of topic "${r.topic}": it has partitions 0..${n - 1}`);
      }
      return r.partition;
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('kafka: the producer is closed');
  }
}

function byTopic(offsets: ReadonlyMap<string, number>): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const topics = new Map<string, { partition: number; offset: string }[]>();
  for (const [key, offset] of offsets) {
    const tp = parseTpKey(key);
    if (!tp) throw new Error(`kafka: "${key}" is not a topic:partition`);
    let list = topics.get(tp.topic);
    if (!list) topics.set(tp.topic, (list = []));
    list.push({ partition: tp.partition, offset: String(offset) });
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}
