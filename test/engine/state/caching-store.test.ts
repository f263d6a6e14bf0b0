import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { LogRecord } from '../../../engine/api/log.js';
import type { Serde as SerdeName } from '../../../engine/api/topology-graph.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { SerdeError, serdeFor } from '../../../engine/serde/index.js';
import { CacheBudget, ENTRY_OVERHEAD } from '../../../engine/state/cache-budget.js';
import { CachingStore } from '../../../engine/state/caching-store.js';
import { ChangeloggingStore } from '../../../engine/state/changelogging-store.js';
import { LevelDbStore } from '../../../engine/state/leveldb-store.js';
import { b, collect, isThenable, str, tempDir } from './helpers.js';

const CHANGELOG = 'app-counts-changelog';

/**
 * caching(changelogging(leveldb)) on a temp dir, its changelog on partition 1 of an embedded log;
 * string keys and values unless told, caching `cacheBytes` (or sharing `budget`). `diskReads` counts
 * the reads that reached LevelDB.
 */
async function layers(t: TestContext, cacheBytes: number, path?: string, serdes: [SerdeName, SerdeName] = ['string', 'string'], budget = new CacheBudget(cacheBytes)) {
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: CHANGELOG, partitions: 2, cleanupPolicy: 'compact' }]);
  const producer = log.producer();
  const disk = await LevelDbStore.open('counts', path ?? join(await tempDir(t), 'counts'));
  const reads = { count: 0 };
  const diskGet = disk.get.bind(disk);
  disk.get = (key) => {
    reads.count++;
    return diskGet(key);
  };
  const logged = new ChangeloggingStore(disk, { send: (r) => producer.send([r]) }, CHANGELOG, 1, () => 42);
  const store = new CachingStore(logged, serdeFor(serdes[0]), serdeFor(serdes[1]), budget);
  t.after(async () => {
    await store.close();
    await log.close();
  });
  /** Makes what was sent visible, as the commit does, and returns the whole changelog partition. */
  const changelog = async (): Promise<LogRecord[]> => {
    await producer.flush();
    return log.read({ topic: CHANGELOG, partition: 1 }, 0, 1000);
  };
  return { store, disk, changelog, diskReads: () => reads.count, budget };
}

/** Room for plenty of small entries. */
const ROOMY = 1 << 20;
/** The bytes of `n` entries whose key and value together have `chars` characters. */
const entries = (n: number, chars: number): number => n * (ENTRY_OVERHEAD + chars);

const pairs = (records: LogRecord[]) => records.map((r) => [str(r.key!), r.value === null ? null : str(r.value)]);

test('a cache hit is answered from memory; a miss reads the disk once, synchronously', async (t) => {
  const { store, disk, diskReads } = await layers(t, ROOMY);
  disk.put(b('k'), b('v'));
  await disk.persist();
  const miss = store.get('k');
  assert.equal(isThenable(miss), false);
  assert.equal(miss, 'v');
  assert.deepEqual([diskReads(), store.hits], [1, 0]);
  const hit = store.get('k');
  assert.equal(isThenable(hit), false);
  assert.equal(hit, 'v');
  assert.deepEqual([diskReads(), store.hits], [1, 1]);
  // A key that is not there is cached as absent: the second look does not read the disk either.
  assert.equal(store.get('nothing'), undefined);
  assert.equal(store.get('nothing'), undefined);
  assert.deepEqual([diskReads(), store.hits], [2, 2]);
});

test('a cached delete reads as absent without going to disk', async (t) => {
  const { store, disk, diskReads } = await layers(t, ROOMY);
  disk.put(b('k'), b('v'));
  await disk.persist();
  store.put('k', null);
  const got = store.get('k');
  assert.equal(isThenable(got), false);
  assert.equal(got, undefined);
  assert.equal(diskReads(), 0);
});

