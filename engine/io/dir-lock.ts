import { readFileSync } from 'node:fs';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DualityError } from '../api/diagnostics.js';

/*
 * One process per directory: the embedded log's `<state-dir>/log/LOCK` and the state directory's
 * `<state-dir>/<name>/.lock`. The lock file holds its owner's pid and when that process started
 * (field 22 of /proc/<pid>/stat), so that a lock whose pid now names another process is known for
 * stale: after a container restart Duality is PID 1 again, and the lock its killed predecessor left
 * names PID 1 too. A zombie (killed, not yet collected by its parent) holds nothing either. The
 * file is created with link(2), which fails when the file exists and never shows a half-written
 * owner. Two processes taking over the same stale lock at the very same moment are not guarded
 * against: one process per directory is the contract, this lock the guard against mistakes.
 */

export interface DirectoryLock {
  readonly path: string;
  /** Removes the lock file, when it is still this process's. */
  release(): Promise<void>;
}

interface Owner {
  readonly pid: number;
  /** Undefined in a lock written before start times were recorded (the embedded log's, once). */
  readonly started?: string | undefined;
}

/** Lock files this process holds, or is taking: a second holder in the same process is refused too. */
const held = new Set<string>();

/** Takes `<dir>/<file>` (dir must exist) for this process; `what` names the directory in errors. */
export async function lockDirectory(dir: string, file: string, what: string): Promise<DirectoryLock> {
  const path = join(dir, file);
  if (held.has(path)) throw inUse(what, dir, process.pid);
  held.add(path);
  const text = JSON.stringify({ pid: process.pid, started: procStat(process.pid)?.started } satisfies Owner) + '\n';
  const temp = join(dir, `${file}.${process.pid}.tmp`);
  try {
    await writeFile(temp, text);
    for (let attempt = 0; ; attempt++) {
      try {
        await link(temp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = await readOwner(path);
      const state = owner === undefined ? 'gone' : liveness(owner);
      if (state !== 'gone') throw inUse(what, dir, owner!.pid, state === 'unsure' ? path : undefined);
      if (attempt > 0) throw new DualityError('LOCKED', `${what} ${dir}: another process took over the stale lock ${path} at the same moment as this one; start one process per directory`);
      await unlink(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
  } catch (e) {
    held.delete(path);
    throw e;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return {
    path,
    release: async () => {
      if (!held.delete(path)) return;
      if ((await readFile(path, 'utf8').catch(() => undefined)) === text) await unlink(path).catch(() => undefined);
    },
  };
}

/** `unsure`: the lock file, named when it cannot be told whether the process with that pid wrote it. */
function inUse(what: string, dir: string, pid: number, unsure?: string): DualityError {
  const who = pid === process.pid ? `process ${pid} (this one)` : `process ${pid}`;
  const hint = unsure === undefined ? '' : ` (if process ${pid} is not Duality, delete ${unsure})`;
  return new DualityError('LOCKED', `${what} ${dir} is in use by ${who}; stop it, or give this process its own --state-dir${hint}`);
}

/** The lock file's owner; undefined for a file that is gone, empty or unreadable (a stale lock). */
async function readOwner(path: string): Promise<Owner | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  // Before start times were recorded, the embedded log's lock held the bare pid.
  if (/^\d+\s*$/.test(text)) return { pid: Number(text) };
  try {
    const { pid, started } = JSON.parse(text) as Partial<Owner>;
    if (!Number.isSafeInteger(pid) || pid! <= 0) return undefined;
    return { pid: pid!, started: typeof started === 'string' ? started : undefined };
  } catch {
    return undefined;
  }
}

/** Whether the lock's owner runs; `unsure` when a process has its pid but start times cannot tell if it wrote the lock. */
function liveness(owner: Owner): 'gone' | 'alive' | 'unsure' {
  // This pid in a lock this process does not hold (checked first): an earlier process with this pid wrote it.
  if (owner.pid === process.pid) return 'gone';
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return 'gone';
  }
  const stat = procStat(owner.pid);
  // Killed, but its parent has not collected its exit status yet: it holds nothing any more.
  if (stat?.state === 'Z') return 'gone';
  // Without both start times (no /proc, or an old lock) a live pid has to count as the owner.
  if (owner.started === undefined || stat?.started === undefined) return 'unsure';
  return stat.started === owner.started ? 'alive' : 'gone';
}

/**
 * A process's state (`Z`: a zombie) and start time in clock ticks since boot, fields 3 and 22 of
 * /proc/<pid>/stat (Linux); undefined elsewhere.
 */
function procStat(pid: number): { state: string | undefined; started: string | undefined } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name, which is in parentheses and may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], started: fields[19] };
  } catch {
    return undefined;
  }
}
