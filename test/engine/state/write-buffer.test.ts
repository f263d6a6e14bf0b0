import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WriteBuffer } from '../../../engine/state/write-buffer.js';
import { b, str } from './helpers.js';

const dump = (w: WriteBuffer) => [...w.entries()].map(([k, v]) => [str(k), v === null ? null : str(v)]);

test('the latest write of each key wins, in the order of latest writes; deletes are kept', () => {
  const w = new WriteBuffer();
  w.set(b('a'), b('1'));
  w.set(b('b'), b('1'));
  w.set(b('a'), b('2'));
  w.set(b('c'), null);
  assert.equal(w.size, 3);
  assert.equal(str(w.get(b('a')) ?? undefined), '2');
  assert.equal(w.get(b('c')), null, 'a delete reads as null');
  assert.equal(w.get(b('nothing')), undefined);
  assert.deepEqual(dump(w), [['b', '1'], ['a', '2'], ['c', null]]);
});

test('copies what it is given, and keeps every value readable while it grows', () => {
  const w = new WriteBuffer();
  const key = Buffer.from('k');
  const value = Buffer.from('before');
  w.set(key, value);
  const seen = w.get(b('k'))!;
  key.write('x');
  value.write('AFTER!');
  assert.equal(str(w.get(b('k')) ?? undefined), 'before');
  for (let i = 0; i < 20_000; i++) w.set(b(`key-${i}`), i % 3 === 0 ? null : b('v'.repeat(i % 50)));
  w.set(b('long-'.repeat(20)), b('L'));
  assert.equal(w.size, 20_002);
  assert.equal(str(seen), 'before', 'a value read earlier survives the buffer growing');
  for (let i = 0; i < 20_000; i += 997) assert.deepEqual(w.get(b(`key-${i}`)), i % 3 === 0 ? null : b('v'.repeat(i % 50)));
  assert.equal(str(w.get(b('long-'.repeat(20))) ?? undefined), 'L');
  assert.equal(w.get(b('key-20000')), undefined);
  assert.equal(dump(w).length, 20_002);
});

test('keys are bytes: a prefix, an empty key and high bytes are keys of their own', () => {
  const w = new WriteBuffer();
  w.set(Buffer.alloc(0), b('empty'));
  w.set(b('ab'), b('2'));
  w.set(b('abc'), b('3'));
  w.set(Buffer.from([0xff, 0x00]), b('ff00'));
  assert.equal(str(w.get(Buffer.alloc(0)) ?? undefined), 'empty');
  assert.equal(str(w.get(b('ab')) ?? undefined), '2');
  assert.equal(str(w.get(Buffer.from([0xff, 0x00])) ?? undefined), 'ff00');
  assert.equal(w.get(Buffer.from([0xff])), undefined);
});

test('whether a key existed is what its first write said', () => {
  const w = new WriteBuffer();
  w.set(b('a'), b('1'), false);
  w.set(b('a'), null, true);
  w.set(b('b'), b('1'), true);
  w.set(b('c'), b('1'));
  w.set(b('c'), b('2'), false);
  assert.deepEqual([...w.entries()].map(([k, v, existed]) => [str(k), v === null ? null : str(v), existed]), [
    ['a', null, false],
    ['b', '1', true],
    ['c', '2', undefined],
  ]);
});

test('cleared after big writes, it lets their memory go; after small ones it keeps it for the next', () => {
  const w = new WriteBuffer();
  for (let i = 0; i < 20; i++) w.set(b(`big-${i}`), Buffer.alloc(900_000, 1));
  assert.ok(w.capacity >= 18_000_000);
  w.clear();
  assert.ok(w.capacity <= 1024 * 1024, `${w.capacity} bytes kept`);
  assert.equal(w.size, 0);
  for (let i = 0; i < 1000; i++) w.set(b(`k${i}`), b('v'.repeat(100)));
  const kept = w.capacity;
  w.clear();
  assert.equal(w.capacity, kept);
  w.set(b('k'), b('v'));
  assert.deepEqual(dump(w), [['k', 'v']]);
});
