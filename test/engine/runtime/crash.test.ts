import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { ROOT } from '../../root.js';
import { startRun, tempDir, until } from './cli-harness.js';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];

/** A deterministic stream of lines: `n` lines of 1 to 6 words. */
function lines(seed: number, n: number): string[] {
  let s = seed;
  const next = (): number => (s = (s * 1103515245 + 12345) & 0x7fffffff);
  return Array.from({ length: n }, () => Array.from({ length: 1 + (next() % 6) }, () => WORDS[next() % WORDS.length]).join(' '));
}

/** The whole word-counts table, through the HTTP API's pages. */
async function table(url: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let cursor: string | undefined;
  do {
    const r = (await (await fetch(`${url}/tables/word-counts?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { entries: { key: string; value: number }[]; cursor?: string };
    for (const e of r.entries) out[e.key] = e.value;
    cursor = r.cursor;
  } while (cursor);
  return out;
}

/** Posts lines one request at a time until `stop` says so; returns the lines acknowledged. */
async function postUntil(url: string, all: string[], stop: () => boolean): Promise<string[]> {
  const acked: string[] = [];
  for (let i = 0; i < all.length && !stop(); i += 4) {
    const batch = all.slice(i, i + 4);
    try {
      const r = await fetch(`${url}/topics/TextLinesTopic/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch.map((value) => ({ value }))) });
      if (r.status === 200) acked.push(...batch);
    } catch {
      return acked; // the server died mid-request: that batch was not acknowledged
    }
  }
  return acked;
}

const recount = (ls: string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const l of ls) for (const w of l.toLowerCase().split(/\W+/)) if (w) out[w] = (out[w] ?? 0) + 1;
  return out;
};

test('SIGKILL in the middle of posted records: nothing acknowledged is lost, nothing is counted twice', async () => {
  const dir = tempDir();
  const file = join(dir, 'wordcount.yaml');
  copyFileSync(join(ROOT, 'topologies/wordcount.yaml'), file);
  const state = join(dir, 'state');
  const acked: string[] = [];
  for (let round = 0; round < 3; round++) {
    const { run, url } = await startRun(file, state);
    let killed = false;
    // Kill at a moment that varies by round, while records are being posted and processed.
    setTimeout(() => {
      killed = true;
      run.child.kill('SIGKILL');
    }, 300 + round * 170);
    acked.push(...(await postUntil(url, lines(round + 1, 2000), () => killed)));
    await run.exit(10_000);
    assert.equal(run.child.signalCode, 'SIGKILL');
  }
  assert.ok(acked.length > 0, "no record was acknowledged before the kills");
  console.log(`crash test: ${acked.length} lines acknowledged over 3 kills`);

  // What the log holds: every acknowledged line, and perhaps lines whose answer the kill cut off.
  const log = await EmbeddedLog.open(join(state, 'log'));
  const inLog = (await log.read({ topic: 'TextLinesTopic', partition: 0 }, 0, Number.MAX_SAFE_INTEGER)).map((r) => r.value!.toString());
  await log.close();
  let at = 0;
  for (const line of acked) {
    at = inLog.indexOf(line, at);
    assert.ok(at >= 0, `an acknowledged line is missing from the log: ${line}`);
    at++;
  }

  const { run, url } = await startRun(file, state);
  const expected = recount(inLog);
  const actual = await until(() => `counts equal to a recomputation from the log (${inLog.length} lines)`, async () => {
    const t = await table(url);
    return JSON.stringify(t, Object.keys(t).sort()) === JSON.stringify(expected, Object.keys(expected).sort()) ? t : undefined;
  });
  assert.deepEqual(actual, expected);
  run.child.kill('SIGTERM');
  assert.equal(await run.exit(10_000), 0);
});
