import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log, TopicPartition } from '../api/log.js';
import type { StoreInfo } from '../api/topology-graph.js';
import { isLockedError, type Level, LevelDbStore, openLevel } from './leveldb-store.js';

export interface RestoreResult {
  /** Changelog records applied (puts and deletes). */
  readonly records: number;
  readonly ms: number;
  /** The changelog offset the store now reflects: what the task's checkpoint should say. */
  readonly offset: number;
  /** True when the database was wiped and rebuilt from offset 0. */
  readonly fromScratch: boolean;
}

/** Records per read and per LevelDB batch: large enough that per-call costs vanish. */
export const RESTORE_BATCH = 10_000;

type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/**
 * Brings the LevelDB database at `dbPath` up to the end of the store's changelog partition,
 * replaying from `checkpointOffset`. Without a checkpoint, with one the changelog cannot have
 * produced (past its end: the topic was recreated), with no database on disk, or with one that
 * does not open, the directory is wiped and the whole changelog replayed. Wiping is always safe:
 * the changelog is the store's truth. The one exception is a database another process has open,
 * which is an error, never a wipe.
 *
 * Reads `endOffsets` once at the start: the caller restores before the task produces to the
 * changelog, so nothing is appended meanwhile.
 */
export async function restoreStore(
  log: Log,
  store: StoreInfo,
  partition: number,
  dbPath: string,
  checkpointOffset?: number,
): Promise<RestoreResult> {
  const started = performance.now();
  const tp: TopicPartition = { topic: store.changelogTopic, partition };
  const end = (await log.endOffsets(store.changelogTopic))[partition] ?? 0;
  let fromScratch = checkpointOffset === undefined || checkpointOffset > end || !(await hasDatabase(dbPath));
  if (fromScratch) await LevelDbStore.destroy(dbPath);

  let db: Level;
  try {
    db = await openLevel(dbPath, store.name);
  } catch (err) {
    if (isLockedError(err)) throw err;
    fromScratch = true;
    await LevelDbStore.destroy(dbPath);
    db = await openLevel(dbPath, store.name);
  }

  let offset = fromScratch ? 0 : checkpointOffset!;
  let records = 0;
  try {
    let reading = offset < end ? quiet(log.read(tp, offset, RESTORE_BATCH)) : undefined;
    let writing: Promise<void> = Promise.resolve();
    while (reading !== undefined) {
      const batch = await reading;
      const ops: Op[] = [];
      let next = offset;
      for (const r of batch) {
        if (r.offset >= end) break;
        next = r.offset + 1;
        // A changelog record always has a key; one without could only come from a foreign writer.
        if (r.key === null) continue;
        ops.push(r.value === null ? { type: 'del', key: r.key } : { type: 'put', key: r.key, value: r.value });
      }
      // No progress: the rest up to `end` holds no records (transaction markers, compacted away).
      if (next === offset) break;
      offset = next;
      records += ops.length;
      // Read the next batch while this one is written; batches are written strictly in order.
      reading = offset < end ? quiet(log.read(tp, offset, RESTORE_BATCH)) : undefined;
      await writing;
      writing = quiet(db.batch(ops));
    }
    await writing;
  } finally {
    await db.close();
  }
  return { records, ms: performance.now() - started, offset: end, fromScratch };
}

/**
 * The same promise, marked as handled: a read and a write are in flight together, and the one
 * not being awaited may fail first; it is still awaited (and throws) in its turn.
 */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** LevelDB writes CURRENT when it creates a database; without it there is nothing to resume. */
async function hasDatabase(dbPath: string): Promise<boolean> {
  try {
    await access(join(dbPath, 'CURRENT'));
    return true;
  } catch {
    return false;
  }
}
