import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A small filesystem mounted for a scenario: a loop-mounted ext4 image, else a tmpfs. */
export interface SmallFs {
  /** `ext4-loop` or `tmpfs`. */
  readonly kind: string;
  readonly dir: string;
  /** Bytes free to an unprivileged writer now (ext4 is made without blocks reserved for root). */
  free(): number;
  /** Unmounts it and deletes its image; safe to call twice. */
  unmount(): Promise<void>;
}

/**
 * Mounts a filesystem of `sizeMb` on `workDir`/mnt, for a disk that fills up: `kind` ext4 (a
 * loop-mounted image), tmpfs, or auto (ext4, else tmpfs). Needs root (mount);
 * without it, or when neither kind mounts, it throws saying why, so that a scenario fails rather
 * than passes without having filled anything. The reasons an ext4 image did not mount are kept in
 * `tried`'s message when tmpfs was used instead.
 */
export async function mountSmallFs(workDir: string, sizeMb: number, kind: 'auto' | 'ext4' | 'tmpfs' = 'auto'): Promise<SmallFs & { readonly tried: string }> {
  if (!['auto', 'ext4', 'tmpfs'].includes(kind)) throw new Error(`no filesystem kind "${kind}": ext4, tmpfs or auto`);
  if (process.getuid?.() !== 0) throw new Error(`mounting a small filesystem needs root (uid ${process.getuid?.()}); run the scenario as root (CI does)`);
  const dir = join(workDir, 'mnt');
  const image = join(workDir, 'fs.img');
  mkdirSync(dir, { recursive: true });
  const free = (): number => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  const unmountAt = (extra: () => void) => {
    let done = false;
    return async (): Promise<void> => {
      if (done) return;
      // lazy (-l): a process still holding a file there (a hung instance) must not keep it mounted
      await exec('umount', ['-l', dir]).catch(() => undefined);
      extra();
      done = true;
    };
  };
  try {
    if (kind === 'tmpfs') throw new Error('tmpfs asked for');
    await exec('truncate', ['-s', `${sizeMb}M`, image]);
    // -m 0: no blocks kept for root, which the suite is, so the disk is full when df says so.
    await exec('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
    await exec('mount', ['-o', 'loop', image, dir]);
    return { kind: 'ext4-loop', dir, free, tried: '', unmount: unmountAt(() => rmSync(image, { force: true })) };
  } catch (e) {
    rmSync(image, { force: true });
    if (kind === 'ext4') throw new Error(`could not mount ext4 on a loop device at ${dir}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    const why = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    try {
      await exec('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
    } catch (e2) {
      throw new Error(`could not mount a small filesystem on ${dir}: ext4 on a loop device: ${why}; tmpfs: ${e2 instanceof Error ? e2.message.split('\n')[0] : String(e2)}`);
    }
    return { kind: 'tmpfs', dir, free, tried: kind === 'tmpfs' ? '' : `ext4 on a loop device did not mount: ${why}`, unmount: unmountAt(() => undefined) };
  }
}

/** Writes a file of zeros at `path` that leaves `leaveBytes` free on its filesystem; its size. */
export function fill(fs: SmallFs, path: string, leaveBytes: number): number {
  const chunk = Buffer.alloc(1 << 20);
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (let left = fs.free() - leaveBytes; left > 0; left = fs.free() - leaveBytes) {
      written += writeSync(fd, chunk, 0, Math.min(chunk.length, left));
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
