/**
 * The hand-off queue between kafkajs's fetches and the engine's polls (engine/kafka/hand-off.ts):
 * records decoded as they are taken, a poll's budget shared by the partitions, each partition's
 * position after what it handed out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FetchedBatch } from '../../../engine/kafka/fetched-batch.js';
import { HandOff } from '../../../engine/kafka/hand-off.js';
import { RecordAccumulator } from '../../../engine/kafka/record-accumulator.js';
import type { RecordCursor } from '../../../engine/kafka/record-set.js';
import { fetchedFrom } from './fetched-from.js';

/** `n` records of partition `p` from offset `base`, as a fetch would bring them, with a marker offset after them. */
async function fetched(p: number, base: number, n: number): Promise<{ batch: FetchedBatch; cursor: (from?: number) => RecordCursor }> {
  const acc = new RecordAccumulator();
  for (let i = 0; i < n; i++) acc.append('t', p, null, Buffer.from(`${p}:${base + i}`), i, undefined);
  const batch = await fetchedFrom(acc.drain()[0]!, base, base, base + n + 1);
  return { batch, cursor: (from) => batch.cursor(from) };
}

test('a poll takes a share of every partition in turn, in offset order, and knows where each stands', async () => {
  const q = new HandOff();
  const a = await fetched(0, 10, 5);
  const b = await fetched(1, 100, 2);
  const ea = q.add('t:0', a.cursor(), 16);
  const eb = q.add('t:1', b.cursor(), 103);
  const first = q.take(4).map((r) => r.value!.toString());
  assert.deepEqual(first, ['0:10', '0:11', '1:100', '1:101']);
  assert.deepEqual([...q.lastTaken], [['t:0', 12], ['t:1', 103]], 'partition 1 is all taken: it stands after its batch');
  assert.equal(eb.outcome, 'taken');
  assert.equal(ea.outcome, undefined);
  assert.equal(ea.last, 11);
  assert.deepEqual(q.take(10).map((r) => r.value!.toString()), ['0:12', '0:13', '0:14']);
  assert.deepEqual([...q.lastTaken], [['t:0', 16]]);
  assert.equal(ea.outcome, 'taken');
  assert.deepEqual(q.take(10), []);
});

test('a cursor from past the batch\'s start hands out the rest; a pause or a drop settles what is queued', async () => {
  const q = new HandOff();
  const a = await fetched(0, 0, 6);
  const cursor = a.cursor(4);
  assert.equal(cursor.remaining, 2);
  const e = q.add('t:0', cursor, 7);
  assert.deepEqual(q.take(1).map((r) => r.offset), [4]);
  q.dropWhere((k) => k === 't:0', 'paused');
  assert.equal(e.outcome, 'paused');
  assert.equal(e.last, 4);
  assert.deepEqual(q.take(10), []);
  const again = q.add('t:0', a.cursor(5), 7);
  q.dropAll();
  assert.equal(again.outcome, 'dropped');
});
