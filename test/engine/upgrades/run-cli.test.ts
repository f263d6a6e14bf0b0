/**
 * docs/upgrades.md as a user follows it, with the real command line on the embedded log: a version
 * that would misread the state is refused by `duality run` (exit 2) as `duality diff` foretold;
 * after `duality reset` it starts and rebuilds its state from the input.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { cli, logLines, tableValue, tempDir, until, withRun } from '../runtime/cli-harness.js';
import { base, CASES, upgraded } from './upgrade-cases.js';

const orders = [
  { key: 'ann', value: { customer: 'ann', qty: 2 } },
  { key: 'bob', value: { customer: 'bob', qty: 3 } },
  { key: 'ann', value: { customer: 'ann', qty: 5 } },
];

async function finished(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = cli(args);
  const code = await c.exit(20_000);
  return { code, stdout: c.stdout, stderr: c.stderr };
}

function files(): { dir: string; old: string; state: string; write: (name: string, yaml: string) => string } {
  const dir = tempDir();
  const write = (name: string, yaml: string): string => {
    writeFileSync(join(dir, name), yaml);
    return join(dir, name);
  };
  return { dir, old: write('v1.yaml', base()), state: join(dir, 'state'), write };
}

test('duality run refuses sum changed to aggregate over the same store with exit 2, as duality diff says; after duality reset it rebuilds the state', async () => {
  const { old, state, write } = files();
  await withRun(old, state, [], async (url) => {
    const posted = await fetch(`${url}/topics/shop-orders/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(orders) });
    assert.equal(posted.status, 200);
    await until('ann totalled', async () => ((await tableValue(url, 'totals', 'ann')) === 7 ? true : undefined));
  });
  const c = CASES.find((x) => x.name.startsWith('sum changed to aggregate'))!;
  const { yaml, says } = upgraded(c);
  const next = write('v2.yaml', yaml);

  const diff = await finished(['diff', old, next]);
  assert.equal(diff.code, 1, diff.stderr);
  const verdict = diff.stdout.trimEnd().split('\n');
  for (const line of says) assert.ok(verdict.includes(line), diff.stdout);

  const refused = await finished(['run', next, '--port', '0', '--state-dir', state]);
  assert.equal(refused.code, 2, refused.stderr);
  // Off a terminal the log is JSON lines (docs/cli.md): their messages are what a person reads.
  const lines = logLines(refused.stderr).map((l) => l.msg);
  const at = lines.indexOf('duality: refusing to start shop over the state its last version left (recorded in shop-topology); nothing was changed');
  assert.ok(at >= 0, refused.stderr);
  assert.deepEqual(lines.slice(at + 1), verdict.map((l) => `duality: ${l}`), 'run says what diff says');

  const reset = await finished(['reset', next, '--state-dir', state]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /\ndeleted internal topic shop-topology\n/);

  await withRun(next, state, [], async (url) => {
    await until('ann aggregated from the start of the input', async () => (JSON.stringify(await tableValue(url, 'totals', 'ann')) === '{"n":7}' ? true : undefined));
    assert.deepEqual(await tableValue(url, 'totals', 'bob'), { n: 3 });
  });
});

test('a table removed leaves its changelog behind, said on start; duality reset deletes it', async () => {
  const { old, state, write } = files();
  await withRun(old, state, [], async () => undefined);
  const c = CASES.find((x) => x.name.startsWith('table removed'))!;
  const next = write('v2.yaml', upgraded(c).yaml);
  await withRun(next, state, [], async (_url, run) => {
    await until('the changelog said to be left behind', () => (run.stderr.includes('duality:     store visits: no longer used: shop-visits-changelog is left behind') ? true : undefined));
  });
  const reset = await finished(['reset', next, '--state-dir', state]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /\ndeleted internal topic shop-visits-changelog\n/);
  const log = await EmbeddedLog.open(join(state, 'log'));
  try {
    assert.equal(await log.partitions('shop-visits-changelog'), undefined);
  } finally {
    await log.close();
  }
});
