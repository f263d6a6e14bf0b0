import kafkajs from './kafkajs.js';
import type { Kafka, Message, PartitionMetadata, Producer, RecordMetadata, TopicMessages } from 'kafkajs';
import type { LogProducer, ProducedRecord, TopicPartition } from '../api/log.js';
import { parseTpKey } from '../log/topic-state.js';
import { recordSize, RetriableError, sleep, toMessage } from './client.js';

const { Partitioners } = kafkajs;

/** Bytes per produce request: well below the broker's default message.max.bytes (1 MB) per partition batch. */
const REQUEST_BYTES = 512 * 1024;
/**
 * Records per produce request. kafkajs groups a request's records by partition copying the list
 * at each record, so its cost per record grows with the request (measured: 1.4 µs a record at
 * 1,000 a request, 5.1 µs at 13,800).
 */
const REQUEST_RECORDS = 1000;
/** How long a committed transaction's records may take to become readable before that is an error. */
const VISIBLE_WAIT_MS = 10_000;

type Sender = { sendBatch(batch: { acks: number; topicMessages: TopicMessages[] }): Promise<RecordMetadata[]> };

/**
 * A kafkajs producer behind the engine's buffer-then-flush interface. `send` only buffers (it keeps
 * the records' Buffers until then); `flush` sends everything with acks=-1 and resolves once the
 * broker has it on every in-sync replica. Idempotent, so a retried request is not written twice.
 *
 * Partitions are chosen here, with kafkajs's DefaultPartitioner (Java's murmur2, so a key lands
 * where a Java producer would put it), because `flush` must answer each record's offset: a
 * response gives a base offset per partition, and a partition's records take consecutive offsets
 * in send order.
 *
 * With a transactionalId, records become visible only through `commitTransaction`, which opens a
 * Kafka transaction, sends them, adds the consumed offsets (`sendOffsets`) and commits; on any
 * failure it aborts, so neither the records nor the offsets count.
 */
export class KafkaProducer implements LogProducer {
  private buffer: ProducedRecord[] = [];
  private readonly producer: Producer;
  private readonly ready: Promise<void>;
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    kafka: Kafka,
    private readonly partitionsOf: (topic: string) => Promise<PartitionMetadata[]>,
    private readonly endOffsets: (topic: string) => Promise<number[]>,
    private readonly transactionalId?: string,
  ) {
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
      ...(transactionalId !== undefined ? { transactionalId } : {}),
    });
    // Connected at once. A transactional producer also registers its id (InitProducerId, which
    // kafkajs sends only at the first transaction: an empty one, aborted): that fences older
    // producers of the id and settles their open transaction, which a restore reading
    // read_committed would otherwise wait behind.
    const producer = this.producer;
    this.ready = (async () => {
      await producer.connect();
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
  }

  async flush(): Promise<(TopicPartition & { offset: number })[]> {
    this.checkOpen();
    // A transaction's records are not readable before its commit: nothing to publish here.
    if (this.transactionalId !== undefined) return [];
    const records = this.buffer;
    this.buffer = [];
    // After the flushes before it: resolving means everything sent so far is durable, not just these.
    const run = this.tail.then(async () => {
      await this.ready;
      return this.sendAll(this.producer, records);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async commitTransaction(groupId: string, offsets: ReadonlyMap<string, number>): Promise<void> {
    this.checkOpen();
    if (this.transactionalId === undefined) throw new Error('kafka: commitTransaction needs a producer created with a transactionalId');
    const records = this.buffer;
    this.buffer = [];
    if (records.length === 0 && offsets.size === 0) return;
    await this.ready;
    const txn = await this.producer.transaction();
    let acks: (TopicPartition & { offset: number })[] = [];
    try {
      acks = await this.sendAll(txn, records);
      if (offsets.size > 0) await txn.sendOffsets({ consumerGroupId: groupId, topics: byTopic(offsets) });
      await txn.commit();
    } catch (e) {
      // An abort that fails too leaves the outcome to the next producer of this id, whose init
      // aborts the transaction unless the commit had gone through.
      await txn.abort().catch(() => undefined);
      throw new Error(`kafka: the transaction of "${this.transactionalId}" failed: ${(e as Error).message}`, { cause: e });
    }
    await this.untilVisible(acks);
  }

  /**
   * The commit returns once the coordinator has decided; the markers that make the records
   * readable (read_committed) land on the partitions a moment later. Waiting for them keeps the
   * contract (visible when the commit resolves) and the checkpoints the engine takes right after.
   */
  private async untilVisible(acks: readonly (TopicPartition & { offset: number })[]): Promise<void> {
    const need = new Map<string, Map<number, number>>();
    for (const a of acks) {
      const parts = need.get(a.topic) ?? new Map<number, number>();
      parts.set(a.partition, Math.max(parts.get(a.partition) ?? 0, a.offset + 1));
      need.set(a.topic, parts);
    }
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

  /** Nothing reaches the broker before a commit, so aborting is dropping the buffer. */
  async abortTransaction(): Promise<void> {
    this.buffer = [];
  }

  /** A plain producer flushes what it still holds (as Kafka's close does); a transactional one drops it. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.transactionalId === undefined && this.buffer.length > 0) await this.flush();
    } finally {
      this.buffer = [];
      this.closed = true;
      await this.producer.disconnect();
    }
  }

  private async sendAll(sender: Sender, records: readonly ProducedRecord[]): Promise<(TopicPartition & { offset: number })[]> {
    const partitions = await this.choosePartitions(records);
    const out: (TopicPartition & { offset: number })[] = [];
    // Requests go one after another, so each partition's records keep their order.
    for (let start = 0; start < records.length; ) {
      let end = start;
      let bytes = 0;
      while (end < records.length && end - start < REQUEST_RECORDS && (end === start || bytes + recordSize(records[end]!) <= REQUEST_BYTES)) bytes += recordSize(records[end++]!);
      const byTopicMessages = new Map<string, Message[]>();
      for (let i = start; i < end; i++) {
        const r = records[i]!;
        let list = byTopicMessages.get(r.topic);
        if (!list) byTopicMessages.set(r.topic, (list = []));
        list.push(toMessage(r, partitions[i]!));
      }
      const res = await sender.sendBatch({ acks: -1, topicMessages: [...byTopicMessages].map(([topic, messages]) => ({ topic, messages })) });
      const next = new Map(res.map((m) => [`${m.topicName}:${m.partition}`, Number(m.baseOffset)]));
      for (let i = start; i < end; i++) {
        const r = records[i]!;
        const key = `${r.topic}:${partitions[i]}`;
        const offset = next.get(key);
        if (offset === undefined || Number.isNaN(offset)) throw new Error(`kafka: the broker's answer has no offset for ${key}`);
        out.push({ topic: r.topic, partition: partitions[i]!, offset });
        next.set(key, offset + 1);
      }
      start = end;
    }
    return out;
  }

  private async choosePartitions(records: readonly ProducedRecord[]): Promise<number[]> {
    const meta = new Map<string, PartitionMetadata[]>();
    for (const r of records) if (!meta.has(r.topic)) meta.set(r.topic, await this.partitionsOf(r.topic));
    return records.map((r) => {
      const partitionMetadata = meta.get(r.topic)!;
      if (r.partition === undefined) return this.partitioner({ topic: r.topic, partitionMetadata, message: { key: r.key, value: r.value } });
      if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= partitionMetadata.length) {
        throw new Error(`kafka: cannot produce to partition ${r.partition} of topic "${r.topic}": it has partitions 0..${partitionMetadata.length - 1}`);
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
