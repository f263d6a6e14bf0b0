import { replaceFile } from '../io/replace-file.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A task's `.checkpoint`: for each store, the changelog offset its LevelDB database reflects, i.e.
 * the next changelog offset a restore has to replay. It is the last step of a commit (after
 * `persist`), so a crash before it only makes the next restore replay a little more.
 */
export type Checkpoint = Record<string, number>;

export const CHECKPOINT_FILE = '.checkpoint';

/** The task's checkpoint, or undefined when it is missing or unreadable (restore from 0 then). */
export async function readCheckpoint(taskDir: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(join(taskDir, CHECKPOINT_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const out: Checkpoint = {};
  for (const [store, offset] of Object.entries(parsed)) {
    // One bad entry means the file is not one we wrote: trust none of it.
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) return undefined;
    out[store] = offset as number;
  }
  return out;
}

/** Writes of each checkpoint file, chained: two commits at once (a stop during a commit) must not share the temporary file. */
const writes = new Map<string, Promise<void>>();

/**
 * Replaces the checkpoint atomically (engine/io/replace-file.ts): a reader sees the old checkpoint
 * or the new one, never half of one. Writes to one file run one after another, in call
 * order, so the last one called is the one that stays.
 */
export function writeCheckpoint(taskDir: string, checkpoint: Checkpoint): Promise<void> {
  const path = join(taskDir, CHECKPOINT_FILE);
  const text = JSON.stringify(checkpoint) + '\n';
  const run = (writes.get(path) ?? Promise.resolve()).catch(() => {}).then(() => replaceFile(taskDir, CHECKPOINT_FILE, text));
  const tail = run.catch(() => {});
  writes.set(path, tail);
  void tail.then(() => {
    if (writes.get(path) === tail) writes.delete(path);
  });
  return run;
}

