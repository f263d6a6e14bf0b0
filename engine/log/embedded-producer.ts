import type { LogProducer, ProducedRecord, TopicPartition } from '../api/log.js';
import type { EmbeddedLog, PendingRecord } from './embedded-log.js';
import { Partitioner } from './partitioner.js';

/**
 * A producer of the embedded log. `send` partitions and buffers; the bytes are copied into the log
 * at flush, so buffers must not change between send and flush.
 *
 * With a transactionalId, records become visible only through `commitTransaction`: `flush` then
 * publishes nothing and resolves with no offsets (a Kafka transaction's records are not readable
 * before the commit either). Creating another producer with the same id fences this one off, as
 * Kafka does with zombie instances: its later commits fail.
 */
export class EmbeddedProducer implements LogProducer {
  private buffer: PendingRecord[] = [];
  private readonly partitioner = new Partitioner();
  private readonly epoch: number | undefined;
  private closed = false;

  constructor(
    private readonly log: EmbeddedLog,
    private readonly transactionalId?: string,
  ) {
    this.epoch = transactionalId === undefined ? undefined : log.fence(transactionalId);
  }

  send(records: readonly ProducedRecord[]): void {
    this.checkOpen();
    // Checked in full first, so a bad record leaves none of its batch buffered.
    const pending: PendingRecord[] = [];
    for (const r of records) {
      const n = this.log.partitionCount(r.topic);
      if (n === undefined) {
        throw new Error(`embedded log: cannot produce to topic "${r.topic}": it does not exist (topics are created before the topology runs)`);
      }
      let partition = r.partition;
      if (partition === undefined) partition = this.partitioner.partition(r.topic, r.key, n);
      else if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
        throw new Error(`embedded log: cannot produce to partition ${partition} of topic "${r.topic}": it has partitions 0..${n - 1}`);
      }
      if (!Number.isFinite(r.timestamp)) {
        throw new Error(`embedded log: cannot produce to topic "${r.topic}": timestamp ${r.timestamp} is not a number of milliseconds`);
      }
      pending.push({ record: r, partition });
    }
    for (const p of pending) this.buffer.push(p);
  }

  async flush(): Promise<(TopicPartition & { offset: number })[]> {
    this.checkOpen();
    if (this.transactionalId !== undefined) return [];
    const batch = this.take();
    // Even an empty flush goes through the log's queue: it must not resolve before earlier flushes.
    return this.log.append(batch);
  }

  async commitTransaction(groupId: string, offsets: ReadonlyMap<string, number>): Promise<void> {
    this.checkOpen();
    const batch = this.take();
    const { transactionalId, epoch } = this;
    const check =
      transactionalId === undefined || epoch === undefined
        ? undefined
        : () => {
            if (!this.log.isCurrent(transactionalId, epoch)) {
              throw new Error(`embedded log: producer "${transactionalId}" was fenced off by a newer producer with the same transactionalId; its transaction is aborted`);
            }
          };
    await this.log.append(batch, { groupId, offsets }, check);
  }

  async abortTransaction(): Promise<void> {
    this.buffer = [];
  }

  /** A plain producer flushes what it still holds (as Kafka's close does); a transactional one aborts. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.transactionalId === undefined && this.buffer.length > 0) await this.flush();
    } finally {
      this.buffer = [];
      this.closed = true;
    }
  }

  private take(): PendingRecord[] {
    const batch = this.buffer;
    this.buffer = [];
    return batch;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('embedded log: the producer is closed');
    this.log.checkOpen();
  }
}
