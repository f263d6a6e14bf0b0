import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint } from '../../../engine/state/checkpoint.js';
import { lockStateDir, storeDir } from '../../../engine/state/state-dir.js';
import { tempDir } from './helpers.js';

test('stores live at <stateDir>/<app>/<task>/<store>', () => {
  assert.equal(storeDir('/var/lib/duality', 'wordcount', '0_1', 'word-counts'), '/var/lib/duality/wordcount/0_1/word-counts');
});

test('a second lock on the same state directory is refused with who holds it and what to do', async (t) => {
  const stateDir = await tempDir(t);
  const lock = await lockStateDir(stateDir, 'wordcount');
  const expected = `state directory ${join(stateDir, 'wordcount')} is in use by process ${process.pid}; stop it or use --state-dir`;
  await assert.rejects(lockStateDir(stateDir, 'wordcount'), (err: Error & { code?: string }) => {
    assert.equal(err.message, expected);
    assert.equal(err.code, 'STORE');
    return true;
  });
  // Another application in the same state directory is independent.
  const other = await lockStateDir(stateDir, 'other-app');
  await other.release();
  await lock.release();
  const again = await lockStateDir(stateDir, 'wordcount');
  await again.release();
});

test('a second process on the same state directory is refused with that process id', async (t) => {
  const stateDir = await tempDir(t);
  const module = new URL('../../../engine/state/state-dir.js', import.meta.url).href;
  const holder = `const { lockStateDir } = await import(${JSON.stringify(module)});
    await lockStateDir(${JSON.stringify(stateDir)}, 'app'); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', holder], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  await new Promise<void>((locked) => child.stdout.on('data', () => locked()));
  await assert.rejects(lockStateDir(stateDir, 'app'), new RegExp(`in use by process ${child.pid}; stop it or use --state-dir`));
});

test('a lock left by a process that has exited is taken over', async (t) => {
  const stateDir = await tempDir(t);
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((done) => child.on('exit', done));
  await mkdir(join(stateDir, 'app'), { recursive: true });
  await writeFile(join(stateDir, 'app', '.lock'), JSON.stringify({ pid: child.pid }));
  const lock = await lockStateDir(stateDir, 'app');
  assert.equal(JSON.parse(await readFile(lock.path, 'utf8')).pid, process.pid);
  await lock.release();
});

test('a lock file naming this pid but not held by this process is stale (a restarted container)', async (t) => {
  const stateDir = await tempDir(t);
  await mkdir(join(stateDir, 'app'), { recursive: true });
  await writeFile(join(stateDir, 'app', '.lock'), JSON.stringify({ pid: process.pid, started: 'an earlier boot' }));
  const lock = await lockStateDir(stateDir, 'app');
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