test('flush sends one changelog record per key, with its last value, in the order of last puts', async (t) => {
  const { store, changelog } = await layers(t, ROOMY);
  store.put('a', '1');
  store.put('b', '1');
  store.put('a', '2');
  store.put('c', '1');
  store.put('a', '3');
  store.put('b', null);
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
  const { store, changelog } = await layers(t, entries(2, 'a'.length + 'v-a'.length), path);
  for (const k of ['a', 'b', 'c', 'd', 'e']) store.put(k, `v-${k}`);
  // Each eviction of a dirty entry pushed every dirty entry down; e is still only in the cache.
  for (const k of ['a', 'b', 'c', 'd', 'e']) assert.equal(store.get(k), `v-${k}`);
  store.flush();
  await store.persist();
  assert.deepEqual(pairs(await changelog()), [['a', 'v-a'], ['b', 'v-b'], ['c', 'v-c'], ['d', 'v-d'], ['e', 'v-e']]);
  await store.close();
  const again = await LevelDbStore.open('counts', path);
  t.after(() => again.close());
  for (const k of ['a', 'b', 'c', 'd', 'e']) assert.equal(str(await again.get(b(k))), `v-${k}`);
});

test('with caching off every put goes straight down and to the changelog', async (t) => {
  const { store, disk, changelog, diskReads } = await layers(t, 0);
  store.put('k', '1');
  store.put('k', '2');
  assert.equal(str(disk.get(b('k'))), '2');
  assert.deepEqual(pairs(await changelog()), [['k', '1'], ['k', '2']]);
  await disk.persist();
  // Nothing is cached: a read goes to disk every time.
  const before = diskReads();
  assert.equal(store.get('k'), '2');
  assert.equal(store.get('k'), '2');
  assert.deepEqual([diskReads() - before, store.hits], [2, 0]);
});

test('range sees unflushed writes and deletes over what is on disk', async (t) => {
  const { store, disk } = await layers(t, ROOMY);
  for (const k of ['a', 'c', 'e']) disk.put(b(k), b('disk'));
  await disk.persist();
  store.put('b', 'cache');
  store.put('c', null);
  store.put('e', 'cache');
  const got = (await collect(store.range({}))).map(([k, v]) => [str(k), str(v)]);
  assert.deepEqual(got, [['a', 'disk'], ['b', 'cache'], ['e', 'cache']]);
  const limited = (await collect(store.range({ gte: b('b'), limit: 1 }))).map(([k]) => str(k));
  assert.deepEqual(limited, ['b']);
});

test('a put keeps what reading its bytes back gives: the cache never answers unlike the disk', async (t) => {
  const { store } = await layers(t, ROOMY, undefined, ['long', 'json']);
  const order = { id: 7, items: ['a'], raw: Buffer.from('hi'), gone: undefined };
  store.put('258', order);
  order.items.push('changed after the put');
  // The long key "258" is the key 258; the json value is a copy, with bytes as base64.
  assert.deepEqual(store.get(258), { id: 7, items: ['a'], raw: 'aGk=' });
  store.put(-0, 'text');
  assert.equal(store.get(0), 'text');
  store.put(1, 1.5);
  assert.equal(store.get(1), 1.5);
});

test('string keys that serialize to the same bytes are one key', async (t) => {
  const { store, changelog } = await layers(t, ROOMY, undefined, ['string', 'long']);
  store.put('a\uD800', 1);
  store.put('a\uFFFD', 2);
  store.put(12, 3);
  assert.equal(store.get('a\uD800'), 2);
  assert.equal(store.get('12'), 3);
  store.flush();
  assert.deepEqual((await changelog()).map((r) => str(r.key!)), ['a\uFFFD', '12']);
});

test('a value the serde refuses fails at the put, and nothing is written', async (t) => {
  const { store, changelog } = await layers(t, ROOMY, undefined, ['string', 'long']);
  assert.throws(() => store.put('k', 1.5), SerdeError);
  assert.throws(() => store.put('k', 'many'), SerdeError);
  assert.throws(() => store.put(null, 1), /store "counts": a record with a null key cannot be stored/);
  assert.equal(store.get('k'), undefined);
  store.flush();
  assert.deepEqual(await changelog(), []);
});

