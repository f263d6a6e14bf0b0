import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Cli {
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

export async function until<T>(what: string | (() => string), check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `duality run` and waits until it prints its URL and answers /readyz with 200. */
export async function startRun(file: string, stateDir: string): Promise<{ run: Cli; url: string }> {
  const run = cli(['run', file, '--port', '0', '--state-dir', stateDir]);
  const url = await until(() => `the URL in the output:\n${run.stdout}\n${run.stderr}`, () => /http:\/\/127\.0\.0\.1:\d+/.exec(run.stdout)?.[0]);
  await until('/readyz', async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined));
  return { run, url };
}

