import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { LevelDbStore, openLevel } from '../../../engine/state/leveldb-store.js';
import { CHANGELOG_OFFSET_KEY, decodeOffset } from '../../../engine/state/stored-keys.js';
import { b, bigValue, collect, fullDiskAhead, isThenable, str, tempDir } from './helpers.js';

const entries = async (store: LevelDbStore, options: { gte?: Buffer; lt?: Buffer; limit?: number } = {}) =>
  (await collect(store.range(options))).map(([k, v]) => [str(k), str(v)]);

test('reads see writes before persist, synchronously; a pending delete hides the value on disk', async (t) => {
  const store = await LevelDbStore.open('s', join(await tempDir(t), 's'));
  t.after(() => store.close());
  store.put(b('a'), b('1'));
  await store.persist();
  store.put(b('a'), null);
  store.put(b('b'), b('2'));
  const a = store.get(b('a'));
  const bb = store.get(b('b'));
  assert.equal(isThenable(a), false);
  assert.equal(a, undefined);
  assert.equal(str(bb as Buffer), '2');
  // A key with no pending write is read from disk, synchronously too.
  store.put(b('c'), b('3'));
  await store.persist();
  const c = store.get(b('c'));
  assert.equal(isThenable(c), false);
  assert.equal(str(c), '3');
});

test('nothing reaches disk before persist: reopening shows the last persisted value', async (t) => {
  const path = join(await tempDir(t), 's');
  const first = await LevelDbStore.open('s', path);
  first.put(b('k'), b('old'));
  await first.persist();
  first.put(b('k'), b('new'));
  first.put(b('other'), b('x'));
  await first.close();
  const again = await LevelDbStore.open('s', path);
  t.after(() => again.close());
  assert.equal(str(await again.get(b('k'))), 'old');
  assert.equal(await again.get(b('other')), undefined);
});

test('range merges pending writes and deletes with the disk, in byte order', async (t) => {
  const store = await LevelDbStore.open('s', join(await tempDir(t), 's'));
  t.after(() => store.close());
  for (const k of ['b', 'd', 'f', 'h']) store.put(b(k), b(`disk-${k}`));
  await store.persist();
  store.put(b('a'), b('new-a'));
  store.put(b('d'), null);
  store.put(b('e'), b('new-e'));
  store.put(b('f'), b('new-f'));
  store.put(b('z'), null); // deleting a key that never existed shows nothing
  assert.deepEqual(await entries(store), [
    ['a', 'new-a'], ['b', 'disk-b'], ['e', 'new-e'], ['f', 'new-f'], ['h', 'disk-h'],
  ]);
  assert.deepEqual(await entries(store, { gte: b('b'), lt: b('f') }), [['b', 'disk-b'], ['e', 'new-e']]);
  // The deleted d does not use up the limit.
  assert.deepEqual(await entries(store, { gte: b('b'), limit: 2 }), [['b', 'disk-b'], ['e', 'new-e']]);
});

test('range orders keys by bytes, not by text: 0x7f < 0x80 < 0xff', async (t) => {
  const store = await LevelDbStore.open('s', join(await tempDir(t), 's'));
  t.after(() => store.close());
  store.put(Buffer.from([0xff]), b('ff'));
  store.put(Buffer.from([0x00, 0x01]), b('0001'));
  await store.persist();
  store.put(Buffer.from([0x80]), b('80'));
  store.put(Buffer.from([0x7f]), b('7f'));
  store.put(Buffer.from([0x00]), b('00'));
  const values = (await collect(store.range({}))).map(([, v]) => str(v));
  assert.deepEqual(values, ['00', '0001', '7f', '80', 'ff']);
});