test('eviction gives a key read since the last pass a second chance', async (t) => {
  const { store, diskReads } = await layers(t, entries(3, 2));
  for (const k of ['h', 'a', 'b']) store.put(k, k);
  for (const k of ['c', 'd', 'e', 'f']) {
    assert.equal(store.get('h'), 'h');
    store.put(k, k);
  }
  const before = diskReads();
  assert.equal(store.get('h'), 'h');
  assert.equal(diskReads(), before, 'the key read between evictions stayed cached');
  assert.equal(store.get('a'), 'a');
  assert.equal(diskReads(), before + 1, 'a key not read since was evicted');
});

test('keys the cache read or wrote down are counted without asking LevelDB which existed', async (t) => {
  const { store, disk } = await layers(t, ROOMY, undefined, ['string', 'long']);
  const db = (disk as unknown as { db: { hasMany(keys: Buffer[]): Promise<boolean[]> } }).db;
  let asked = 0;
  const hasMany = db.hasMany.bind(db);
  db.hasMany = (keys) => {
    asked += keys.length;
    return hasMany(keys);
  };
  disk.put(b('old'), Buffer.alloc(8));
  await disk.persist();
  assert.equal(asked, 1, 'a write nobody described is looked up');
  // Read-modify-write, as aggregations do: every key was read first.
  for (const k of ['old', 'new-1', 'new-2']) store.put(k, ((store.get(k) as number | undefined) ?? 0) + 1);
  store.flush();
  await store.persist();
  assert.deepEqual([disk.approximateSize(), asked], [3, 1]);
  // Written down before: the cache knows they exist now, and a delete takes one away.
  for (const k of ['new-1', 'new-2']) store.put(k, 5);
  store.put('old', null);
  store.flush();
  await store.persist();
  assert.deepEqual([disk.approximateSize(), asked], [2, 1]);
  // A blind put of a key never read is looked up.
  store.put('blind', 1);
  store.flush();
  await store.persist();
  assert.deepEqual([disk.approximateSize(), asked], [3, 2]);
});

test('the cache holds at most its bytes: a put that takes it over pushes entries down at once, one too big for it included', async (t) => {
  const { store, changelog, diskReads, budget } = await layers(t, 1000);
  store.put('a', 'small');
  assert.deepEqual(await changelog(), [], 'what fits waits for the flush');
  const big = 'x'.repeat(2000);
  store.put('big', big);
  assert.ok(budget.used <= 1000, `${budget.used} bytes cached`);
  // Evicting pushes every dirty entry down, in put order, before any flush.
  assert.deepEqual(pairs(await changelog()), [['a', 'small'], ['big', big]]);
  const before = diskReads();
  assert.equal(store.get('big'), big);
  assert.equal(diskReads(), before + 1, 'read back from below');
  assert.ok(budget.used <= 1000, `${budget.used} bytes cached after the read`);
  store.flush();
  assert.equal((await changelog()).length, 2, 'nothing was left to flush');
});

test('stores sharing a budget: the one that takes it over evicts its own entries; a closed one gives its bytes back', async (t) => {
  const budget = new CacheBudget(entries(3, 2));
  const one = await layers(t, 0, undefined, undefined, budget);
  const two = await layers(t, 0, undefined, undefined, budget);
  one.store.put('a', 'a');
  one.store.put('b', 'b');
  two.store.put('c', 'c');
  assert.equal(budget.used, entries(3, 2));
  two.store.put('d', 'd');
  assert.deepEqual(pairs(await two.changelog()), [['c', 'c'], ['d', 'd']]);
  assert.deepEqual(await one.changelog(), []);
  assert.equal(budget.used, entries(3, 2));
  await two.store.close();
  assert.equal(budget.used, entries(2, 2));
});
