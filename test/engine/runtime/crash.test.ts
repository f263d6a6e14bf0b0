import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { ROOT } from '../../root.js';
import { envSeed, prng } from '../../seeded.js';
import { startRun, tempDir, until, type Cli } from './cli-harness.js';

/** Draws the lines and the kill points; DUALITY_CRASH_SEED replays a failed run's. */
const SEED = envSeed('DUALITY_CRASH_SEED', 20261205);
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const PER_REQUEST = 4;

/** `n` lines of 1 to 6 words. */
function lines(random: () => number, n: number): string[] {
  const int = (k: number): number => Math.floor(random() * k);
  return Array.from({ length: n }, () => Array.from({ length: 1 + int(6) }, () => WORDS[int(WORDS.length)]).join(' '));
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

/** One request of lines, with the offsets the server answered when it acknowledged it. */
interface Sent {
  readonly lines: string[];
  readonly offsets?: number[];
}

async function post(url: string, batch: string[]): Promise<Response> {
  return fetch(`${url}/topics/TextLinesTopic/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch.map((value) => ({ value }))) });
}

async function acknowledged(batch: string[], r: Response): Promise<Sent> {
  const body = (await r.json()) as { offsets: { partition: number; offset: number }[] };
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.ok(body.offsets.every((o) => o.partition === 0));
  return { lines: batch, offsets: body.offsets.map((o) => o.offset) };
}

/**
 * Posts `requests` requests one at a time, each acknowledged before the next, then one more, and
 * kills the server with SIGKILL `delayMs` after sending it: in the middle of records being posted
 * and processed. The last request is acknowledged only if its answer beat the kill.
 */
async function postAndKill(run: Cli, url: string, all: string[], requests: number, delayMs: number): Promise<Sent[]> {
  const sent: Sent[] = [];
  for (let i = 0; i < requests; i++) {
    const batch = all.slice(i * PER_REQUEST, (i + 1) * PER_REQUEST);
    sent.push(await acknowledged(batch, await post(url, batch)));
  }
  const last = all.slice(requests * PER_REQUEST, (requests + 1) * PER_REQUEST);
  const answer = post(url, last);
  setTimeout(() => run.child.kill('SIGKILL'), delayMs);
  try {
    sent.push(await acknowledged(last, await answer));
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    sent.push({ lines: last }); // the server died mid-request: not acknowledged
  }
  return sent;
}

const recount = (ls: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const l of ls) for (const w of l.toLowerCase().split(/\W+/)) if (w) out[w] = (out[w] ?? 0) + 1;
  return out;
};

/**
 * The lines the log must hold: every acknowledged request at the offsets its answer gave, and each
 * unacknowledged one whole or not at all (a request is one flush), in the order they were sent and
 * nothing else. Returns the lines of the requests it holds.
 */
function linesInLog(sent: readonly Sent[], inLog: readonly string[]): string[] {
  const held: string[] = [];
  for (const s of sent) {
    const at = held.length;
    const here = inLog.slice(at, at + s.lines.length);
    if (s.offsets) {
      assert.deepEqual(here, s.lines, `the log from offset ${at} is not the acknowledged request sent there`);
      assert.deepEqual(s.offsets, s.lines.map((_, i) => at + i), 'the offsets the server acknowledged');
    } else if (JSON.stringify(here) !== JSON.stringify(s.lines)) continue;
    held.push(...s.lines);
  }
  assert.deepEqual(inLog.slice(held.length), [], 'the log holds records beyond those the test sent, once each');
  return held;
}

test(`SIGKILL in the middle of posted records: nothing acknowledged is lost, nothing is counted twice (seed ${SEED})`, async (t) => {
  t.diagnostic(`lines and kill points drawn with seed ${SEED}; replay with DUALITY_CRASH_SEED=${SEED}`);
  const random = prng(SEED);
  const dir = tempDir();
  const file = join(dir, 'wordcount.yaml');
  copyFileSync(join(ROOT, 'topologies/wordcount.yaml'), file);
  const state = join(dir, 'state');
  const sent: Sent[] = [];
  for (let round = 0; round < 3; round++) {
    const requests = 20 + Math.floor(random() * 100);
    const delayMs = random() * 10;
    const { run, url } = await startRun(file, state);
    sent.push(...(await postAndKill(run, url, lines(random, (requests + 1) * PER_REQUEST), requests, delayMs)));
    await run.exit(10_000);
    assert.equal(run.child.signalCode, 'SIGKILL');
  }

  const before = await EmbeddedLog.open(join(state, 'log'));
  const held = linesInLog(sent, (await before.read({ topic: 'TextLinesTopic', partition: 0 }, 0, Number.MAX_SAFE_INTEGER)).map((r) => r.value!.toString()));
  await before.close();
  const acked = sent.filter((s) => s.offsets).length;
  t.diagnostic(`${acked} requests acknowledged over 3 kills, ${sent.length - acked} cut off by a kill; the log holds ${held.length} lines`);

  const expected = recount(held);
  const { run, url } = await startRun(file, state);
  const sorted = (counts: Record<string, number>): string => JSON.stringify(counts, Object.keys(counts).sort());
  let last: Record<string, number> = {};
  await until(`counts equal to a recount of the ${held.length} lines sent and held`, async () => (sorted((last = await table(url))) === sorted(expected) ? true : undefined)).catch(() => undefined);
  assert.deepEqual(last, expected, 'the word-counts table');
  run.child.kill('SIGTERM');
  assert.equal(await run.exit(10_000), 0);

  // Everything was processed, so no later record can change the counts; the output topic agrees.
  const after = await EmbeddedLog.open(join(state, 'log'));
  const group = after.consumer('wordcount');
  assert.equal(await group.committed({ topic: 'TextLinesTopic', partition: 0 }), held.length, 'every line consumed');
  const [repartitionEnd] = await after.endOffsets('wordcount-word-counts-repartition');
  assert.equal(await group.committed({ topic: 'wordcount-word-counts-repartition', partition: 0 }), repartitionEnd, 'every word consumed');
  const latest: Record<string, number> = {};
  for (const r of await after.read({ topic: 'WordsWithCountsTopic', partition: 0 }, 0, Number.MAX_SAFE_INTEGER)) latest[r.key!.toString()] = Number(r.value!.readBigInt64BE());
  await after.close();
  assert.deepEqual(latest, expected, 'the latest count of each word in WordsWithCountsTopic');
});
