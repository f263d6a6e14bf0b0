import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, mergePage, readPart, separator, type Row } from '../../../engine/runtime/table-pages.js';

/** A task's store: its entries from `from` on, in key byte order, as MeteredStore.range gives them. */
async function* range(entries: readonly [Buffer, string][], from?: Buffer): AsyncGenerator<Row> {
  for (const [k, v] of entries) if (from === undefined || Buffer.compare(k, from) >= 0) yield { position: k, size: k.length + v.length, entry: { key: k, value: v } };
}

/** Every page of a scan over `tasks`, following the cursors. */
async function scanAll(tasks: readonly [Buffer, string][][], limit: number, pageBytes: number): Promise<{ keys: Buffer[]; bytes: number }[]> {
  const pages: { keys: Buffer[]; bytes: number }[] = [];
  let from: Buffer | undefined;
  for (;;) {
    const parts = await Promise.all(tasks.map((t, i) => readPart(i, range(t, from), limit, pageBytes)));
    const { rows, cursor } = mergePage(parts, limit, pageBytes);
    pages.push({ keys: rows.map((r) => r.position), bytes: rows.reduce((n, r) => n + r.size, 0) });
    if (cursor === undefined) return pages;
    assert.ok(rows.length > 0, 'a page with a cursor has entries');
    from = decodeCursor(cursor);
  }
}

test('pages over several tasks (seeded): every key exactly once, in order, each page within its limit and bytes unless one entry alone', async () => {
  let seed = 5;
  const rnd = (n: number): number => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n;
  for (let round = 0; round < 200; round++) {
    const tasks: [Buffer, string][][] = Array.from({ length: 1 + rnd(4) }, () => []);
    const seen = new Set<string>();
    for (let i = rnd(60); i > 0; i--) {
      // Few letters, so keys share prefixes and some are prefixes of others.
      const key = Buffer.from(Array.from({ length: 1 + rnd(5) }, () => 97 + rnd(3)));
      if (seen.has(key.toString('latin1'))) continue;
      seen.add(key.toString('latin1'));
      tasks[rnd(tasks.length)]!.push([key, 'v'.repeat(rnd(8) === 0 ? 150 : rnd(40))]);
    }
    for (const t of tasks) t.sort((a, b) => Buffer.compare(a[0], b[0]));
    const limit = 1 + rnd(7);
    const pages = await scanAll(tasks, limit, 100);
    const all = tasks.flat().map(([k]) => k).sort(Buffer.compare);
    assert.deepEqual(pages.flatMap((p) => p.keys), all, `round ${round}`);
    for (const p of pages) {
      assert.ok(p.keys.length <= limit);
      assert.ok(p.keys.length === 1 || p.bytes <= 100, `round ${round}: ${p.bytes} bytes in ${p.keys.length} entries`);
    }
  }
});

test('a cursor after a huge key is as short as the next key allows', async () => {
  const huge = (c: string): Buffer => Buffer.from(c + 'x'.repeat(900_000));
  const task: [Buffer, string][] = [[huge('a'), 'v'], [huge('b'), 'v'], [huge('c'), 'v']];
  const { rows, cursor } = mergePage([await readPart(0, range(task), 1)], 1);
  assert.equal(rows.length, 1);
  assert.ok(cursor !== undefined && cursor.length < 10, cursor);
  assert.deepEqual(decodeCursor(cursor), Buffer.from('b'));
  assert.deepEqual(separator(Buffer.from('abc'), Buffer.from('abd')), Buffer.from('abd'));
  assert.deepEqual(separator(Buffer.from('ab'), Buffer.from('abcd')), Buffer.from('abc'));
});

test('text that is no cursor of this server is a 400 BAD_CURSOR', () => {
  for (const text of ['!!!', '', Buffer.from('null').toString('base64url'), Buffer.of(1).toString('base64url')]) {
    assert.throws(() => decodeCursor(text), (e: { status?: number; code?: string }) => e.status === 400 && e.code === 'BAD_CURSOR', text);
  }
});
