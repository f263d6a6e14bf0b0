import type { LogRecord } from '../api/log.js';
import { dataView, decodeRecordAt, FIXED, frameLength } from './record-codec.js';

/** Reads bytes of a partition's segment file: `length` at `position`, fewer only at its end. */
export type SegmentReader = (position: number, length: number) => Buffer;

/** One record in this many has its byte position kept; finding any other scans at most this many frames. */
const INDEX_STRIDE = 64;
/** Bytes read from a segment file at once: a poll's worth of small records, and short-lived. */
const READ_BLOCK = 64 << 10;

/*
 * A partition's committed records, found through a sparse index of byte positions (one number per
 * INDEX_STRIDE records) with no objects per record, so a log of millions of records costs the
 * garbage collector nothing. Records are decoded when read; those objects die young.
 *
 * In memory, the records are the encoded chunks they were appended as. A partition with a segment
 * file keeps none of them: reads read the file, a block at a time, from the page cache nearly
 * always (what consumers read was mostly written moments ago), so memory does not grow with the
 * log, and the blocks, like the records decoded from them, die young. Readers go forward through
 * a partition, so the position where the last read ended is kept too: a sequential read never
 * searches.
 */
export class PartitionLog {
  private count = 0;
  /** The committed length of the segment: where the next chunk goes. */
  bytes = 0;
  private index = new Float64Array(64);
  /** The records, as appended, when there is no segment file to read them from. */
  private readonly chunks: Buffer[] = [];
  private readonly chunkViews: DataView[] = [];
  private readonly chunkStarts: number[] = [];
  /** The chunk `locate` found last: the first one tried next time. */
  private lastChunk = 0;
  /** The block last read from the segment file, and where it starts. */
  private block: Buffer | undefined;
  private blockView: DataView | undefined;
  private blockStart = 0;
  /** Where the last read ended. */
  private cursorOffset = 0;
  private cursorPos = 0;
  /** Set by `locate`: the buffer holding the asked position, and where in it. */
  private found: Buffer = Buffer.alloc(0);
  private foundView = dataView(this.found);
  private foundAt = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** Reads the segment file; without one, the records stay in memory (the in-memory log). */
    private readonly reader?: SegmentReader,
  ) {}

  /** The end offset: what the next record will get. */
  get length(): number {
    return this.count;
  }

  /**
   * Makes every record of `chunk` (whole encoded records) readable; returns how many it holds. With
   * a segment file the chunk must be in the file already, and is not kept.
   */
  append(chunk: Buffer): number {
    if (chunk.length === 0) return 0;
    const before = this.count;
    const view = dataView(chunk);
    this.indexFrames(view, chunk.length, this.bytes);
    if (!this.reader) {
      this.chunks.push(chunk);
      this.chunkViews.push(view);
      this.chunkStarts.push(this.bytes);
    }
    this.bytes += chunk.length;
    return this.count - before;
  }

  /**
   * Indexes the records of a segment already on disk (`length` committed bytes), reading it a
   * block at a time and keeping none of it in memory.
   */
  load(length: number): void {
    if (!this.reader) throw new Error(`embedded log: ${this.topic}:${this.partition} has no segment file to load`);
    let pos = 0;
    while (pos < length) {
      const block = this.reader(pos, Math.min(READ_BLOCK, length - pos));
      const view = dataView(block);
      // Whole records of the block; one cut off at its end is read again with the next block.
      let end = 0;
      while (end + 4 <= block.length && end + frameLength(view, end) <= block.length) end += frameLength(view, end);
      if (end === 0) {
        if (block.length < 4 || pos + frameLength(view, 0) > length) throw corrupt(this.topic, this.partition, pos);
        const whole = this.reader(pos, frameLength(view, 0));
        this.indexFrames(dataView(whole), whole.length, pos);
        pos += whole.length;
        continue;
      }
      this.indexFrames(view, end, pos);
      pos += end;
    }
    this.bytes = length;
  }

  /** Records [from, to), clamped to what exists, in offset order. */
  slice(from: number, to: number): LogRecord[] {
    const out: LogRecord[] = [];
    this.readInto(out, from, to);
    return out;
  }

  /** Appends records [from, to), clamped to what exists, to `out`; returns how many. */
  readInto(out: LogRecord[], from: number, to: number): number {
    const end = Math.min(to, this.count);
    let offset = Math.max(0, from);
    if (offset >= end) return 0;
    let pos = this.positionOf(offset);
    for (; offset < end; offset++) {
      this.locate(pos, 4);
      const length = frameLength(this.foundView, this.foundAt);
      this.locate(pos, length);
      out.push(decodeRecordAt(this.found, this.foundAt, this.topic, this.partition, offset, this.foundView));
      pos += length;
    }
    this.cursorOffset = end;
    this.cursorPos = pos;
    return end - Math.max(0, from);
  }

  private positionOf(offset: number): number {
    if (offset === this.cursorOffset) return this.cursorPos;
    const slot = Math.floor(offset / INDEX_STRIDE);
    let at = slot * INDEX_STRIDE;
    let pos = this.index[slot]!;
    if (this.cursorOffset > at && this.cursorOffset < offset) {
      at = this.cursorOffset;
      pos = this.cursorPos;
    }
    for (; at < offset; at++) {
      this.locate(pos, 4);
      pos += frameLength(this.foundView, this.foundAt);
    }
    return pos;
  }

  /** Points `found`/`foundAt` at segment position `pos`, with at least `need` bytes readable there. */
  private locate(pos: number, need: number): void {
    const chunks = this.chunks;
    if (!this.reader) {
      const i = this.chunkAt(pos);
      this.found = chunks[i]!;
      this.foundView = this.chunkViews[i]!;
      this.foundAt = pos - this.chunkStarts[i]!;
      if (this.foundAt + need <= this.found.length) return;
      throw corrupt(this.topic, this.partition, pos);
    }
    const block = this.block;
    if (block === undefined || pos < this.blockStart || pos + need > this.blockStart + block.length) {
      if (pos + need > this.bytes) throw corrupt(this.topic, this.partition, pos);
      // A fresh buffer each time: records read earlier are views into the old one.
      this.block = this.reader!(pos, Math.min(Math.max(READ_BLOCK, need), this.bytes - pos));
      this.blockView = dataView(this.block);
      this.blockStart = pos;
      if (this.block.length < need) throw corrupt(this.topic, this.partition, pos);
    }
    this.found = this.block!;
    this.foundView = this.blockView!;
    this.foundAt = pos - this.blockStart;
  }

  /** The chunk holding `pos`. */
  private chunkAt(pos: number): number {
    const starts = this.chunkStarts;
    // Reads go forward, mostly through the newest chunks: try the one that answered last first.
    let i = this.lastChunk;
    if (i < starts.length && starts[i]! <= pos && (i + 1 === starts.length || starts[i + 1]! > pos)) return i;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    this.lastChunk = lo;
    return lo;
  }

  /** Counts and indexes the records of a buffer holding whole records up to `end`; `base` is where it starts in the segment. */
  private indexFrames(view: DataView, end: number, base: number): void {
    let pos = 0;
    while (pos < end) {
      if (pos + FIXED > end || pos + frameLength(view, pos) > end) throw corrupt(this.topic, this.partition, base + pos);
      if (this.count % INDEX_STRIDE === 0) this.indexAt(this.count / INDEX_STRIDE, base + pos);
      this.count++;
      pos += frameLength(view, pos);
    }
  }

  private indexAt(slot: number, pos: number): void {
    if (slot >= this.index.length) {
      const grown = new Float64Array(this.index.length * 2);
      grown.set(this.index);
      this.index = grown;
    }
    this.index[slot] = pos;
  }
}

function corrupt(topic: string, partition: number, pos: number): Error {
  return new Error(`embedded log: the data of ${topic}:${partition} is damaged at byte ${pos} (a record runs past its end)`);
}
