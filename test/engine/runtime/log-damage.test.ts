import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../root.js';
import { cli, tableValue, tempDir, until, withRun } from './cli-harness.js';

/** Each segment file under `logDir` with a digest of its bytes. */
function segments(logDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const topic of readdirSync(join(logDir, 'topics'))) {
    for (const file of readdirSync(join(logDir, 'topics', topic))) {
      const bytes = readFileSync(join(logDir, 'topics', topic, file));
      out[`${topic}/${file}`] = `${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`;
    }
  }
  return out;
}

test('duality run refuses an embedded log whose manifest is gone, saying how to recover, and leaves every segment as it was', async () => {
  const dir = tempDir();
  const file = join(dir, 'wordcount.yaml');
  copyFileSync(join(ROOT, 'topologies/wordcount.yaml'), file);
  const state = join(dir, 'state');
  await withRun(file, state, [], async (url) => {
    const posted = await fetch(`${url}/topics/TextLinesTopic/records`, { method: 'POST', body: JSON.stringify([{ value: 'hello world' }, { value: 'hello again' }]) });
    assert.equal(posted.status, 200);
    await until('hello counted twice', async () => ((await tableValue(url, 'word-counts', 'hello')) === 2 ? true : undefined));
  });
  const logDir = join(state, 'log');
  const before = segments(logDir);
  assert.ok(Object.values(before).some((s) => !s.startsWith('0 bytes')), 'the records are in the segments');
  rmSync(join(logDir, 'manifest.json'));

  const run = cli(['run', file, '--port', '0', '--state-dir', state]);
  assert.equal(await run.exit(15_000), 1, run.stdout);
  assert.match(
    run.stderr,
    new RegExp(`duality: cannot open the embedded log in ${logDir}: .*no manifest\\.json.*nothing was changed.*put manifest\\.json back from a backup.*or move ${logDir} away`, 's'),
  );
  assert.deepEqual(segments(logDir), before, 'no byte of a segment was cut');
});
