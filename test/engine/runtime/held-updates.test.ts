import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamRecord } from '../../../engine/api/processor.js';
import { HeldUpdates } from '../../../engine/runtime/held-updates.js';
import { CacheBudget } from '../../../engine/state/cache-budget.js';

const rec = (key: unknown, value: unknown): StreamRecord => ({ key, value, timestamp: 0, headers: {}, topic: 'in', partition: 0, offset: 0 });
const shown = (held: StreamRecord[]): string[] => held.map((r) => `${JSON.stringify(r.key)}=${r.value}`);

test('the latest update per key, in order of each key\'s last update', () => {
  const h = new HeldUpdates(new CacheBudget(1 << 20));
  for (const [k, v] of [['a', 1], ['b', 1], ['a', 2], ['c', 1], ['b', 2]] as const) h.hold(rec(k, v));
  assert.equal(h.size, 3);
  assert.deepEqual(shown(h.takeAll()), ['"a"=2', '"c"=1', '"b"=2']);
  assert.equal(h.size, 0);
  assert.deepEqual(h.takeAll(), []);
});

test('takeOldest takes the least recently updated key; a key held again after it starts afresh', () => {
  const h = new HeldUpdates(new CacheBudget(1 << 20));
  for (const [k, v] of [['a', 1], ['b', 1], ['a', 2]] as const) h.hold(rec(k, v));
  assert.deepEqual(shown([h.takeOldest()!]), ['"b"=1']);
  h.hold(rec('b', 5));
  assert.deepEqual(shown([h.takeOldest()!]), ['"a"=2']);
  assert.deepEqual(shown(h.takeAll()), ['"b"=5']);
  assert.equal(h.takeOldest(), undefined);
});

test('keys of every kind stay apart: numbers, strings, objects, and strings that look like their JSON', () => {
  const h = new HeldUpdates(new CacheBudget(1 << 20));
  const keys: unknown[] = [1, '1', { id: 1 }, '\u0000{"id":1}', '{"id":1}', [1], true, 'true'];
  for (const k of keys) h.hold(rec(k, 'x'));
  h.hold(rec({ id: 1 }, 'y'));
  assert.equal(h.size, keys.length);
  assert.deepEqual(h.takeAll().map((r) => r.key), [...keys.filter((k) => JSON.stringify(k) !== '{"id":1}'), { id: 1 }]);
});

test('a held update goes on with its record\'s fields: timestamp, headers, topic, partition, offset, source', () => {
  const h = new HeldUpdates(new CacheBudget(1 << 20));
  const r: StreamRecord = { key: 'k', value: { n: 1 }, timestamp: 1_764_000_000_123, headers: { trace: 'x' }, topic: 'words', partition: 3, offset: 2 ** 40, source: 'left' };
  h.hold(rec('k', 0));
  h.hold(r);
  assert.deepEqual(h.takeAll(), [r]);
});

test('thousands of keys, evicted and held again while the log grows: the same answers as a Map kept in update order', () => {
  const h = new HeldUpdates(new CacheBudget(1 << 20));
  const model = new Map<unknown, unknown>();
  let seed = 7;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 20_000; i++) {
    const key = next() % 3 === 0 ? next() % 500 : `w${next() % 1500}`;
    const value = i;
    h.hold(rec(key, value));
    model.delete(key);
    model.set(key, value);
    if (i % 7 === 0) {
      const oldest = h.takeOldest()!;
      const [k, v] = model.entries().next().value!;
      model.delete(k);
      assert.deepEqual([oldest.key, oldest.value], [k, v]);
    }
  }
  assert.equal(h.size, model.size);
  assert.deepEqual(h.takeAll().map((r) => [r.key, r.value]), [...model]);
  h.hold(rec(Number.NaN, 1));
  h.hold(rec(Number.NaN, 2));
  assert.deepEqual(h.takeAll().map((r) => r.value), [2]);
});

test('held updates count their bytes in the budget they share, and give them back when taken', () => {
  const budget = new CacheBudget(10_000);
  const h = new HeldUpdates(budget);
  h.hold(rec('a', 1));
  const one = budget.used;
  assert.ok(one > 0 && !h.over);
  h.hold(rec('a', 2));
  assert.equal(budget.used, one, 'a key held again replaces its update');
  h.hold(rec('b', 'x'.repeat(20_000)));
  assert.ok(h.over, `${budget.used} bytes held`);
  assert.deepEqual(shown([h.takeOldest()!]), ['"a"=2']);
  assert.ok(h.over, 'still over: the big one is left');
  h.takeOldest();
  assert.equal(budget.used, 0);
  assert.equal(h.over, false, 'nothing held is never over');
  h.hold(rec('c', 1));
  h.hold(rec('d', 1));
  h.takeAll();
  assert.equal(budget.used, 0);
});
