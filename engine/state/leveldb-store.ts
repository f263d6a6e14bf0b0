import { mkdir, rm } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { DualityError } from '../api/diagnostics.js';
import type { BytesStore } from '../api/store.js';
import { latin1, mergeRange, sortedOverlay } from './merge-range.js';
import { WriteBuffer } from './write-buffer.js';

export type Level = ClassicLevel<Buffer, Buffer>;

/** Opens (creating it when missing) a LevelDB database of buffer keys and values at `path`. */
export async function openLevel(path: string, storeName: string): Promise<Level> {
  await mkdir(path, { recursive: true });
  const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open();
  } catch (err) {
    const why = isLockedError(err) ? 'it is open in another process or store' : levelCode(err) ?? 'unknown error';
    throw new DualityError('STORE', `store "${storeName}": cannot open LevelDB at ${path} (${why})`, { cause: err });
  }
  return db;
}

/** classic-level's innermost `LEVEL_*` code (open errors nest the reason as a cause). */
function levelCode(err: unknown): string | undefined {
  let code: string | undefined;
  for (let e = err; e instanceof Error; e = e.cause) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string' && c.startsWith('LEVEL_')) code = c;
  }
  return code;
}

/** True when the database could not be opened because another handle holds LevelDB's LOCK. */
export function isLockedError(err: unknown): boolean {
  return levelCode(err) === 'LEVEL_LOCKED';
}

/**
 * The bottom layer: one LevelDB database per task and store. Writes wait in memory until
 * `persist()`, which the engine calls only after the log has committed them (see engine/api/store.ts),
 * so the disk never holds state the changelog does not.
 */
export class LevelDbStore implements BytesStore {
  /** Writes since the last persist; null deletes. */
  private pending = new WriteBuffer();
  /** Batches handed to persist and not yet on disk, oldest first: still read until they land. */
  private readonly inFlight: WriteBuffer[] = [];
  /** A batch written out, cleared for reuse: a commit's writes take the same memory each time. */
  private spare: WriteBuffer | undefined;
  /** Persists run one after another, so a later one never lands before an earlier one. */
  private writing: Promise<void> = Promise.resolve();
  /** Keys counted by the scan started at open, which reads a snapshot taken then. */
  private keysAtOpen = 0;
  /** Net inserts persisted since that snapshot. */
  private inserted = 0;
  private scan: Promise<void> = Promise.resolve();
  private closing = false;

  /** Resolves once the keys on disk at open have been counted (approximateSize is exact then). */
  get counted(): Promise<void> {
    return this.scan;
  }

  private constructor(
    readonly name: string,
    readonly path: string,
    private readonly db: Level,
  ) {}

  static async open(name: string, path: string): Promise<LevelDbStore> {
    const store = new LevelDbStore(name, path, await openLevel(path, name));
    // Counting is O(entries) (about 1.6 s per million keys), so it runs in the background rather
    // than holding up the start of processing; approximateSize() grows until it is done.
    store.scan = store.countKeys().catch(() => {});
    return store;
  }

