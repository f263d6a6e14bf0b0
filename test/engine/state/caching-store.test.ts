import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { LogRecord } from '../../../engine/api/log.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { CachingStore } from '../../../engine/state/caching-store.js';
import { ChangeloggingStore } from '../../../engine/state/changelogging-store.js';
import { LevelDbStore } from '../../../engine/state/leveldb-store.js';
import { b, collect, isThenable, str, tempDir } from './helpers.js';

const CHANGELOG = 'app-counts-changelog';

/** caching(changelogging(leveldb)) on a temp dir, its changelog on partition 1 of an embedded log. */
async function layers(t: TestContext, cacheEntries: number, path?: string) {
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: CHANGELOG, partitions: 2, cleanupPolicy: 'compact' }]);
  const producer = log.producer();
  const disk = await LevelDbStore.open('counts', path ?? join(await tempDir(t), 'counts'));
  const logged = new ChangeloggingStore(disk, { send: (r) => producer.send([r]) }, CHANGELOG, 1, () => 42);
  const store = new CachingStore(logged, cacheEntries);
  t.after(async () => {
    await store.close();
    await log.close();
  });
  /** Makes what was sent visible, as the commit does, and returns the whole changelog partition. */
  const changelog = async (): Promise<LogRecord[]> => {
    await producer.flush();
    return log.read({ topic: CHANGELOG, partition: 1 }, 0, 1000);
  };
  return { store, disk, changelog };
}

const pairs = (records: LogRecord[]) => records.map((r) => [str(r.key!), r.value === null ? null : str(r.value)]);

test('a cache hit is answered synchronously; a miss loads from disk once', async (t) => {
  const { store, disk } = await layers(t, 100);
  disk.put(b('k'), b('v'));
  await disk.persist();
  const miss = store.get(b('k'));
  assert.equal(isThenable(miss), true);
  assert.equal(str(await miss), 'v');
  const hit = store.get(b('k'));
  assert.equal(isThenable(hit), false);
  assert.equal(str(hit as Buffer), 'v');
  // A key that is not there is cached as absent: the second look is synchronous too.
  assert.equal(await store.get(b('nothing')), undefined);
  const absent = store.get(b('nothing'));
  assert.equal(isThenable(absent), false);
  assert.equal(absent, undefined);
});

test('a cached delete reads as absent without going to disk', async (t) => {
  const { store, disk } = await layers(t, 100);
  disk.put(b('k'), b('v'));
  await disk.persist();
  store.put(b('k'), null);
  const got = store.get(b('k'));
  assert.equal(isThenable(got), false);
  assert.equal(got, undefined);
});

test('flush sends one changelog record per key, with its last value, in the order of last puts', async (t) => {
  const { store, changelog } = await layers(t, 100);
  store.put(b('a'), b('1'));
  store.put(b('b'), b('1'));
  store.put(b('a'), b('2'));
  store.put(b('c'), b('1'));
  store.put(b('a'), b('3'));
  store.put(b('b'), null);
  assert.deepEqual(await changelog(), [], 'nothing is sent before the flush');
  store.flush();
  const records = await changelog();
  assert.deepEqual(pairs(records), [['c', '1'], ['a', '3'], ['b', null]]);
  assert.ok(records.every((r) => r.partition === 1 && r.timestamp === 42));
  // A second flush with nothing new sends nothing.
  store.flush();
  assert.equal((await changelog()).length, 3);
});

test('evicting dirty entries pushes them down: nothing is lost from the store or the changelog', async (t) => {
  const path = join(await tempDir(t), 'counts');
  const { store, changelog } = await layers(t, 2, path);
  for (const k of ['a', 'b', 'c', 'd', 'e']) store.put(b(k), b(`v-${k}`));
  // Each eviction of a dirty entry pushed every dirty entry down; e is still only in the cache.
  for (const k of ['a', 'b', 'c', 'd', 'e']) assert.equal(str(await store.get(b(k))), `v-${k}`);
  store.flush();
  await store.persist();
  assert.deepEqual(pairs(await changelog()), [['a', 'v-a'], ['b', 'v-b'], ['c', 'v-c'], ['d', 'v-d'], ['e', 'v-e']]);
  await store.close();
  const again = await LevelDbStore.open('counts', path);
  t.after(() => again.close());
  for (const k of ['a', 'b', 'c', 'd', 'e']) assert.equal(str(await again.get(b(k))), `v-${k}`);
});

test('with caching off every put goes straight down and to the changelog', async (t) => {
  const { store, disk, changelog } = await layers(t, 0);
  store.put(b('k'), b('1'));
  store.put(b('k'), b('2'));
  assert.equal(str(disk.get(b('k')) as Buffer), '2');
  assert.deepEqual(pairs(await changelog()), [['k', '1'], ['k', '2']]);
  await disk.persist();
  // Nothing is cached: a read goes to disk every time.
  assert.equal(isThenable(store.get(b('k'))), true);
  assert.equal(isThenable(store.get(b('k'))), true);
});

test('range sees unflushed writes and deletes over what is on disk', async (t) => {
  const { store, disk } = await layers(t, 100);
  for (const k of ['a', 'c', 'e']) disk.put(b(k), b('disk'));
  await disk.persist();
  store.put(b('b'), b('cache'));
  store.put(b('c'), null);
  store.put(b('e'), b('cache'));
  const got = (await collect(store.range({}))).map(([k, v]) => [str(k), str(v)]);
  assert.deepEqual(got, [['a', 'disk'], ['b', 'cache'], ['e', 'cache']]);
  const limited = (await collect(store.range({ gte: b('b'), limit: 1 }))).map(([k]) => str(k));
  assert.deepEqual(limited, ['b']);
});
