import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { lockStateDir } from '../../../engine/state/state-dir.js';
import { tempDir } from '../state/helpers.js';

/*
 * The embedded log (<state-dir>/log/LOCK) and the state directory (<state-dir>/<name>/.lock) keep a
 * second process off their files with one lock. Each case runs against both, with real processes.
 */

interface Holder {
  readonly what: string;
  /** The directory the lock guards, under a fresh state directory. */
  dir(stateDir: string): string;
  lockFile(stateDir: string): string;
  /** Takes the lock in this process; resolves with its release. */
  take(stateDir: string): Promise<() => Promise<void>>;
  /** A script a child process runs to take the lock and hold it until killed. */
  script(stateDir: string): string;
}

const logModule = new URL('../../../engine/log/embedded-log.js', import.meta.url).href;
const stateModule = new URL('../../../engine/state/state-dir.js', import.meta.url).href;

const holders: Holder[] = [
  {
    what: 'embedded log',
    dir: (s) => join(s, 'log'),
    lockFile: (s) => join(s, 'log', 'LOCK'),
    take: async (s) => {
      const log = await EmbeddedLog.open(join(s, 'log'));
      return () => log.close();
    },
    script: (s) => `const { EmbeddedLog } = await import(${JSON.stringify(logModule)}); await EmbeddedLog.open(${JSON.stringify(join(s, 'log'))});`,
  },
  {
    what: 'state directory',
    dir: (s) => join(s, 'app'),
    lockFile: (s) => join(s, 'app', '.lock'),
    take: async (s) => {
      const lock = await lockStateDir(s, 'app');
      return () => lock.release();
    },
    script: (s) => `const { lockStateDir } = await import(${JSON.stringify(stateModule)}); await lockStateDir(${JSON.stringify(s)}, 'app');`,
  },
];

/** A child process that holds the lock: resolves once it has it. */
async function childHolding(t: TestContext, h: Holder, stateDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `${h.script(stateDir)} console.log('locked'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((locked, failed) => {
    child.stdout!.on('data', () => locked());
    child.on('exit', (code) => failed(new Error(`the child exited with ${code} before it took the lock`)));
  });
  return child;
}

/**
 * A child that takes the lock under a parent that never reaps its children (a shell that becomes
 * `sleep`), killed with SIGKILL: it stays a zombie, a process that is gone but still has its pid.
 */
async function zombieThatHeld(t: TestContext, h: Holder, stateDir: string): Promise<number> {
  const script = `${h.script(stateDir)} console.log(process.pid); setInterval(() => {}, 1000);`;
  const parent = spawn('sh', ['-c', '"$0" "$@" & exec sleep 600', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => parent.kill('SIGKILL'));
  const pid = await new Promise<number>((locked, failed) => {
    parent.stdout!.once('data', (d: Buffer) => locked(Number(d.toString().trim())));
    parent.on('exit', (code) => failed(new Error(`the shell exited with ${code} before its child took the lock`)));
  });
  process.kill(pid, 'SIGKILL');
  const state = async (): Promise<string | undefined> => /^State:\s+(\S)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1];
  while ((await state()) !== 'Z') await new Promise((r) => setTimeout(r, 10));
  return pid;
}

/** A process that lives until the test ends and never touches the lock. */
function bystander(t: TestContext): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  return child;
}

/** What /proc says about when this process started (field 22 of /proc/<pid>/stat). */
async function startTimeOf(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

async function forge(h: Holder, stateDir: string, text: string): Promise<void> {
  await mkdir(h.dir(stateDir), { recursive: true });
  await writeFile(h.lockFile(stateDir), text);
}

for (const h of holders) {
  describe(`the lock of the ${h.what}`, () => {
    it('is taken over from a process killed with SIGKILL', async (t) => {
      const stateDir = await tempDir(t);
      const child = await childHolding(t, h, stateDir);
      child.kill('SIGKILL');
      await new Promise((exited) => child.once('exit', exited));
      const release = await h.take(stateDir);
      await release();
      await assert.rejects(readFile(h.lockFile(stateDir)), /ENOENT/, 'the release removes the lock file');
    });

    it('is taken over from a process killed with SIGKILL that its parent has not reaped yet (a zombie keeps its pid)', async (t) => {
      const stateDir = await tempDir(t);
      const pid = await zombieThatHeld(t, h, stateDir);
      assert.match(await readFile(h.lockFile(stateDir), 'utf8'), new RegExp(`"pid":${pid}\\b`));
      const release = await h.take(stateDir);
      await release();
    });

    it("is taken over when it names this process's pid but an earlier process wrote it (a restarted container is PID 1 again)", async (t) => {
      const stateDir = await tempDir(t);
      // As an earlier Duality with this pid left it: the pid alone, or the pid and another start time.
      for (const text of [`${process.pid}\n`, JSON.stringify({ pid: process.pid, started: String(Number(await startTimeOf(process.pid)) - 1) })]) {
        await forge(h, stateDir, text);
        const release = await h.take(stateDir);
        await release();
      }
    });

    it('is taken over when its pid now belongs to a process that started after the lock was written', async (t) => {
      const stateDir = await tempDir(t);
      const other = bystander(t);
      await forge(h, stateDir, JSON.stringify({ pid: other.pid, started: String(Number(await startTimeOf(other.pid!)) - 1) }));
      const release = await h.take(stateDir);
      await release();
    });

    it('refuses while a live process holds it, naming that process, and leaves the lock alone', async (t) => {
      const stateDir = await tempDir(t);
      const child = await childHolding(t, h, stateDir);
      const before = await readFile(h.lockFile(stateDir), 'utf8');
      await assert.rejects(h.take(stateDir), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'LOCKED');
        assert.match(e.message, new RegExp(`^${h.what} ${h.dir(stateDir)} is in use by process ${child.pid}; stop it, or give this process its own --state-dir$`));
        return true;
      });
      assert.equal(await readFile(h.lockFile(stateDir), 'utf8'), before);
    });

    it('refuses a lock an older Duality left (the pid alone) while a process has that pid, saying which file to delete if it is not Duality', async (t) => {
      const stateDir = await tempDir(t);
      const other = bystander(t);
      await forge(h, stateDir, `${other.pid}\n`);
      await assert.rejects(h.take(stateDir), new RegExp(`is in use by process ${other.pid}; .* \\(if process ${other.pid} is not Duality, delete ${h.lockFile(stateDir)}\\)$`));
    });

    it('refuses a second holder in this process until the first releases it', async (t) => {
      const stateDir = await tempDir(t);
      const release = await h.take(stateDir);
      await assert.rejects(h.take(stateDir), new RegExp(`is in use by process ${process.pid} \\(this one\\)`));
      await release();
      await (await h.take(stateDir))();
    });
  });
}
