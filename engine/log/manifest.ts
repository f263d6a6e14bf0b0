import { replaceFile } from '../io/replace-file.js';
import { readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * The one file that says what the embedded log holds: topics, the committed length of every
 * partition and every group's offsets. Replacing it is the commit point of every write, so records
 * and consumed offsets written together (a transaction) become durable together. Lists rather
 * than objects keyed by name, so no topic or group name can collide with `__proto__`.
 */

export interface ManifestTopic {
  readonly name: string;
  readonly cleanupPolicy?: 'delete' | 'compact' | 'compact,delete' | undefined;
  /** Committed record count and byte length of each partition's segment file. */
  readonly records: readonly number[];
  readonly bytes: readonly number[];
}

export interface ManifestGroup {
  readonly id: string;
  /** [tpKey, next offset to read]. */
  readonly offsets: readonly (readonly [string, number])[];
  /**
   * [tpKey, metadata committed with the offset], where not empty (the task's stream time). A field
   * of its own, not a third element of `offsets`, so a manifest written with it still opens with a
   * version of Duality that does not know it.
   */
  readonly metadata?: readonly (readonly [string, string])[];
}

export interface Manifest {
  readonly format: 1;
  readonly topics: readonly ManifestTopic[];
  readonly groups: readonly ManifestGroup[];
  /**
   * Topics deleted whose segment files may still be on disk: a delete commits with the manifest
   * that drops the topic and only then removes the files, so a crash between leaves files that
   * this list, and nothing else, allows opening the log to remove.
   */
  readonly deleted?: readonly string[];
}

export const EMPTY_MANIFEST: Manifest = { format: 1, topics: [], groups: [] };

const FILE = 'manifest.json';

/** The manifest of `dir`, or undefined for a directory the log has never committed to. */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const where = join(dir, FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`embedded log: ${where} is not valid JSON; it is only ever replaced atomically, so the file was changed by hand or the disk is damaged`, { cause: e });
  }
  if (!isManifest(parsed)) throw new Error(`embedded log: ${where} is not a manifest this version understands`);
  return parsed;
}

function isCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

function isManifest(m: unknown): m is Manifest {
  if (typeof m !== 'object' || m === null) return false;
  const { format, topics, groups, deleted } = m as Record<string, unknown>;
  if (format !== 1 || !Array.isArray(topics) || !Array.isArray(groups)) return false;
  if (deleted !== undefined && !(Array.isArray(deleted) && deleted.every((d) => typeof d === 'string'))) return false;
  const topicOk = (t: unknown): boolean => {
    const { name, records, bytes } = (t ?? {}) as Record<string, unknown>;
    return typeof name === 'string' && Array.isArray(records) && Array.isArray(bytes) &&
      records.length > 0 && records.length === bytes.length && records.every(isCount) && bytes.every(isCount);
  };
  const groupOk = (g: unknown): boolean => {
    const { id, offsets, metadata } = (g ?? {}) as Record<string, unknown>;
    const metadataOk = metadata === undefined || (Array.isArray(metadata) && metadata.every((o) => Array.isArray(o) && o.length === 2 && typeof o[0] === 'string' && typeof o[1] === 'string'));
    return typeof id === 'string' && Array.isArray(offsets) && metadataOk &&
      offsets.every((o) => Array.isArray(o) && o.length === 2 && typeof o[0] === 'string' && isCount(o[1]));
  };
  return topics.every(topicOk) && groups.every(groupOk);
}

/** Replaces the manifest atomically (engine/io/replace-file.ts). */
export function writeManifest(dir: string, dirHandle: FileHandle, manifest: Manifest): Promise<void> {
  return replaceFile(dir, FILE, JSON.stringify(manifest), dirHandle);
}
