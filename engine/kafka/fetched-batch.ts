/**
 * kafkajs's Batch (`src/consumer/batch.js`): one partition's part of a fetch response, with the
 * records a consumer may see. kafkajs decodes every record of it at once; this one keeps the
 * record batches as bytes (record-set.ts) and filters whole batches: those before the fetched
 * offset, transaction markers (control batches) and, reading read_committed, the batches of
 * aborted transactions. The engine takes the records it keeps through a `RecordCursor`, one poll
 * at a time; `messages` stays for kafkajs and its other users: its length, and its records as
 * kafkajs's objects when iterated. Every method answers what kafkajs's Batch answers for the same
 * fetch (a test compares them).
 *
 * Aborted transactions are dropped as Kafka's Java consumer drops them: the broker lists them in
 * the order they ended, not the order they began, so they are sorted by first offset, and every
 * transaction that has begun by a batch's last offset counts (kafkajs took them in list order, one
 * per record, which handed out records of aborted transactions when several producers of one
 * partition were aborted at once: our repartition topics under exactly_once after a SIGKILL).
 *
 * engine/kafka/kafkajs.ts puts this class in Node's module cache in place of kafkajs's, and
 * `decodeRecordSet` in place of its `decodeMessages`, before kafkajs loads.
 */
import type { LogRecord } from '../api/log.js';
import { countFrom, eachOffset, isAbortMarker, kafkajsMessages, RecordCursor, type KafkajsMessage, type RecordBatch } from './record-set.js';

/** What kafkajs's fetch gives a Batch: a partition of the response. */
interface PartitionData {
  readonly partition: number;
  readonly highWatermark: string;
  /** Fetch v4 on; -1 when the broker does not know it. */
  readonly lastStableOffset?: string;
  readonly abortedTransactions?: readonly { readonly producerId: string; readonly firstOffset: string }[];
  readonly messages: readonly RecordBatch[];
}

/** The first offset at or after `from` in a batch; undefined when it has none. */
function firstFrom(b: RecordBatch, from: number): number | undefined {
  let first: number | undefined;
  eachOffset(b, (offset) => {
    if (offset < from) return true;
    first = offset;
    return false;
  });
  return first;
}

/** The last record's offset in a batch (compaction may have removed the record at its last offset). */
function lastOf(b: RecordBatch): number | undefined {
  let last: number | undefined;
  eachOffset(b, (offset) => void (last = offset));
  return last;
}

/** `batch.messages`: how many records the batch hands out, and (iterated) those records as kafkajs's objects. */
export class FetchedMessages implements Iterable<KafkajsMessage> {
  constructor(
    readonly length: number,
    private readonly kept: readonly RecordBatch[],
    private readonly from: number,
  ) {}

  *[Symbol.iterator](): Iterator<KafkajsMessage> {
    for (const b of this.kept) {
      for (const m of kafkajsMessages(b)) if (Number(m.offset) >= this.from) yield m;
    }
  }
}

export class FetchedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  /**
   * Where a read_committed reader's partition ends as of this fetch: the last stable offset (below
   * any open transaction), else the high watermark (Kafka's `currentLag` counts from it).
   */
  readonly end: number;
  readonly fetchedOffset: string;
  /** The batches whose records are handed out, in offset order. */
  readonly kept: readonly RecordBatch[];
  readonly messages: FetchedMessages;
  private readonly from: number;
  /** Batches with records at or after the fetched offset, markers and aborted ones included (kafkajs's messagesWithinOffset). */
  private readonly within: readonly RecordBatch[];
  private readonly rawCount: number;
  private first: string | null | undefined;
  private last: string | undefined;

  constructor(topic: string, fetchedOffset: string, partitionData: PartitionData) {
    this.topic = topic;
    this.partition = partitionData.partition;
    this.highWatermark = partitionData.highWatermark;
    const stable = Number(partitionData.lastStableOffset ?? -1);
    this.end = stable >= 0 ? stable : Number(partitionData.highWatermark);
    this.fetchedOffset = fetchedOffset;
    const from = (this.from = Number(fetchedOffset));
    const batches = partitionData.messages;
    const aborted = [...(partitionData.abortedTransactions ?? [])]
      .map((t) => ({ producerId: Number(t.producerId), firstOffset: Number(t.firstOffset) }))
      .sort((a, b) => a.firstOffset - b.firstOffset);
    const abortedProducers = new Set<number>();
    const within: RecordBatch[] = [];
    const kept: RecordBatch[] = [];
    let rawCount = 0;
    let visible = 0;
    for (const b of batches) {
      rawCount += b.count;
      const n = countFrom(b, from);
      if (n === 0) continue;
      within.push(b);
      while (aborted.length > 0 && aborted[0]!.firstOffset <= b.lastOffset) abortedProducers.add(aborted.shift()!.producerId);
      if (b.control) {
        if (isAbortMarker(b)) abortedProducers.delete(b.producerId);
        continue;
      }
      if (b.transactional && abortedProducers.has(b.producerId)) continue;
      kept.push(b);
      visible += n;
    }
    this.within = within;
    this.kept = kept;
    this.rawCount = rawCount;
    this.messages = new FetchedMessages(visible, kept, from);
  }

  /** The records this batch hands out from `from` on (the fetched offset by default), decoded as they are taken. */
  cursor(from = this.from): RecordCursor {
    return new RecordCursor(this.topic, this.partition, this.kept, Math.max(from, this.from));
  }

  /** Every record it hands out, decoded now. */
  records(from = this.from): LogRecord[] {
    const out: LogRecord[] = [];
    const c = this.cursor(from);
    c.next(out, c.remaining);
    return out;
  }

  isEmpty(): boolean {
    return this.messages.length === 0;
  }

  isEmptyIncludingFiltered(): boolean {
    return this.within.length === 0;
  }

  isEmptyControlRecord(): boolean {
    return this.isEmpty() && this.within.some((b) => b.control);
  }

  /** Records came, but none to hand out: markers, aborted or compacted records. */
  isEmptyDueToFiltering(): boolean {
    return this.isEmpty() && this.rawCount > 0;
  }

  isEmptyDueToLogCompactedMessages(): boolean {
    return this.rawCount > 0 && this.isEmptyIncludingFiltered();
  }

  firstOffset(): string | null {
    if (this.first === undefined) {
      const b = this.within[0];
      const offset = b && firstFrom(b, this.from);
      this.first = offset === undefined ? null : String(offset);
    }
    return this.first;
  }

  /** The last record's offset at or after the fetched one, markers included. */
  lastOffset(): string {
    if (this.isEmptyDueToLogCompactedMessages()) return this.fetchedOffset;
    if (this.isEmptyIncludingFiltered()) return String(BigInt(this.highWatermark) - 1n);
    this.last ??= String(lastOf(this.within[this.within.length - 1]!));
    return this.last;
  }

  offsetLag(): string {
    return String(BigInt(this.highWatermark) - 1n - BigInt(this.lastOffset()));
  }

  offsetLagLow(): string {
    if (this.isEmptyIncludingFiltered()) return '0';
    return String(BigInt(this.highWatermark) - 1n - BigInt(this.firstOffset()!));
  }
}