test('keys starting with 0xff, one spelling the store\'s record of its changelog offset included, keep their values and order beside that record', async (t) => {
  const path = join(await tempDir(t), 's');
  const store = await LevelDbStore.open('s', path);
  const keys = [Buffer.from([0x00]), Buffer.from([0xfe, 0xff]), Buffer.from([0xff]), CHANGELOG_OFFSET_KEY, Buffer.from([0xff, 0x00]), Buffer.from([0xff, 0xff, 0x00])];
  keys.forEach((k, i) => store.put(k, b(`v${i}`)));
  await store.persist(42);
  await store.close();

  const again = await LevelDbStore.open('s', path);
  t.after(() => again.close());
  assert.deepEqual(keys.map((k) => str(again.get(k) as Buffer)), keys.map((_, i) => `v${i}`));
  assert.deepEqual((await collect(again.range({}))).map(([k]) => k.toString('hex')), keys.map((k) => k.toString('hex')).sort());
  assert.deepEqual((await collect(again.range({ gte: Buffer.from([0xff]), lt: Buffer.from([0xff, 0x01]) }))).map(([, v]) => str(v)), ['v2', 'v4', 'v3']);
  assert.equal(again.approximateSize(), keys.length);
  again.put(CHANGELOG_OFFSET_KEY, null);
  await again.persist();
  assert.equal(again.approximateSize(), keys.length - 1);
  await again.close();
  const db = await openLevel(path, 's');
  assert.equal(decodeOffset(db.getSync(CHANGELOG_OFFSET_KEY)), 42, 'the record is the store\'s own');
  await db.close();
});

test('a write made while a persist is in flight is kept and persisted by the next one', async (t) => {
  const path = join(await tempDir(t), 's');
  const store = await LevelDbStore.open('s', path);
  for (let i = 0; i < 1000; i++) store.put(b(`k${i}`), b('v'));
  const persisting = store.persist();
  store.put(b('late'), b('L'));
  // The batch being written is still readable while it lands.
  assert.equal(str(store.get(b('k5')) as Buffer), 'v');
  await persisting;
  assert.equal(str(store.get(b('late')) as Buffer), 'L');
  await store.persist();
  await store.close();
  const again = await LevelDbStore.open('s', path);
  t.after(() => again.close());
  assert.equal(str(await again.get(b('late'))), 'L');
  assert.equal(str(await again.get(b('k999'))), 'v');
});

test('approximateSize counts live entries across overwrites, deletes and reopening', async (t) => {
  const path = join(await tempDir(t), 's');
  const store = await LevelDbStore.open('s', path);
  for (let i = 0; i < 50; i++) store.put(b(`k${i}`), b('1'));
  await store.persist();
  for (let i = 0; i < 50; i++) store.put(b(`k${i}`), b('2')); // overwrites add nothing
  for (let i = 0; i < 10; i++) store.put(b(`k${i}`), null);
  store.put(b('missing'), null);
  await store.persist();
  assert.equal(store.approximateSize(), 40);
  await store.close();
  const again = await LevelDbStore.open('s', path);
  t.after(() => again.close());
  again.put(b('new'), b('x'));
  await again.persist();
  assert.equal(again.approximateSize(), 41);
});

test('destroy wipes the directory, so the store reopens empty', async (t) => {
  const path = join(await tempDir(t), 's');
  const store = await LevelDbStore.open('s', path);
  store.put(b('k'), b('v'));
  await store.persist();
  await store.close();
  await LevelDbStore.destroy(path);
  const again = await LevelDbStore.open('s', path);
  t.after(() => again.close());
  assert.equal(await again.get(b('k')), undefined);
});

test('opening a database that is already open says so', async (t) => {
  const path = join(await tempDir(t), 's');
  const store = await LevelDbStore.open('counts', path);
  t.after(() => store.close());
  await assert.rejects(LevelDbStore.open('counts', path), /store "counts": cannot open LevelDB .*open in another process or store/);
});

test('a write the disk refuses fails saying why (No space left on device) and where', async (t) => {
  const path = join(await tempDir(t), 's');
  const store = await LevelDbStore.open('counts', path);
  t.after(() => store.close().catch(() => undefined));
  fullDiskAhead(path);
  const failure = await (async () => {
    for (let i = 0; i < 200; i++) {
      store.put(b(`k${i}`), bigValue(i));
      const e = await store.persist().then(() => undefined, (e: unknown) => e as Error);
      if (e !== undefined) return e;
    }
    return undefined;
  })();
  assert.ok(failure, 'the writes should have failed on the full disk');
  assert.match(failure.message, new RegExp(`store "counts": writing 1 entries to ${path} failed: .*No space left on device`));
});
