import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log, TopicPartition } from '../api/log.js';
import type { StoreInfo } from '../api/topology-graph.js';
import { isLockedError, type Level, levelCode, LevelDbStore, openLevel } from './leveldb-store.js';
import { CHANGELOG_OFFSET_KEY, countTableKeys, decodeOffset, encodeOffset, storedKey } from './stored-keys.js';
import { withTimestamp } from './timestamped.js';

export interface RestoreResult {
  /** Changelog records applied (puts and deletes). */
  readonly records: number;
  readonly ms: number;
  /** The changelog offset the store now reflects: what the task's checkpoint should say. */
  readonly offset: number;
  /** True when the database was wiped and rebuilt from offset 0. */
  readonly fromScratch: boolean;
  /** The keys the store holds. */
  readonly keys: number;
}

/** Records per read and per LevelDB batch: large enough that per-call costs vanish. */
export const RESTORE_BATCH = 10_000;

/** Where a restore of one store stands, told at its start and after each batch. */
export interface RestoreStep {
  /** Changelog records applied so far (puts and deletes). */
  readonly records: number;
  /** Changelog offsets still to replay; offsets hold some records compacted away, and markers. */
  readonly remaining: number;
  /** Offsets to replay in all, from where the restore began. */
  readonly total: number;
}

type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/**
 * Brings the LevelDB database at `dbPath` up to the end of the store's changelog partition. A
 * database that proves it holds at least its checkpoint (engine/state/stored-keys.ts) replays the
 * changelog from the offset it records; any other is wiped and rebuilt from offset 0, and when
 * there was one, `damaged` is told why first: no checkpoint, one the changelog cannot have produced
 * (past its end: the topic was recreated), a database that is gone, does not open, lost part of its
 * write-ahead log, records no offset or one behind its checkpoint, or reports corruption when every
 * key is read. Wiping is always safe: the changelog is the store's truth. The one exception is a
 * database another process has open, which is an error, never a wipe.
 *
 * Reads `endOffsets` once at the start: the caller restores before the task produces to the
 * changelog, so nothing is appended meanwhile. `maxOffsets`: replays at most this many offsets
 * (the result's `offset` says how far it got). `progress`: told where it stands, at the start and
 * after each batch (a rebuild after a resume that found corruption starts over from 0).
 */
export async function restoreStore(
  log: Log,
  store: StoreInfo,
  partition: number,
  dbPath: string,
  checkpointOffset?: number,
  damaged?: (reason: string) => void,
  maxOffsets?: number,
  progress?: (step: RestoreStep) => void,
): Promise<RestoreResult> {
  const started = performance.now();
  const tp: TopicPartition = { topic: store.changelogTopic, partition };
  const logEnd = (await log.endOffsets(store.changelogTopic))[partition] ?? 0;
  // A standby opening a copy replays a part only, so that it does not hold up a promotion; its
  // rounds replay the rest (engine/runtime/standby-tasks.ts).
  const upTo = (from: number): number => (maxOffsets === undefined ? logEnd : Math.min(logEnd, from + maxOffsets));
  let end = logEnd;
  const done = (records: number, keys: number, fromScratch: boolean): RestoreResult => ({ records, keys, fromScratch, offset: end, ms: performance.now() - started });

  const existing = await resumable(dbPath, store.name, checkpointOffset, logEnd);
  if ('db' in existing) {
    try {
      end = upTo(existing.from);
      const records = await replay(log, tp, existing.db, existing.from, end, progress);
      // Reading every key is what makes LevelDB check every block of the table files.
      return done(records, await countTableKeys(existing.db), false);
    } catch (err) {
      if (levelCode(err) !== 'LEVEL_CORRUPTION') throw err;
      damaged?.(`LevelDB reports corruption reading it (${(err as Error).message})`);
    } finally {
      await existing.db.close();
    }
  } else if (existing.damage !== undefined) {
    damaged?.(existing.damage);
  }
  await LevelDbStore.destroy(dbPath);
  const db = await openLevel(dbPath, store.name);
  try {
    end = upTo(0);
    const records = await replay(log, tp, db, 0, end, progress);
    return done(records, await countTableKeys(db), true);
  } finally {
    await db.close();
  }
}

/**
 * The database at `dbPath`, open, with the offset to resume its changelog from; else why it
 * cannot be resumed (undefined when there is nothing to resume: a first start).
 */
