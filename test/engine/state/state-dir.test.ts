import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from '../../../engine/state/checkpoint.js';
import { lockStateDir, storeDir } from '../../../engine/state/state-dir.js';
import { tempDir } from './helpers.js';

test('stores live at <stateDir>/<app>/<task>/<store>', () => {
  assert.equal(storeDir('/var/lib/duality', 'wordcount', '0_1', 'word-counts'), '/var/lib/duality/wordcount/0_1/word-counts');
});

test('each application in a state directory has a lock of its own', async (t) => {
  const stateDir = await tempDir(t);
  const lock = await lockStateDir(stateDir, 'wordcount');
  const other = await lockStateDir(stateDir, 'other-app');
  assert.deepEqual([lock.path, other.path], [join(stateDir, 'wordcount', '.lock'), join(stateDir, 'other-app', '.lock')]);
  await other.release();
  await lock.release();
});

test('a checkpoint round-trips, leaving no temporary file behind', async (t) => {
  const dir = await tempDir(t);
  await writeCheckpoint(dir, { 'word-counts': 1200, other: 0 });
  await writeCheckpoint(dir, { 'word-counts': 1500, other: 3 });
  assert.deepEqual(await readCheckpoint(dir), { 'word-counts': 1500, other: 3 });
  assert.deepEqual(await readdir(dir), [CHECKPOINT_FILE]);
});

test('a missing or corrupt checkpoint reads as none', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await readCheckpoint(dir), undefined);
  for (const text of ['{"word-counts": 12', '[1,2]', '{"a": -1}', '{"a": "12"}', '{"a": 1.5}', '']) {
    await writeFile(join(dir, CHECKPOINT_FILE), text);
    assert.equal(await readCheckpoint(dir), undefined, text);
  }
});
