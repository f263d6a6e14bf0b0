import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../../root.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  // A failed test must not leave its server running.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'duality-run-'));
  dirs.push(dir);
  return dir;
}

interface Cli {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code, or rejects if the process has not exited `ms` after the call. */
  exit(ms: number): Promise<number | null>;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Cli {
  const child = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), ...args], { env: { ...process.env, KAFKA_BROKERS: '', DUALITY_API_TOKEN: '', ...env } });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const c: Cli = {
    child,
    stdout: '',
    stderr: '',
    exit: (ms) => Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${c.stdout}\n${c.stderr}`)), ms).unref())]),
  };
  child.stdout!.on('data', (b: Buffer) => (c.stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (c.stderr += b.toString()));
  return c;
}

async function until<T>(what: string | (() => string), check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `duality run` and waits until it prints its URL and answers /readyz with 200. */
async function startRun(file: string, stateDir: string): Promise<{ run: Cli; url: string }> {
  const run = cli(['run', file, '--port', '0', '--state-dir', stateDir]);
  const url = await until(() => `the URL in the output:\n${run.stdout}\n${run.stderr}`, () => /http:\/\/127\.0\.0\.1:\d+/.exec(run.stdout)?.[0]);
  await until('/readyz', async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined));
  return { run, url };
}

const count = async (url: string, word: string): Promise<unknown> => {
  const r = await fetch(`${url}/tables/word-counts/keys/${word}`);
  return r.status === 200 ? ((await r.json()) as { value: unknown }).value : undefined;
};

test('duality run: serves the word count, stops on SIGTERM, keeps the counts across a restart', async () => {
  const dir = tempDir();
  const file = join(dir, 'wordcount.yaml');
  copyFileSync(join(ROOT, 'topologies/wordcount.yaml'), file);
  const state = join(dir, 'state');

  const first = await startRun(file, state);
  assert.match(first.run.stdout, /duality: wordcount running on the embedded log \(.*state\/log\), http:\/\/127\.0\.0\.1:\d+/);
  assert.ok(first.run.stdout.includes(`curl -X POST ${first.url}/topics/TextLinesTopic/records -H 'content-type: application/json' -d '{"value": "hello world"}'`), first.run.stdout);
  assert.ok(first.run.stdout.includes(`curl ${first.url}/tables/word-counts/keys/hello`), first.run.stdout);

  const posted = await fetch(`${first.url}/topics/TextLinesTopic/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ value: 'hello world' }, { value: 'hello duality' }]) });
  assert.equal(posted.status, 200);
  await until('hello counted twice', async () => ((await count(first.url, 'hello')) === 2 ? true : undefined));
  assert.equal(await count(first.url, 'duality'), 1);

  first.run.child.kill('SIGTERM');
  assert.equal(await first.run.exit(10_000), 0, first.run.stderr);
  assert.match(first.run.stderr, /SIGTERM: stopping/);

  const second = await startRun(file, state);
  assert.equal(await count(second.url, 'hello'), 2, 'counts are back before the first new record');
  assert.equal(await count(second.url, 'world'), 1);
  second.run.child.kill('SIGINT');
  assert.equal(await second.run.exit(10_000), 0, second.run.stderr);
});

test('duality run: a record that fails under policy fail stops it with exit 1, naming the record', async () => {
  const dir = tempDir();
  const file = join(dir, 'totals.yaml');
  writeFileSync(file, 'version: 1\nname: totals\nerrors:\n  policy: fail\nstreams:\n  orders:\n    topic: orders\n    value: json\ntables:\n  per-sku:\n    from: orders\n    steps:\n      - groupByKey\n      - sum: value.qty\n');
  const { run, url } = await startRun(file, join(dir, 'state'));
  const posted = await fetch(`${url}/topics/orders/records`, { method: 'POST', body: JSON.stringify({ key: 'a', value: { price: 1 } }) });
  assert.equal(posted.status, 200);
  assert.equal(await run.exit(10_000), 1);
  assert.match(run.stderr, /orders-0@0/);
});

test('duality run: an invalid topology exits 1 with file:line:col; brokers and a bad port are usage errors', async () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'version: 1\nname: bad\nstreams:\n  lines:\n    topic: t\n    value: strng\n');
  const invalid = cli(['run', bad, '--port', '0', '--state-dir', join(dir, 'state')]);
  assert.equal(await invalid.exit(10_000), 1);
  assert.match(invalid.stderr, new RegExp(`${bad.replace(/[.\\/]/g, '\\$&')}:6:12: streams\\.lines\\.value: `));

  const wordcount = join(ROOT, 'topologies/wordcount.yaml');
  const brokers = cli(['run', wordcount, '--brokers', 'localhost:9092', '--state-dir', join(dir, 'state')]);
  assert.equal(await brokers.exit(10_000), 2);
  assert.match(brokers.stderr, /Kafka is not available yet/);
  const env = cli(['run', wordcount, '--state-dir', join(dir, 'state')], { KAFKA_BROKERS: 'broker:9092' });
  assert.equal(await env.exit(10_000), 2);
  const port = cli(['run', wordcount, '--port', 'eighty']);
  assert.equal(await port.exit(10_000), 2);
  assert.match(port.stderr, /--port must be a number/);
});
