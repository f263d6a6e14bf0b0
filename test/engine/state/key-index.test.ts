import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyIndex, type MapKey } from '../../../engine/state/key-index.js';

test('finds every key it holds, through inserts, deletes and growth, as a Map does', () => {
  const keys: MapKey[] = [];
  const index = new KeyIndex(keys);
  const model = new Map<MapKey, number>();
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  // Keys come and go in slots, as in the cache: a deleted key's slot takes the next key.
  const free: number[] = [];
  for (let step = 0; step < 50_000; step++) {
    const key: MapKey = rnd(3) === 0 ? rnd(2000) - 1000 : `k${rnd(3000)}`;
    const slot = index.get(key);
    assert.equal(slot, model.get(key) ?? -1, `step ${step}: ${key}`);
    if (slot >= 0 && rnd(2) === 0) {
      index.delete(key);
      model.delete(key);
      free.push(slot);
    } else if (slot < 0) {
      const at = free.pop() ?? keys.length;
      keys[at] = key;
      index.set(key, at);
      model.set(key, at);
    }
  }
  assert.equal(index.size, model.size);
  for (const [key, slot] of model) assert.equal(index.get(key), slot);
  index.clear();
  assert.equal(index.get([...model.keys()][0]!), -1);
});

test('string and number keys are different keys', () => {
  const keys: MapKey[] = ['1', 1];
  const index = new KeyIndex(keys);
  index.set('1', 0);
  index.set(1, 1);
  assert.deepEqual([index.get('1'), index.get(1), index.get(2)], [0, 1, -1]);
});
