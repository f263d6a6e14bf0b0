import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamRecord } from '../../../engine/api/processor.js';
import { HeldUpdates } from '../../../engine/runtime/held-updates.js';

const rec = (key: unknown, value: unknown): StreamRecord => ({ key, value, timestamp: 0, headers: {}, topic: 'in', partition: 0, offset: 0 });
const shown = (held: { record: StreamRecord }[]): string[] => held.map((h) => `${JSON.stringify(h.record.key)}=${h.record.value}`);

test('the latest update per key, in order of each key\'s last update', () => {
  const h = new HeldUpdates();
  for (const [k, v] of [['a', 1], ['b', 1], ['a', 2], ['c', 1], ['b', 2]] as const) h.hold(rec(k, v));
  assert.equal(h.size, 3);
  assert.deepEqual(shown(h.takeAll()), ['"a"=2', '"c"=1', '"b"=2']);
  assert.equal(h.size, 0);
  assert.deepEqual(h.takeAll(), []);
});

test('takeOldest takes the least recently updated key; a key held again after it starts afresh', () => {
  const h = new HeldUpdates();
  for (const [k, v] of [['a', 1], ['b', 1], ['a', 2]] as const) h.hold(rec(k, v));
  assert.deepEqual(shown([h.takeOldest()!]), ['"b"=1']);
  h.hold(rec('b', 5));
  assert.deepEqual(shown([h.takeOldest()!]), ['"a"=2']);
  assert.deepEqual(shown(h.takeAll()), ['"b"=5']);
  assert.equal(h.takeOldest(), undefined);
});

test('keys of every kind stay apart: numbers, strings, objects, and strings that look like their JSON', () => {
  const h = new HeldUpdates();
  const keys: unknown[] = [1, '1', { id: 1 }, '\u0000{"id":1}', '{"id":1}', [1], true, 'true'];
  for (const k of keys) h.hold(rec(k, 'x'));
  h.hold(rec({ id: 1 }, 'y'));
  assert.equal(h.size, keys.length);
  assert.deepEqual(h.takeAll().map((x) => x.record.key), [...keys.filter((k) => JSON.stringify(k) !== '{"id":1}'), { id: 1 }]);
});
