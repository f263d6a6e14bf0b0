import type { LogProducer, ProducedRecord, TopicPartition } from '../api/log.js';
import type { EmbeddedLog, PartitionWrite, RecordMetadata } from './embedded-log.js';
import type { PartitionLog } from './partition-log.js';
import { Partitioner } from './partitioner.js';
import { RecordWriter } from './record-codec.js';

/** The records sent to one partition since the last flush or commit, already encoded. */
interface Batch {
  readonly log: PartitionLog;
  readonly writer: RecordWriter;
}

/**
 * A producer of the embedded log. `send` partitions and encodes at once (so a record's buffers may
 * change or die right after it); the encoded batches join the log at flush or commit.
 *
 * With a transactionalId, records become visible only through `commitTransaction`: `flush` then
 * publishes nothing and resolves with no offsets (a Kafka transaction's records are not readable
 * before the commit either). Creating another producer with the same id fences this one off, as
 * Kafka does with zombie instances: its later commits fail.
 */
export class EmbeddedProducer implements LogProducer {
  /** Per partition written to, kept across flushes so the encoding buffers are reused. */
  private readonly batches = new Map<PartitionLog, Batch>();
  private last: Batch | undefined;
  /** Partitions with records since the last flush or commit. */
  private touched: Batch[] = [];
  /** For flush's answer (plain producers only): the batch of each record, in send order. */
  private order: Batch[] = [];
  private readonly partitioner = new Partitioner();
  private readonly epoch: number | undefined;
  private closed = false;

  constructor(
    private readonly log: EmbeddedLog,
    private readonly transactionalId?: string,
  ) {
    this.epoch = transactionalId === undefined ? undefined : log.fence(transactionalId);
  }

  /** Fencing happened at construction: nothing to wait for. */
  async init(): Promise<void> {
    this.checkOpen();
  }

  send(records: readonly ProducedRecord[]): void {
    this.checkOpen();
    if (records.length === 1) return this.add(records[0]!, this.target(records[0]!));
    // Checked in full first, so a bad record leaves none of its batch buffered.
    const targets = records.map((r) => this.target(r));
    for (let i = 0; i < records.length; i++) this.add(records[i]!, targets[i]!);
  }

  /** The partition a record goes to, or an error saying why it cannot be sent. */
  private target(r: ProducedRecord): PartitionLog {
    const partitions = this.log.topicPartitions(r.topic);
    if (partitions === undefined) {
      throw new Error(`embedded log: cannot produce to topic "${r.topic}": it does not exist (topics are created before the topology runs)`);
    }
    const n = partitions.length;
    let partition = r.partition;
    if (partition === undefined) partition = this.partitioner.partition(r.topic, r.key, n);
    else if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
      throw new Error(`embedded log: cannot produce to partition ${partition} of topic "${r.topic}": it has partitions 0..${n - 1}`);
    }
    if (!Number.isFinite(r.timestamp)) {
      throw new Error(`embedded log: cannot produce to topic "${r.topic}": timestamp ${r.timestamp} is not a number of milliseconds`);
    }
    return partitions[partition]!;
  }

  private add(r: ProducedRecord, log: PartitionLog): void {
    // Records come in runs to one partition (a sink's output, a changelog flush): look up once per run.
    let batch = this.last;
    if (batch === undefined || batch.log !== log) {
      batch = this.batches.get(log);
      if (batch === undefined) {
        batch = { log, writer: new RecordWriter() };
        this.batches.set(log, batch);
      }
      this.last = batch;
    }
    if (batch.writer.count === 0) this.touched.push(batch);
    batch.writer.add(r.key, r.value, r.timestamp, r.headers);
    if (this.transactionalId === undefined) this.order.push(batch);
  }

  async flush(): Promise<(TopicPartition & { offset: number })[]> {
    this.checkOpen();
    if (this.transactionalId !== undefined) return [];
    const order = this.order;
    this.order = [];
    const writes = this.take();
    // Even an empty flush goes through the log's queue: it must not resolve before earlier flushes.
    const bases = await this.log.append(writes).finally(() => this.giveBack(writes));
    const next = new Map<PartitionLog, number>();
    writes.forEach((w, i) => next.set(w.log, bases[i]!));
    return order.map((b): RecordMetadata => {
      const offset = next.get(b.log)!;
      next.set(b.log, offset + 1);
      return { topic: b.log.topic, partition: b.log.partition, offset };
    });
  }

  async commitTransaction(groupId: string, offsets: ReadonlyMap<string, number>, metadata?: ReadonlyMap<string, string>): Promise<void> {
    this.checkOpen();
    const writes = this.take();
    const { transactionalId, epoch } = this;
    const check =
      transactionalId === undefined || epoch === undefined
        ? undefined
        : () => {
            if (!this.log.isCurrent(transactionalId, epoch)) {
              throw new Error(`embedded log: producer "${transactionalId}" was fenced off by a newer producer with the same transactionalId; its transaction is aborted`);
            }
          };
    await this.log.append(writes, { groupId, offsets, metadata }, check).finally(() => this.giveBack(writes));
  }

  async abortTransaction(): Promise<void> {
    this.drop();
  }

  /** A plain producer flushes what it still holds (as Kafka's close does); a transactional one aborts. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.transactionalId === undefined && this.touched.length > 0) await this.flush();
    } finally {
      this.drop();
      this.batches.clear();
      this.last = undefined;
      this.closed = true;
    }
  }

  /**
   * The encoded batches, for the log to append. A persisted log only writes them out, so the
   * encoding buffers are lent and reused; the in-memory log keeps what it is given, so it gets copies.
   */
  private take(): PartitionWrite[] {
    const lend = !this.log.keepsChunks;
    const writes = this.touched.map((b) => ({ log: b.log, count: b.writer.count, chunks: lend ? b.writer.lend() : [b.writer.take()] }));
    this.touched = [];
    return writes;
  }

  private giveBack(writes: readonly PartitionWrite[]): void {
    if (this.log.keepsChunks) return;
    for (const w of writes) this.batches.get(w.log)?.writer.giveBack(w.chunks);
  }

  private drop(): void {
    for (const b of this.touched) b.writer.clear();
    this.touched = [];
    this.order = [];
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('embedded log: the producer is closed');
    this.log.checkOpen();
  }
}
