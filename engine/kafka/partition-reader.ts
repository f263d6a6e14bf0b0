import { randomBytes } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { tpKey, type LogRecord, type TopicPartition } from '../api/log.js';
import { onePartitionAssigner } from './assigners.js';
import { HEARTBEAT_MS, SESSION_TIMEOUT_MS } from './client.js';
import type { FetchedBatch } from './fetched-batch.js';
import { Signal } from './signal.js';

/** A read that sees nothing arrive for this long while records should be there fails, rather than hang. */
const STALL_MS = 30_000;
/** Records fetched ahead of the caller; fetching pauses (heartbeating) beyond this. */
const AHEAD = 20_000;

/**
 * Reads one partition sequentially from an offset, outside the application's group: the changelog
 * restore. kafkajs has no manual assignment, so this is the only member of a throwaway group
 * (nothing is ever committed in it; the log deletes it after) whose assignor
 * gives it exactly this partition; it seeks to the start offset when it joins, before its first
 * fetch. It reads read_committed: aborted records and transaction markers never show.
 *
 * `covered` is how far kafkajs has gone, including offsets it skipped (markers, aborted or
 * compacted records), so a read can tell "nothing more below the end offset" from "not fetched yet".
 */
export class PartitionReader {
  private buffer: LogRecord[] = [];
  /** Every readable record below this offset was delivered into the buffer (or handed out). */
  private covered: number;
  /** The offset the next read must ask for to continue this reader. */
  private next: number;
  private readonly signal = new Signal();
  private closed = false;
  private failure: Error | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly consumer: Consumer,
    /** Deleted by the log once this reader has left it: empty groups otherwise pile up on the broker. */
    readonly groupId: string,
    readonly tp: TopicPartition,
    offset: number,
  ) {
    this.covered = offset;
    this.next = offset;
  }

  static async open(kafka: Kafka, clientId: string, tp: TopicPartition, offset: number): Promise<PartitionReader> {
    const groupId = `${clientId}-reader-${randomBytes(6).toString('hex')}`;
    const consumer = kafka.consumer({
      groupId,
      partitionAssigners: [onePartitionAssigner(tp)],
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: HEARTBEAT_MS,
      maxWaitTimeInMs: 100,
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    const reader = new PartitionReader(consumer, groupId, tp, offset);
    // On every join (a rejoin would start over at the group's committed offset: there is none).
    consumer.on(consumer.events.GROUP_JOIN, () => consumer.seek({ ...tp, offset: String(reader.covered) }));
    consumer.on(consumer.events.CRASH, (e) => reader.fail(e.payload.error));
    // Batches of only markers or aborted records skip eachBatch; they still move the position.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.topic === tp.topic && e.payload.partition === tp.partition && e.payload.batchSize === 0) reader.advance(Number(e.payload.lastOffset) + 1);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: tp.topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => reader.onBatch(p) });
    } catch (e) {
      await consumer.disconnect().catch(() => undefined);
      throw e;
    }
    if (reader.failure) throw reader.failure;
    return reader;
  }

  /** True when a read from `offset` continues where this reader is. */
  continues(offset: number): boolean {
    return !this.closed && !this.failure && offset >= this.next && offset <= this.covered;
  }

  /** Up to `max` records from `offset`; [] once nothing readable is left below `end`. */
  read(offset: number, max: number, end: number): Promise<LogRecord[]> {
    const run = this.chain.then(() => this.readNow(offset, max, end));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Whether everything below `end` was read. */
  doneUpTo(end: number): boolean {
    return this.buffer.length === 0 && this.next >= end && this.covered >= end;
  }

  private async readNow(offset: number, max: number, end: number): Promise<LogRecord[]> {
    if (!this.continues(offset)) throw new Error(`reading ${tpKey(this.tp)}: offset ${offset} does not continue this reader (at ${this.next})`);
    let i = 0;
    while (i < this.buffer.length && this.buffer[i]!.offset < offset) i++;
    this.buffer.splice(0, i);
    this.next = offset;
    let last = this.covered;
    let since = Date.now();
    while (this.buffer.length === 0 && this.covered < end) {
      if (this.failure) throw this.failure;
      if (this.closed) throw new Error(`reading ${tpKey(this.tp)}: the reader was closed`);
      if (this.covered !== last) [last, since] = [this.covered, Date.now()];
      if (Date.now() - since > STALL_MS) {
        throw new Error(`reading ${tpKey(this.tp)} from offset ${offset}: no records arrived for ${STALL_MS / 1000} s, though the partition ends at ${end}`);
      }
      await this.signal.wait(200);
    }
    const out = this.buffer.splice(0, Math.max(0, max));
    if (out.length > 0) this.next = out[out.length - 1]!.offset + 1;
    this.signal.notify();
    return out;
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    if (isStale() || this.closed) return;
    // kafkajs's Batch is Duality's (fetched-batch.ts).
    for (const r of (batch as unknown as FetchedBatch).records(this.covered)) this.buffer.push(r);
    this.advance(Number(batch.lastOffset()) + 1);
    resolveOffset(batch.lastOffset());
    // Back-pressure: keep the group session alive while the caller works through the buffer.
    while (this.buffer.length >= AHEAD && !this.closed) {
      await this.signal.wait(HEARTBEAT_MS);
      await heartbeat();
    }
  }

  private advance(to: number): void {
    if (to > this.covered) this.covered = to;
    this.signal.notify();
  }

  private fail(e: Error): void {
    this.failure = new Error(`reading ${tpKey(this.tp)}: the consumer stopped: ${e.message}`, { cause: e });
    this.signal.notify();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signal.notify();
    await this.consumer.disconnect();
  }
}