async function resumable(dbPath: string, name: string, checkpoint: number | undefined, end: number): Promise<{ db: Level; from: number } | { damage: string | undefined }> {
  if (!(await exists(join(dbPath, 'CURRENT')))) {
    // LevelDB writes CURRENT when it creates a database; without it there is nothing to resume.
    if (checkpoint === undefined) return { damage: undefined };
    return { damage: (await readdir(dbPath).catch(() => [])).length > 0 ? 'its LevelDB files have no CURRENT' : 'its database is gone' };
  }
  if (checkpoint === undefined) return { damage: 'its task has no checkpoint, so nothing says which changelog offset it holds' };
  if (checkpoint > end) return { damage: `its checkpoint, offset ${checkpoint}, is past the end of its changelog (${end}): the topic was deleted and created again` };
  let db: Level;
  try {
    db = await openLevel(dbPath, name);
  } catch (err) {
    if (isLockedError(err)) throw err;
    return { damage: `LevelDB cannot open it: ${innermost(err)}` };
  }
  const why = (await droppedLog(dbPath)) ?? behind(decodeOffset(db.getSync(CHANGELOG_OFFSET_KEY)), checkpoint, end);
  if (typeof why === 'string') {
    await db.close();
    return { damage: why };
  }
  return { db, from: why };
}

/** The offset to resume from, or why the store's record of its offset does not match its checkpoint. */
function behind(recorded: number | undefined, checkpoint: number, end: number): number | string {
  if (recorded === undefined) return 'it holds no record of the changelog offset it reflects (a store from an older Duality, whose values have no timestamps, or one put back or replaced)';
  if (recorded < checkpoint) return `it reflects its changelog up to offset ${recorded}, behind its checkpoint, ${checkpoint}: it lost writes`;
  if (recorded > end) return `it reflects its changelog up to offset ${recorded}, past the changelog's end, ${end}`;
  return recorded;
}

/**
 * What LevelDB's info log (`LOG`, begun afresh by each open) says it dropped of the write-ahead log
 * while opening: classic-level has no paranoid checks, so LevelDB skips a damaged record and opens
 * without it, and says so only there.
 */
async function droppedLog(dbPath: string): Promise<string | undefined> {
  const text = await readFile(join(dbPath, 'LOG'), 'utf8').catch(() => '');
  let bytes = 0;
  let first: string | undefined;
  for (const m of text.matchAll(/: dropping (\d+) bytes; (.*)$/gm)) {
    bytes += Number(m[1]);
    first ??= m[2];
  }
  const ignored = /Ignoring error (.*)$/m.exec(text)?.[1];
  if (first !== undefined) return `LevelDB dropped ${bytes} bytes of its write-ahead log as corrupt (${first})`;
  return ignored === undefined ? undefined : `LevelDB ignored an error reading its write-ahead log (${ignored})`;
}

/** Replays changelog records [from, end) onto `db`, recording `end` as the offset it reflects; resolves with how many were applied. */
async function replay(log: Log, tp: TopicPartition, db: Level, from: number, end: number, progress?: (step: RestoreStep) => void): Promise<number> {
  let offset = from;
  let records = 0;
  const total = Math.max(0, end - from);
  progress?.({ records, remaining: total, total });
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
      const key = storedKey(r.key);
      ops.push(r.value === null ? { type: 'del', key } : { type: 'put', key, value: withTimestamp(r.timestamp, r.value) });
    }
    // No progress: the rest up to `end` holds no records (transaction markers, compacted away).
    if (next === offset) break;
    offset = next;
    records += ops.length;
    progress?.({ records, remaining: end - offset, total });
    // Read the next batch while this one is written; batches are written strictly in order.
    reading = offset < end ? quiet(log.read(tp, offset, RESTORE_BATCH)) : undefined;
    await writing;
    writing = quiet(db.batch(ops));
  }
  await writing;
  await db.put(CHANGELOG_OFFSET_KEY, encodeOffset(end));
  // The rest up to `end`, if any, held nothing to apply.
  if (offset < end) progress?.({ records, remaining: 0, total });
  return records;
}

/**
 * The same promise, marked as handled: a read and a write are in flight together, and the one
 * not being awaited may fail first; it is still awaited (and throws) in its turn.
 */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The message of the innermost cause: classic-level's open error wraps LevelDB's own. */
function innermost(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
