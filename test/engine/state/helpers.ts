import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh directory under the OS temp dir, removed when the test ends. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'duality-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export const b = (s: string): Buffer => Buffer.from(s, 'utf8');
export const str = (v: Buffer | undefined): string | undefined => v?.toString('utf8');

/** True for a promise-like: what a synchronous answer must not be. */
export const isThenable = (v: unknown): boolean => typeof (v as { then?: unknown } | undefined)?.then === 'function';

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
