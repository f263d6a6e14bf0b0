import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DualityError } from '../api/diagnostics.js';
import type { Manifest } from './manifest.js';

/*
 * What opening the embedded log may change on disk: the bytes past a partition's committed length
 * (a commit a crash cut short, which no manifest ever named) and the files of topics the manifest
 * records as deleted. Anything else that does not match the manifest is damage, and the log refuses
 * to open, changing nothing: records no manifest disowns are never cut or deleted.
 */

interface SegmentFile {
  readonly topic: string;
  readonly partition: number;
  /** Relative to the log directory, for messages. */
  readonly name: string;
  readonly bytes: number;
}

/**
 * Checks the segment files under `<dir>/topics` against `manifest` (undefined: there is none);
 * resolves with the names of deleted topics whose files are still there, to remove. Only
 * `<topic>/<partition>.log` files are the log's; other files are left alone.
 */
export async function checkSegments(dir: string, manifest: Manifest | undefined): Promise<string[]> {
  const files = await segmentFiles(dir);
  const partitions = new Map((manifest?.topics ?? []).map((t) => [t.name, t.bytes]));
  const deleted = new Set((manifest?.deleted ?? []).filter((name) => !partitions.has(name)));
  const unlisted = files.filter((f) => f.bytes > 0 && !deleted.has(f.topic) && f.partition >= (partitions.get(f.topic)?.length ?? 0));
  if (unlisted.length > 0) throw manifest ? notInManifest(dir, unlisted, partitions) : noManifest(dir, unlisted);
  const sizes = new Map(files.map((f) => [f.name, f.bytes]));
  for (const [topic, committed] of partitions) {
    committed.forEach((bytes, partition) => {
      const name = segmentName(topic, partition);
      const size = sizes.get(name) ?? 0;
      if (size < bytes) {
        const has = sizes.has(name) ? `holds ${size} bytes` : 'is missing';
        throw damaged(`${join(dir, name)} ${has} but ${bytes} bytes were committed; the disk lost acknowledged data`, `put the segment back from a backup, or move ${dir} away (its records stay there) to start with an empty log`);
      }
    });
  }
  return [...deleted].filter((name) => files.some((f) => f.topic === name));
}

const segmentName = (topic: string, partition: number): string => join('topics', topic, `${partition}.log`);

async function segmentFiles(dir: string): Promise<SegmentFile[]> {
  const out: SegmentFile[] = [];
  for (const topic of await readdir(join(dir, 'topics'), { withFileTypes: true })) {
    if (!topic.isDirectory()) continue;
    for (const file of await readdir(join(dir, 'topics', topic.name))) {
      const m = /^(0|[1-9]\d*)\.log$/.exec(file);
      if (!m) continue;
      const name = segmentName(topic.name, Number(m[1]));
      out.push({ topic: topic.name, partition: Number(m[1]), name, bytes: (await stat(join(dir, name))).size });
    }
  }
  return out;
}

function damaged(what: string, recover: string): DualityError {
  return new DualityError('DAMAGED', `${what}; nothing was changed. To recover, ${recover}.`);
}

const listing = (files: readonly SegmentFile[], why: (f: SegmentFile) => string = () => ''): string => {
  const shown = files.slice(0, 5).map((f) => `${f.name}: ${f.bytes} bytes${why(f)}`);
  return shown.join(', ') + (files.length > shown.length ? ` and ${files.length - shown.length} more` : '');
};

function noManifest(dir: string, files: readonly SegmentFile[]): DualityError {
  return damaged(
    `${dir} holds records (${listing(files)}) but no manifest.json, the file that says which of them were committed`,
    `put manifest.json back from a backup, or move ${dir} away (its records stay there) to start with an empty log`,
  );
}

function notInManifest(dir: string, files: readonly SegmentFile[], partitions: ReadonlyMap<string, readonly number[]>): DualityError {
  const why = (f: SegmentFile): string => {
    const n = partitions.get(f.topic)?.length;
    return n === undefined ? `, topic "${f.topic}" is not in it` : `, topic "${f.topic}" has ${n} partition${n === 1 ? '' : 's'} in it`;
  };
  return damaged(
    `${join(dir, 'manifest.json')} does not list records on disk (${listing(files, why)}): it is older than the segments (put back from a backup?) or was edited`,
    `put back the manifest.json that lists them, or move those files out of ${join(dir, 'topics')} to drop their records`,
  );
}
