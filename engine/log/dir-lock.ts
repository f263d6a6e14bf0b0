import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * One process per log directory. `<dir>/LOCK` holds the owner's pid; it is created with link(2),
 * which fails when the file exists and never exposes a half-written pid. A lock whose process is
 * gone (kill -9, power cut) is taken over. Two processes taking over the same stale lock at the
 * very same moment is not guarded against; starting one process per directory is the contract.
 */

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ownerOf(lock: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(lock, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Takes the lock of `dir` (which must exist); resolves with the function that releases it. */
export async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const lock = join(dir, 'LOCK');
  const temp = join(dir, `LOCK.${process.pid}.tmp`);
  await writeFile(temp, `${process.pid}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(temp, lock);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = await ownerOf(lock);
      if (owner !== undefined && alive(owner)) {
        const who = owner === process.pid ? 'this process (it is already open)' : `process ${owner}`;
        throw new Error(
          `embedded log: ${dir} is in use by ${who}; stop it first, or give this process its own --state-dir ` +
            `(if no such process is running, delete ${lock})`,
        );
      }
      if (attempt > 0) throw new Error(`embedded log: could not take over the stale lock ${lock}; another process is starting on ${dir}`);
      await unlink(lock).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return async () => {
    if ((await ownerOf(lock)) === process.pid) await unlink(lock);
  };
}