  /** Removes a store's whole directory: the way to wipe it before a restore from offset 0. */
  static async destroy(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  /**
   * Synchronous, also from disk: a read blocks the loop for one LevelDB lookup (microseconds from
   * LevelDB's block cache or the page cache, a disk read when cold), as a RocksDB get blocks a
   * Kafka Streams thread. That costs less than the promise an asynchronous read puts on the record
   * path, and only misses of the cache above ever get here.
   */
  get(key: Buffer): Buffer | undefined {
    if (this.pending.size > 0 || this.inFlight.length > 0) {
      let v = this.pending.get(key);
      for (let i = this.inFlight.length - 1; v === undefined && i >= 0; i--) v = this.inFlight[i]!.get(key);
      if (v !== undefined) return v ?? undefined;
    }
    return this.db.getSync(key);
  }

  /**
   * `existed`, when the caller knows it, says whether the key has a value in this store now
   * (pending writes included); it spares persist asking LevelDB, for approximateSize.
   */
  put(key: Buffer, value: Buffer | null, existed?: boolean): void {
    this.pending.set(key, value, existed);
  }

  /** Nothing is buffered above LevelDB's own batch; `persist` is what writes. */
  flush(): void {}

  /**
   * Writes what was put before this call as one LevelDB batch. The batch is taken at the call, so
   * a put made while it is written belongs to the next persist (and the next commit).
   */
  persist(): Promise<void> {
    if (this.pending.size === 0) return this.writing;
    const batch = this.pending;
    this.pending = this.spare ?? new WriteBuffer();
    this.spare = undefined;
    this.inFlight.push(batch);
    const run = this.writing.then(() => this.write(batch));
    this.writing = run.catch(() => {});
    return run;
  }

  private async write(batch: WriteBuffer): Promise<void> {
    // Keys whose existence before the batch nobody told: LevelDB is asked, for approximateSize.
    const unknown: Buffer[] = [];
    const unknownPuts: boolean[] = [];
    let inserted = 0;
    let writes = 0;
    // A chained batch copies each write into LevelDB's batch as it is added, so these views die
    // young; an array of operation objects would live until the whole batch is built.
    const chain = this.db.batch();
    for (const [key, value, existed] of batch.entries()) {
      writes++;
      if (value === null) chain.del(key);
      else chain.put(key, value);
      if (existed === undefined) {
        unknown.push(key);
        unknownPuts.push(value !== null);
      } else {
        inserted += (value !== null ? 1 : 0) - (existed ? 1 : 0);
      }
    }
    try {
      // hasMany reads a snapshot taken at the call, before the batch lands, so it tells which keys
      // already existed; running both at once keeps the count from lengthening the commit.
      const [existed] = await Promise.all([unknown.length > 0 ? this.db.hasMany(unknown) : [], chain.write()]);
      for (let i = 0; i < unknown.length; i++) inserted += (unknownPuts[i] ? 1 : 0) - (existed[i] ? 1 : 0);
      this.inserted += inserted;
      batch.clear();
      this.spare = batch;
    } catch (err) {
      // Keep the writes for the next persist, under everything written after them, so that
      // nothing is lost and nothing older overwrites something newer.
      const kept = new WriteBuffer();
      for (const b of [...this.inFlight.slice(this.inFlight.indexOf(batch)), this.pending]) {
        for (const [k, v] of b.entries()) kept.set(k, v);
      }
      this.pending = kept;
      throw new DualityError('STORE', `store "${this.name}": writing ${writes} entries to ${this.path} failed`, { cause: err });
    } finally {
      this.inFlight.splice(this.inFlight.indexOf(batch), 1);
    }
  }

  range(options: { gte?: Buffer; lt?: Buffer; limit?: number }): AsyncIterable<[Buffer, Buffer]> {
    const buffered: [string, Buffer | null][] = [];
    for (const b of [...this.inFlight, this.pending]) {
      // Copies: the range is read later, maybe after these batches were written and reused.
      for (const [k, v] of b.entries()) buffered.push([latin1(k), v === null ? null : Buffer.from(v)]);
    }
    const overlay = sortedOverlay(buffered, options.gte, options.lt);
    return mergeRange(overlay, this.entries(options.gte, options.lt), options.limit);
  }

  private async *entries(gte: Buffer | undefined, lt: Buffer | undefined): AsyncGenerator<[Buffer, Buffer]> {
    const it = this.db.iterator({ ...(gte && { gte }), ...(lt && { lt }) });
    try {
      for (;;) {
        const chunk = await it.nextv(1000);
        if (chunk.length === 0) return;
        yield* chunk;
      }
    } finally {
      await it.close();
    }
  }

  /**
   * Live entries on disk: the keys counted at open plus net inserts persisted since, exact once the
   * open-time scan has finished. Unpersisted writes are not counted.
   */
  approximateSize(): number {
    return this.keysAtOpen + this.inserted;
  }

  private async countKeys(): Promise<void> {
    // The iterator's snapshot is taken here, synchronously inside open(), before any persist.
    const it = this.db.keys();
    try {
      while (!this.closing) {
        const keys = await it.nextv(10_000);
        if (keys.length === 0) return;
        this.keysAtOpen += keys.length;
      }
    } finally {
      await it.close();
    }
  }

  /** Closes the database. Writes not persisted are dropped: the changelog replays them. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([this.scan, this.writing]);
    await this.db.close();
  }
}
