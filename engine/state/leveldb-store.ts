import { mkdir, rm } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { DualityError } from '../api/diagnostics.js';
import type { BytesStore } from '../api/store.js';
import { latin1, mergeRange, sortedOverlay } from './merge-range.js';
import { CHANGELOG_OFFSET_KEY, countTableKeys, decodeOffset, encodeOffset, storedKey, tableKey } from './stored-keys.js';
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
export function levelCode(err: unknown): string | undefined {
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
 * so the disk never holds state the changelog does not. Keys are stored as engine/state/stored-keys.ts
 * says, beside the store's record of the changelog offset it reflects.
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
  /** The changelog offset to record with the next persist. */
  private pendingOffset: number | undefined;
  /** The highest changelog offset on disk: a retried persist must not record an older one over it. */
  private writtenOffset: number;
  /** Live entries on disk. */
  private keys: number;

  private constructor(
    readonly name: string,
    readonly path: string,
    private readonly db: Level,
    keys: number,
  ) {
    this.keys = keys;
    this.writtenOffset = decodeOffset(db.getSync(CHANGELOG_OFFSET_KEY)) ?? -1;
  }

  /**
   * Opens the store; `keys` is how many it holds when the caller has just counted them (a restore
   * reads every key to check the store), else they are counted here.
   */
  static async open(name: string, path: string, keys?: number): Promise<LevelDbStore> {
    const db = await openLevel(path, name);
    try {
      return new LevelDbStore(name, path, db, keys ?? (await countTableKeys(db)));
    } catch (err) {
      await db.close();
      throw err;
    }
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
    return this.db.getSync(storedKey(key));
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
   * `changelogOffset`: the changelog offset these writes bring the store up to (a checkpoint),
   * recorded in the same batch.
   */
  persist(changelogOffset?: number): Promise<void> {
    if (changelogOffset !== undefined) this.pendingOffset = Math.max(changelogOffset, this.pendingOffset ?? -1);
    if (this.pending.size === 0 && this.pendingOffset === undefined) return this.writing;
    const batch = this.pending;
    const offset = this.pendingOffset;
    this.pending = this.spare ?? new WriteBuffer();
    this.spare = undefined;
    this.pendingOffset = undefined;
    this.inFlight.push(batch);
    const run = this.writing.then(() => this.write(batch, offset));
    this.writing = run.catch(() => {});
    return run;
  }

  private async write(batch: WriteBuffer, offset: number | undefined): Promise<void> {
    // Keys whose existence before the batch nobody told: LevelDB is asked, for approximateSize.
    const unknown: Buffer[] = [];
    const unknownPuts: boolean[] = [];
    let inserted = 0;
    let writes = 0;
    // A chained batch copies each write into LevelDB's batch as it is added, so these views die
    // young; an array of operation objects would live until the whole batch is built.
    const chain = this.db.batch();
    for (const [k, value, existed] of batch.entries()) {
      writes++;
      const key = storedKey(k);
      if (value === null) chain.del(key);
      else chain.put(key, value);
      if (existed === undefined) {
        unknown.push(key);
        unknownPuts.push(value !== null);
      } else {
        inserted += (value !== null ? 1 : 0) - (existed ? 1 : 0);
      }
    }
    const recorded = offset !== undefined && offset > this.writtenOffset ? offset : undefined;
    if (recorded !== undefined) chain.put(CHANGELOG_OFFSET_KEY, encodeOffset(recorded));
    try {
      // hasMany reads a snapshot taken at the call, before the batch lands, so it tells which keys
      // already existed; running both at once keeps the count from lengthening the commit.
      const [existed] = await Promise.all([unknown.length > 0 ? this.db.hasMany(unknown) : [], chain.write()]);
      for (let i = 0; i < unknown.length; i++) inserted += (unknownPuts[i] ? 1 : 0) - (existed[i] ? 1 : 0);
      this.keys += inserted;
      if (recorded !== undefined) this.writtenOffset = recorded;
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
      if (offset !== undefined) this.pendingOffset = Math.max(offset, this.pendingOffset ?? -1);
      // LevelDB's reason ("No space left on device", with the file) is what an operator acts on.
      throw new DualityError('STORE', `store "${this.name}": writing ${writes} entries to ${this.path} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
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
    const it = this.db.iterator({ ...(gte && { gte: storedKey(gte) }), ...(lt && { lt: storedKey(lt) }) });
    try {
      // Most ranges are a key's few entries or stop at the first (a session's, an expiry bound):
      // a first read of 1,000 entries would copy 1,000 values for them. Reads grow as a scan goes on.
      for (let size = 16; ; size = Math.min(size * 4, 1024)) {
        const chunk = await it.nextv(size);
        if (chunk.length === 0) return;
        for (const [k, v] of chunk) {
          const key = tableKey(k);
          if (key !== undefined) yield [key, v];
        }
      }
    } finally {
      await it.close();
    }
  }

  /** Live entries on disk: exact; unpersisted writes are not counted. */
  approximateSize(): number {
    return this.keys;
  }

  /** Closes the database. Writes not persisted are dropped: the changelog replays them. */
  async close(): Promise<void> {
    await this.writing;
    await this.db.close();
  }
}
