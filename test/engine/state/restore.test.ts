import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { StoreInfo } from '../../../engine/api/topology-graph.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from '../../../engine/state/checkpoint.js';
import { LevelDbStore } from '../../../engine/state/leveldb-store.js';
import type { MeteredStore } from '../../../engine/state/metered-store.js';
import { restoreStore } from '../../../engine/state/restore.js';
import { storeDir, taskDir } from '../../../engine/state/state-dir.js';
import { buildKeyValueStore } from '../../../engine/state/store-builder.js';
import { tempDir } from './helpers.js';

const INFO: StoreInfo = {
  name: 'word-counts', type: 'key-value', node: 'word-counts.3.count',
  changelogTopic: 'wc-word-counts-changelog', keySerde: 'string', valueSerde: 'long',
};
const PARTITION = 1;
const TASK = '0_1';

/** One task's store on a temp state dir, its changelog in an embedded log on disk. */
async function setup(t: TestContext) {
  const stateDir = await tempDir(t);
  const log = await EmbeddedLog.open(join(stateDir, 'log'));
  await log.createTopics([{ name: INFO.changelogTopic, partitions: 2, cleanupPolicy: 'compact' }]);
  const producer = log.producer();
  const dbPath = storeDir(stateDir, 'wc', TASK, INFO.name);
  const dir = taskDir(stateDir, 'wc', TASK);
  const open: MeteredStore[] = [];
  t.after(async () => {
    for (const s of open) await s.close().catch(() => {});
    await log.close();
  });
  const build = async (): Promise<MeteredStore> => {
    const store = await buildKeyValueStore(INFO, {
      app: 'wc', taskId: TASK, partition: PARTITION, stateDir,
      collector: { send: (r) => producer.send([r]) },
    });
    open.push(store);
    return store;
  };
  /** The engine's commit: flush caches, make the changelog visible, persist with the offset that reflects, checkpoint. */
  const commit = async (store: MeteredStore): Promise<number> => {
    store.flush();
    await producer.flush();
    const end = (await log.endOffsets(INFO.changelogTopic))[PARTITION]!;
    await store.persist(end);
    await writeCheckpoint(dir, { [INFO.name]: end });
    return end;
  };
  const restore = (checkpoint?: number) => restoreStore(log, INFO, PARTITION, dbPath, checkpoint);
  return { log, producer, dbPath, dir, build, commit, restore };
}

/** Every expected key has its value, and every deleted key is gone. */
async function assertHolds(store: MeteredStore, expected: Map<string, number | null>): Promise<void> {
  for (const [k, v] of expected) assert.equal(await store.get(k), v ?? undefined, k);
}

test('a store rebuilt from its changelog after its directory is deleted holds every key', async (t) => {
  const { dbPath, build, commit, restore } = await setup(t);
  const store = await build();
  const expected = new Map<string, number | null>();
  // More keys than the cache holds, updated across commits, some deleted.
  let end = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5000; i++) {
      const k = `word-${i}`;
      const v = i % 7 === round ? null : i * 10 + round;
      store.put(k, v);
      expected.set(k, v);
    }
    end = await commit(store);
  }
  await store.close();
  await rm(dbPath, { recursive: true });

  const result = await restore(undefined);
  // Every put of a commit reached the changelog once (the cache folds nothing across commits here).
  assert.equal(end, 15_000);
  assert.deepEqual([result.fromScratch, result.records, result.offset], [true, end, end]);
  const rebuilt = await build();
  await assertHolds(rebuilt, expected);
});

test('restoring from a checkpoint replays only the tail, and its tombstones delete', async (t) => {
  const { dir, producer, build, commit, restore } = await setup(t);
  const store = await build();
  const expected = new Map<string, number | null>();
  for (let i = 0; i < 1000; i++) {
    store.put(`w${i}`, i);
    expected.set(`w${i}`, i);
  }
  const checkpointed = await commit(store);
  for (let i = 0; i < 100; i++) {
    const v = i < 10 ? null : -i;
    store.put(`w${i}`, v);
    expected.set(`w${i}`, v);
  }
  // The log commits the tail, then the process dies before LevelDB writes it (no persist).
  store.flush();
  await producer.flush();
  await store.close();

  const checkpoint = await readCheckpoint(dir);
  assert.deepEqual(checkpoint, { [INFO.name]: checkpointed });
  const result = await restore(checkpoint![INFO.name]);
  assert.deepEqual([result.fromScratch, result.records, result.offset], [false, 100, checkpointed + 100]);
  await assertHolds(await build(), expected);
});

