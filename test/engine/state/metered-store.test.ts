import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Serde as SerdeName } from '../../../engine/api/topology-graph.js';
import { serdeFor } from '../../../engine/serde/index.js';
import { CacheBudget } from '../../../engine/state/cache-budget.js';
import { CachingStore } from '../../../engine/state/caching-store.js';
import { LevelDbStore } from '../../../engine/state/leveldb-store.js';
import { MeteredStore } from '../../../engine/state/metered-store.js';
import { collect, isThenable, tempDir } from './helpers.js';

/** metered(caching(leveldb)); `reopen` closes it and opens the same database with a cold cache. */
async function typed(t: TestContext, keySerde: SerdeName, valueSerde: SerdeName) {
  const path = join(await tempDir(t), 's');
  let current: MeteredStore | undefined;
  const open = async () => {
    current = new MeteredStore(new CachingStore(await LevelDbStore.open('s', path), serdeFor(keySerde), serdeFor(valueSerde), new CacheBudget(1 << 20)));
    return current;
  };
  t.after(() => current?.close());
  const store = await open();
  const reopen = async () => {
    await store.persist();
    await store.close();
    return open();
  };
  return { store, reopen };
}

test('string keys and json values round-trip through the cache and through disk', async (t) => {
  const { store, reopen } = await typed(t, 'string', 'json');
  const order = { id: 7, items: ['a', 'b'], total: 12.5, note: 'ünïcödé' };
  store.put('order-7', order);
  store.put('gone', { x: 1 });
  store.put('gone', null);
  assert.deepEqual(store.get('order-7'), order);
  assert.equal(store.get('gone'), undefined);
  store.flush();
  const cold = await reopen();
  assert.deepEqual(await cold.get('order-7'), order);
  assert.equal(await cold.get('gone'), undefined);
});

test('long values (counts) round-trip, synchronously once cached', async (t) => {
  const { store, reopen } = await typed(t, 'string', 'long');
  store.put('hello', 3);
  store.put('big', Number.MAX_SAFE_INTEGER);
  store.put('negative', -42);
  store.flush();
  const cold = await reopen();
  // A miss reads the disk synchronously too.
  const first = cold.get('hello');
  assert.equal(isThenable(first), false);
  assert.equal(first, 3);
  const again = cold.get('hello');
  assert.equal(isThenable(again), false);
  assert.equal(again, 3);
  assert.equal(await cold.get('big'), Number.MAX_SAFE_INTEGER);
  assert.equal(await cold.get('negative'), -42);
  assert.deepEqual([cold.gets, cold.hits], [4, 1]);
});

test('counts gets, puts and cache hits', async (t) => {
  const { store } = await typed(t, 'string', 'json');
  store.put('a', 1);
  store.get('a');
  await store.get('b');
  store.get('b');
  assert.deepEqual({ gets: store.gets, hits: store.hits, puts: store.puts }, { gets: 3, hits: 2, puts: 1 });
});

test('long keys: range returns decoded entries in byte order of the keys', async (t) => {
  const { store } = await typed(t, 'long', 'string');
  for (const k of [10, 2, -1, 300]) store.put(k, `v${k}`);
  // Big-endian two's complement: non-negative numbers sort first, then the negative ones.
  assert.deepEqual(await collect(store.range()), [[2, 'v2'], [10, 'v10'], [300, 'v300'], [-1, 'v-1']]);
  assert.deepEqual(await collect(store.range({ from: Buffer.from([0, 0, 0, 0, 0, 0, 0, 10]), limit: 2 })), [[10, 'v10'], [300, 'v300']]);
  // A position between keys: after 10, before 300.
  assert.deepEqual(await collect(store.range({ from: Buffer.from([0, 0, 0, 0, 0, 0, 0, 11]), limit: 1 })), [[300, 'v300']]);
});

test('range by prefix over string and json keys, with from and limit', async (t) => {
  const { store } = await typed(t, 'string', 'long');
  for (const [k, v] of [['user:1', 1], ['user:2', 2], ['user:3', 3], ['users', 9], ['video:1', 4]] as const) store.put(k, v);
  assert.deepEqual(await collect(store.range({ prefix: 'user:' })), [['user:1', 1], ['user:2', 2], ['user:3', 3]]);
  assert.deepEqual(await collect(store.range({ prefix: 'user:', from: Buffer.from('user:2'), limit: 1 })), [['user:2', 2]]);
  const json = (await typed(t, 'json', 'long')).store;
  json.put('abc', 1);
  json.put('abd', 2);
  json.put({ abc: 1 }, 3);
  assert.deepEqual(await collect(json.range({ prefix: 'ab' })), [['abc', 1], ['abd', 2]]);
});

test('a prefix query on number keys is refused with a reason', async (t) => {
  const { store } = await typed(t, 'long', 'long');
  await assert.rejects(collect(store.range({ prefix: '1' })), /store "s": a prefix query needs string keys, but its keys are long/);
});

test('a null key is refused, naming the store', async (t) => {
  const { store } = await typed(t, 'string', 'long');
  assert.throws(() => store.put(null, 1), /store "s": a record with a null key cannot be stored/);
});
