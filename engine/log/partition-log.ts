import type { LogRecord } from '../api/log.js';
import { decodeRecordAt, frameStarts } from './record-codec.js';

/*
 * A partition's committed records, kept as the encoded batches they were written as plus an index
 * of where each record starts: about 8 bytes of index per record and no long-lived objects, so a
 * log of millions of records costs the garbage collector nothing. Records are decoded when read;
 * those objects die young. Everything stays in memory for now; dropping old batches beyond a few
 * hundred MB (and reading them back from the segment file on demand) is the way to bound it.
 */
export class PartitionLog {
  private readonly chunks: Buffer[] = [];
  /** Per offset: which chunk, and where in it the record starts. */
  private chunkOf = new Uint32Array(1024);
  private startOf = new Uint32Array(1024);
  private count = 0;
  /** Committed length of the segment file (unused in memory). */
  bytes = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** The end offset: what the next record will get. */
  get length(): number {
    return this.count;
  }

  /** Makes every record of `chunk` (whole encoded records) readable. */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const starts = frameStarts(chunk, `${this.topic}:${this.partition}`);
    this.reserve(this.count + starts.length);
    const index = this.chunks.length;
    this.chunks.push(chunk);
    for (const start of starts) {
      this.chunkOf[this.count] = index;
      this.startOf[this.count] = start;
      this.count++;
    }
  }

  /** Records [from, to), clamped to what exists, in offset order. */
  slice(from: number, to: number): LogRecord[] {
    const end = Math.min(to, this.count);
    const out: LogRecord[] = [];
    for (let offset = Math.max(0, from); offset < end; offset++) {
      const chunk = this.chunks[this.chunkOf[offset] as number] as Buffer;
      out.push(decodeRecordAt(chunk, this.startOf[offset] as number, this.topic, this.partition, offset));
    }
    return out;
  }

  private reserve(n: number): void {
    if (n <= this.chunkOf.length) return;
    let size = this.chunkOf.length * 2;
    while (size < n) size *= 2;
    const chunkOf = new Uint32Array(size);
    chunkOf.set(this.chunkOf);
    const startOf = new Uint32Array(size);
    startOf.set(this.startOf);
    this.chunkOf = chunkOf;
    this.startOf = startOf;
  }
}
