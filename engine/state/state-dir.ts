import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { lockDirectory, type DirectoryLock } from '../io/dir-lock.js';

/*
 * The state directory layout: <stateDir>/<app>/<taskId>/<store>/ holds one LevelDB database,
 * <stateDir>/<app>/<taskId>/.checkpoint the changelog offsets its stores reflect, and
 * <stateDir>/<app>/.lock the process that owns them all.
 */

export const appDir = (stateDir: string, app: string): string => join(stateDir, app);
export const taskDir = (stateDir: string, app: string, taskId: string): string => join(stateDir, app, taskId);
export const storeDir = (stateDir: string, app: string, taskId: string, store: string): string => join(stateDir, app, taskId, store);

export type StateDirLock = DirectoryLock;

/**
 * Takes `<stateDir>/<app>` for this process. Two processes on one state directory would each
 * replay and write the same stores; LevelDB's own LOCK would stop the second only with an
 * obscure error halfway through start-up, so this lock refuses it first, saying who holds it
 * (engine/io/dir-lock.ts).
 */
export async function lockStateDir(stateDir: string, app: string): Promise<StateDirLock> {
  const dir = resolve(appDir(stateDir, app));
  await mkdir(dir, { recursive: true });
  return lockDirectory(dir, '.lock', 'state directory');
}