test('a missing or corrupt checkpoint restores from offset 0, dropping what the changelog does not have', async (t) => {
  const { dir, dbPath, build, commit, restore } = await setup(t);
  const store = await build();
  for (let i = 0; i < 300; i++) store.put(`w${i}`, i);
  store.put('w0', null);
  const end = await commit(store);
  await store.close();
  // A key on disk that no changelog record explains (a store from an older run of the app).
  const disk = await LevelDbStore.open(INFO.name, dbPath);
  disk.put(Buffer.from('stray'), Buffer.alloc(8));
  await disk.persist();
  await disk.close();

  await writeFile(join(dir, CHECKPOINT_FILE), '{"word-counts": 30');
  const checkpoint = await readCheckpoint(dir);
  assert.equal(checkpoint, undefined);
  const result = await restore(checkpoint?.[INFO.name]);
  assert.deepEqual([result.fromScratch, result.records, result.offset], [true, end, end]);
  const rebuilt = await build();
  assert.equal(await rebuilt.get('stray'), undefined);
  assert.equal(await rebuilt.get('w0'), undefined);
  assert.equal(await rebuilt.get('w299'), 299);
});

test('a checkpoint without its database, past the changelog end, or over a broken database restores from 0', async (t) => {
  const { dbPath, build, commit, restore } = await setup(t);
  const store = await build();
  for (let i = 0; i < 50; i++) store.put(`w${i}`, i);
  const end = await commit(store);
  await store.close();

  await rm(dbPath, { recursive: true });
  let result = await restore(end);
  assert.deepEqual([result.fromScratch, result.records], [true, 50], 'database deleted');

  // The changelog topic was recreated and is shorter than the checkpoint says.
  result = await restore(end + 1000);
  assert.deepEqual([result.fromScratch, result.records], [true, 50], 'checkpoint past the end');

  await writeFile(join(dbPath, 'CURRENT'), 'MANIFEST-999999\n');
  result = await restore(end);
  assert.deepEqual([result.fromScratch, result.records], [true, 50], 'database does not open');
  assert.equal(await (await build()).get('w49'), 49);
});

test('a database open elsewhere is an error, never wiped', async (t) => {
  const { build, commit, restore } = await setup(t);
  const store = await build();
  store.put('kept', 1);
  await commit(store);
  await assert.rejects(restore(undefined), /store "word-counts": cannot open LevelDB .*open in another process/);
  store.put('other', 2);
  await store.persist();
  assert.equal(await store.get('kept'), 1);
});

test('checkpoints written at the same time land one after another; the last one called stays', async (t) => {
  const dir = await tempDir(t);
  await Promise.all(Array.from({ length: 20 }, (_, i) => writeCheckpoint(dir, { counts: i })));
  assert.deepEqual(await readCheckpoint(dir), { counts: 19 });
});

test('a restore bounded by maxOffsets replays that many offsets and says where it stopped; the next one goes on from there', async (t) => {
  const { log, dbPath, build, commit } = await setup(t);
  const store = await build();
  const expected = new Map<string, number | null>();
  for (let i = 0; i < 100; i++) {
    store.put(`k${i}`, i);
    expected.set(`k${i}`, i);
    // A commit each, so that every put is a changelog record of its own.
    await commit(store);
  }
  await store.close();
  await rm(dbPath, { recursive: true });
  const first = await restoreStore(log, INFO, PARTITION, dbPath, undefined, undefined, 30);
  assert.deepEqual([first.offset, first.records, first.keys, first.fromScratch], [30, 30, 30, true]);
  const rest = await restoreStore(log, INFO, PARTITION, dbPath, first.offset, undefined, 1000);
  assert.deepEqual([rest.offset, rest.records, rest.keys, rest.fromScratch], [100, 70, 100, false]);
  await assertHolds(await build(), expected);
});
