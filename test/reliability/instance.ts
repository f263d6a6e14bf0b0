import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../root.js';

/**
 * One `duality run` of a scenario, a child process of the runner, as an operator would start it:
 * the checkout's bin/duality.js on a port of its own. Its output is kept for the failure report.
 */
export class Instance {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly exited: Promise<number | null>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), 'run', ...args], {
      env: { ...process.env, NO_COLOR: '1', DUALITY_API_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stdout!.on('data', (b: Buffer) => (this.stdout += b.toString()));
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-200_000)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The HTTP API's URL once the instance printed it. */
  async url(timeoutMs = 60_000): Promise<string> {
    return waitFor(`the URL of duality run in its output:\n${this.stdout}\n${this.stderr.slice(-4000)}`, timeoutMs, () => {
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(this.stdout)?.[0];
      if (url === undefined && !this.running) throw new Error(`duality run exited (${this.child.exitCode ?? this.child.signalCode}) before it listened:\n${this.stderr.slice(-4000)}`);
      return url;
    });
  }

  /** Waits until /readyz answers 200; gives the URL. */
  async ready(timeoutMs = 120_000): Promise<string> {
    const url = await this.url(timeoutMs);
    await waitFor(() => `/readyz of ${url}:\n${this.stderr.slice(-4000)}`, timeoutMs, async () => {
      if (!this.running) throw new Error(`duality run exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.stderr.slice(-4000)}`);
      const r = await fetch(`${url}/readyz`).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    });
    return url;
  }

  /** Sends `signal` and waits for the exit; the exit code (null when killed by the signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`duality run still running ${timeoutMs} ms after ${signal}`)), timeoutMs).unref());
    return Promise.race([this.exited, timer]);
  }
}

/** Polls `check` every 100 ms until it gives a value; throws what it throws, or after `timeoutMs`. */
export async function waitFor<T>(what: string | (() => string), timeoutMs: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
