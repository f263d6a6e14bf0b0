import { RequestError, type ScanPart } from '../api/engine-facade.js';

/**
 * The bytes of keys and values a page holds at most (keys as stored, values estimated as the store
 * caches count them), unless its first entry alone is larger: that one then comes alone. A page is
 * built in memory and sent as one JSON text, so this bounds what a scan holds, whatever the size
 * of the entries.
 */
export const PAGE_BYTES = 1024 * 1024;

/** An entry of a scan, with its position (the page's order) and its size (for the page's bound). */
export type Row = ScanPart['rows'][number];

/**
 * Reads a task's rows (in position order) up to a full page: `limit` entries, or `pageBytes`.
 * Stopping there is safe: a page merged from the parts never reaches past a full part's last row.
 */
export async function readPart(partition: number, rows: AsyncIterable<Row>, limit: number, pageBytes = PAGE_BYTES): Promise<ScanPart> {
  const out: Row[] = [];
  let bytes = 0;
  for await (const row of rows) {
    if (out.length === limit || bytes >= pageBytes) return { partition, rows: out, next: row.position };
    out.push(row);
    bytes += row.size;
  }
  return { partition, rows: out };
}

/**
 * The first entries of the tasks' parts in key order, up to `limit` or `pageBytes` (the first entry
 * always), and a cursor when there are more: a position after the page's last key and at or before
 * the next one, as short as those two keys allow (see separator), so a page of huge keys still
 * gives a cursor that fits in a URL.
 */
export function mergePage(parts: readonly ScanPart[], limit: number, pageBytes = PAGE_BYTES): { rows: Row[]; cursor?: string } {
  const all = parts.flatMap((p) => p.rows).sort((a, b) => Buffer.compare(a.position, b.position));
  const rows: Row[] = [];
  let bytes = 0;
  for (const row of all) {
    if (rows.length === limit || (rows.length > 0 && bytes + row.size > pageBytes)) break;
    rows.push(row);
    bytes += row.size;
  }
  const next = [all[rows.length]?.position, ...parts.map((p) => p.next)].filter((b) => b !== undefined).sort(Buffer.compare)[0];
  if (next === undefined) return { rows };
  return { rows, cursor: encodeCursor(separator(rows[rows.length - 1]!.position, next)) };
}

/**
 * The shortest prefix of `next` that sorts after `last` (`last` < `next`): `next` up to the first
 * byte where the two differ. Every key after `last` starts at or after it, and no key at or before
 * `last` does.
 */
export function separator(last: Buffer, next: Buffer): Buffer {
  let i = 0;
  while (i < last.length && last[i] === next[i]) i++;
  return next.subarray(0, i + 1);
}

/** Cursors start with this byte: another layout later can tell its own from these. */
const CURSOR_VERSION = 1;

function encodeCursor(position: Buffer): string {
  return Buffer.concat([Buffer.of(CURSOR_VERSION), position]).toString('base64url');
}

/** The position a cursor stands for; a 400 for text that is no cursor of this server. */
export function decodeCursor(cursor: string): Buffer {
  const bytes = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url') : undefined;
  if (bytes === undefined || bytes.length < 2 || bytes[0] !== CURSOR_VERSION) throw new RequestError(400, 'BAD_CURSOR', 'the cursor is not one this server gave out');
  return bytes.subarray(1);
}
