import type { LogRecord } from '../api/log.js';
import { IDLE_DISABLED } from '../api/topology-graph.js';

/**
 * Records a partition buffers before it is paused: a task waiting for one partition must not
 * buffer the others without bound (Kafka Streams' buffered.records.per.partition, 1,000 there).
 * Higher here because kafkajs drops what it fetched of a paused partition and fetches it again
 * after the resume, waiting out a fetch in flight first: paused at 1,000, the stream-table
 * benchmark (`--quick`, a table of 10,000 rows read before the stream) took 0.68 s instead of 0.26 s.
 */
export const MAX_BUFFERED = 10_000;

/** One input partition's fetched records that the task has not processed yet (Kafka Streams' RecordQueue). */
interface RecordQueue {
  readonly key: string;
  records: LogRecord[];
  head: number;
  /** The timestamp of records[head]. */
  headTime: number;
}

/**
 * A binary heap of the queues that hold records, by head timestamp, with java.util.PriorityQueue's
 * sift rules, so that ties go as in Kafka Streams (of two partitions with equal head times, the
 * one that was not just taken from goes next).
 */
class ByHeadTime {
  private readonly heap: RecordQueue[] = [];

  offer(q: RecordQueue): void {
    const heap = this.heap;
    let k = heap.length;
    heap.push(q);
    while (k > 0) {
      const parent = (k - 1) >>> 1;
      const e = heap[parent]!;
      if (q.headTime >= e.headTime) break;
      heap[k] = e;
      k = parent;
    }
    heap[k] = q;
  }

  poll(): RecordQueue | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    const n = heap.length;
    if (n === 0 || last === undefined) return top;
    let k = 0;
    const half = n >>> 1;
    while (k < half) {
      let child = 2 * k + 1;
      let c = heap[child]!;
      const right = child + 1;
      if (right < n && c.headTime > heap[right]!.headTime) c = heap[(child = right)]!;
      if (last.headTime <= c.headTime) break;
      heap[k] = c;
      k = child;
    }
    heap[k] = last;
    return top;
  }

  clear(): void {
    this.heap.length = 0;
  }
}

/**
 * The input of a task that reads several partitions (a join's two topics, merged streams): their
 * records buffered per partition, handed out lowest head timestamp first, once the task is ready
 * (Kafka Streams' PartitionGroup, KIP-353 and KIP-695). A task is ready when every partition has
 * records buffered; a partition without any holds it up while the log is known to hold records of
 * it past what was fetched, or while it is not known yet; one known to be at its end holds it up
 * for `maxIdleMs` at most (0: not at all; IDLE_DISABLED: nothing holds it up).
 */
export class PartitionGroup {
  private readonly queues = new Map<string, RecordQueue>();
  private readonly byTime = new ByHeadTime();
  /** Per partition known to be at its end while empty: when waiting for it stops. */
  private readonly idleDeadlines = new Map<string, number>();
  /** Records buffered across the partitions. */
  buffered = 0;

  constructor(
    keys: readonly string[],
    private readonly maxIdleMs: number,
    private readonly lagOf: (key: string) => number | undefined,
    private readonly timestampOf: (record: LogRecord) => number,
  ) {
    for (const key of keys) this.queues.set(key, { key, records: [], head: 0, headTime: -1 });
  }

  /** Buffers a fetched record of one of the partitions; returns how many its partition holds now. */
  add(key: string, record: LogRecord): number {
    const q = this.queues.get(key)!;
    const size = q.records.length - q.head;
    if (size === 0) {
      q.records = [record];
      q.head = 0;
      q.headTime = this.timestampOf(record);
      this.byTime.offer(q);
    } else q.records.push(record);
    this.buffered++;
    return size + 1;
  }

  /** Whether the task may take its next record now (StreamTask#isProcessable). */
  ready(now: number): boolean {
    if (this.buffered === 0) return false;
    if (this.maxIdleMs === IDLE_DISABLED) return true;
    for (const q of this.queues.values()) {
      if (q.head < q.records.length) {
        this.idleDeadlines.delete(q.key);
        continue;
      }
      const lag = this.lagOf(q.key);
      if (lag === undefined || lag > 0) {
        this.idleDeadlines.delete(q.key);
        return false;
      }
      let deadline = this.idleDeadlines.get(q.key);
      if (deadline === undefined) this.idleDeadlines.set(q.key, (deadline = now + this.maxIdleMs));
      if (now < deadline) return false;
    }
    return true;
  }

  /** The buffered record with the lowest timestamp, out of its buffer; undefined when none is buffered. */
  next(): { key: string; record: LogRecord; left: number } | undefined {
    const q = this.byTime.poll();
    if (!q) return undefined;
    const record = q.records[q.head]!;
    q.records[q.head++] = undefined as unknown as LogRecord;
    this.buffered--;
    const left = q.records.length - q.head;
    if (left > 0) {
      // Taken records leave holes at the front: dropped once they are half the array.
      if (q.head >= 1024 && q.head * 2 >= q.records.length) {
        q.records = q.records.slice(q.head);
        q.head = 0;
      }
      q.headTime = this.timestampOf(q.records[q.head]!);
      this.byTime.offer(q);
    } else {
      q.records = [];
      q.head = 0;
    }
    return { key: q.key, record, left };
  }

  /** The offset of a partition's first record not processed yet, while it has records buffered. */
  headOffset(key: string): number | undefined {
    const q = this.queues.get(key);
    return q && q.head < q.records.length ? q.records[q.head]!.offset : undefined;
  }

  /** Drops what is buffered: the records are fetched again from the committed offsets. */
  clear(): void {
    for (const q of this.queues.values()) {
      q.records = [];
      q.head = 0;
    }
    this.byTime.clear();
    this.idleDeadlines.clear();
    this.buffered = 0;
  }
}
