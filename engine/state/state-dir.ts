import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DualityError } from '../api/diagnostics.js';

/*
 * The state directory layout: <stateDir>/<app>/<taskId>/<store>/ holds one LevelDB database,
 * <stateDir>/<app>/<taskId>/.checkpoint the changelog offsets its stores reflect, and
 * <stateDir>/<app>/.lock the process that owns them all.
 */

export const appDir = (stateDir: string, app: string): string => join(stateDir, app);
export const taskDir = (stateDir: string, app: string, taskId: string): string => join(stateDir, app, taskId);
export const storeDir = (stateDir: string, app: string, taskId: string, store: string): string => join(stateDir, app, taskId, store);

const LOCK_FILE = '.lock';

/** What a lock file says: the pid, and when that process started, to tell a reused pid apart. */
interface LockOwner {
  readonly pid: number;
  readonly started?: string;
}

/** Lock files this process holds: a second lock from the same process is refused too. */
const held = new Set<string>();

export interface StateDirLock {
  readonly path: string;
  /** Removes the lock file (when it is still ours). */
  release(): Promise<void>;
}

/**
 * Takes `<stateDir>/<app>` for this process. Two processes on one state directory would each
 * replay and write the same stores; LevelDB's own LOCK would stop the second only with an
 * obscure error halfway through start-up, so this lock refuses it first, saying who holds it.
 * A lock left by a process that is gone (crash, or a container restart that reuses the pid) is
 * taken over.
 */
export async function lockStateDir(stateDir: string, app: string): Promise<StateDirLock> {
  const dir = resolve(appDir(stateDir, app));
  const path = join(dir, LOCK_FILE);
  await mkdir(dir, { recursive: true });
  const me: LockOwner = { pid: process.pid, started: startTime(process.pid) };
  const text = JSON.stringify(me) + '\n';
  // Two rounds: the second follows removing a stale lock file.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (held.has(path)) throw inUse(dir, process.pid);
    try {
      const file = await open(path, 'wx');
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      held.add(path);
      return { path, release: () => release(path, text) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(path);
    if (owner !== undefined && isAlive(owner)) throw inUse(dir, owner.pid);
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  // Another process took the lock between our removing the stale file and creating ours.
  const owner = await readOwner(path);
  throw inUse(dir, owner?.pid ?? 0);
}

function inUse(dir: string, pid: number): DualityError {
  return new DualityError('STORE', `state directory ${dir} is in use by process ${pid}; stop it or use --state-dir`);
}

async function release(path: string, text: string): Promise<void> {
  if (!held.delete(path)) return;
  const now = await readFile(path, 'utf8').catch(() => undefined);
  if (now === text) await unlink(path).catch(() => {});
}

/** The lock file's owner; undefined for a file that is empty or half-written (treated as stale). */
async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    if (!Number.isInteger(parsed.pid) || parsed.pid! <= 0) return undefined;
    return { pid: parsed.pid!, ...(typeof parsed.started === 'string' && { started: parsed.started }) };
  } catch {
    return undefined;
  }
}

function isAlive(owner: LockOwner): boolean {
  // Our own pid in a lock this process does not hold: written by an earlier process that had it.
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = startTime(owner.pid);
  return owner.started === undefined || started === undefined || started === owner.started;
}

/** A process's start time in clock ticks since boot (Linux /proc), or undefined elsewhere. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
