import type { ClassicLevel } from 'classic-level';

/*
 * How a store's keys sit in its LevelDB database. Keys starting with byte 0xFF get one more 0xFF in
 * front, which keeps byte order, and leaves the keys starting 0xFF 0x00 to the store itself: one,
 * its record of the changelog offset it reflects. Serdes can produce any bytes, so only an escape
 * keeps that record apart from every key a table can hold.
 */

const ESCAPE = 0xff;
const ESCAPE_BYTE = Buffer.from([ESCAPE]);

/**
 * The changelog offset the store reflects: every changelog record before it is in the store (some
 * after it may be too). Written in the same batch as the writes it covers, so a store that lost
 * writes (a damaged write-ahead log, an old copy put back) shows it: its offset is behind its
 * task's checkpoint, or gone. The name says the store's values carry their timestamps
 * (timestamped.ts): a store from before, whose record is `changelog-offset`, has none under this
 * name and is rebuilt from its changelog once; an older Duality, finding none under its name, does
 * the same with a store of this one.
 */
export const CHANGELOG_OFFSET_KEY = Buffer.from([ESCAPE, 0x00, ...Buffer.from('changelog-offset-t')]);

/** The key a table's key is stored under. */
export function storedKey(key: Buffer): Buffer {
  return key.length > 0 && key[0] === ESCAPE ? Buffer.concat([ESCAPE_BYTE, key]) : key;
}

/** The table's key a stored key stands for; undefined for the store's own keys. */
export function tableKey(stored: Buffer): Buffer | undefined {
  if (stored.length === 0 || stored[0] !== ESCAPE) return stored;
  return stored.length > 1 && stored[1] === ESCAPE ? stored.subarray(1) : undefined;
}

export const encodeOffset = (offset: number): Buffer => Buffer.from(JSON.stringify({ changelogOffset: offset }));

/** The offset a store recorded; undefined when it has none, or one this version does not read. */
export function decodeOffset(value: Buffer | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    const { changelogOffset } = JSON.parse(value.toString('utf8')) as { changelogOffset?: unknown };
    return Number.isSafeInteger(changelogOffset) && (changelogOffset as number) >= 0 ? (changelogOffset as number) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Counts the table's keys by reading every one: LevelDB checks each block of its table files as
 * it reads it, so this is also where a damaged table file shows (LEVEL_CORRUPTION). Keys are read
 * as text, which is all counting needs and a third faster than buffers; the store's one key of its
 * own is then taken off.
 */
export async function countTableKeys(db: ClassicLevel<Buffer, Buffer>): Promise<number> {
  let n = 0;
  const it = db.keys({ keyEncoding: 'utf8' });
  try {
    for (let keys = await it.nextv(10_000); keys.length > 0; keys = await it.nextv(10_000)) n += keys.length;
  } finally {
    await it.close();
  }
  return db.getSync(CHANGELOG_OFFSET_KEY) === undefined ? n : n - 1;
}
