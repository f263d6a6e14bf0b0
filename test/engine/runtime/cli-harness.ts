import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { ROOT } from '../../root.js';

// Runs the real `duality` command line in child processes, for tests of `duality run`.

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  // A failed test must not leave its server running.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'duality-run-'));
  dirs.push(dir);
  return dir;
}

export interface Cli {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code, or rejects if the process has not exited `ms` after the call. */
  exit(ms: number): Promise<number | null>;
}

/** Runs `node bin args`: the checkout's `duality` unless `bin` names another copy (the image's, test/helm). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, bin = join(ROOT, 'bin/duality.js')): Cli {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, KAFKA_BROKERS: '', DUALITY_API_TOKEN: '', ...env } });
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

export async function until<T>(what: string | (() => string), check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `duality run` (with `args` more, `--brokers` for one) and waits until it prints its URL and answers /readyz with 200. */
export async function startRun(file: string, stateDir: string, args: string[] = []): Promise<{ run: Cli; url: string }> {
  const run = cli(['run', file, '--port', '0', '--state-dir', stateDir, ...args]);
  return { run, url: await ready(run) };
}

/** Waits until a `duality run` prints its URL on 127.0.0.1 and answers /readyz with 200; gives the URL. */
export async function ready(run: Cli): Promise<string> {
  const url = await until(() => `the URL in the output:\n${run.stdout}\n${run.stderr}`, () => /http:\/\/127\.0\.0\.1:\d+/.exec(run.stdout)?.[0]);
  await until('/readyz', async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined));
  return url;
}

/** A table's value for a key, as `GET /tables/{table}/keys/{key}` answers; undefined for a 404. */
export async function tableValue(url: string, table: string, key: string): Promise<unknown> {
  const r = await fetch(`${url}/tables/${table}/keys/${key}`);
  return r.status === 200 ? ((await r.json()) as { value: unknown }).value : undefined;
}

/** Starts `duality run` as startRun does, gives `work` its URL, then stops it with SIGTERM, which it must answer with exit 0. */
export async function withRun(file: string, stateDir: string, args: string[], work: (url: string, run: Cli) => Promise<void>): Promise<void> {
  const { run, url } = await startRun(file, stateDir, args);
  try {
    await work(url, run);
  } finally {
    run.child.kill('SIGTERM');
  }
  assert.equal(await run.exit(15_000), 0, run.stderr);
}

/** Waits until `node` of the run at `url` has seen `n` records (since that process started). */
export async function untilRecordsIn(url: string, node: string, n: number): Promise<void> {
  let seen = 0;
  await until(
    () => `${node} to see ${n} records, saw ${seen}`,
    async () => ((seen = await recordsIn(url, node)) >= n ? true : undefined),
  );
}

/** `duality_records_in_total` of a node, as /metrics shows it (0 before its first record). */
export async function recordsIn(url: string, node: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`duality_records_in_total{node="${node}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

/** A port nothing listens on: one the system gave a server that is closed again. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** The lines of a `duality run`'s stderr when it is no terminal: each one JSON, `{"level", "time", "msg"}`. */
export function logLines(stderr: string): { level: string; time: string; msg: string }[] {
  return stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { level: string; time: string; msg: string });
}
