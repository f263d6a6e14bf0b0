import { readdirSync, symlinkSync } from 'node:fs';
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

/**
 * A full disk for an open LevelDB in `path`, without root or a mount: the files it makes next
 * (write-ahead logs, tables) are made symlinks to /dev/full, whose writes fail with the kernel's
 * ENOSPC. LevelDB makes a new log once its memtable (4 MB) is full: write more than that.
 */
export function fullDiskAhead(path: string): void {
  const numbers = readdirSync(path).map((f) => Number(/^(\d+)\./.exec(f)?.[1] ?? 0));
  const last = Math.max(0, ...numbers);
  for (let n = last + 1; n <= last + 20; n++) {
    for (const ext of ['log', 'ldb']) symlinkSync('/dev/full', join(path, `${String(n).padStart(6, '0')}.${ext}`));
  }
}

/** A value of 64 KiB: about 70 of them fill a LevelDB memtable. */
export const bigValue = (fill: number): Buffer => Buffer.alloc(64 << 10, fill);
