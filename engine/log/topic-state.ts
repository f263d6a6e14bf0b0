import type { CommittedOffset, TopicSpec } from '../api/log.js';
import type { Manifest, ManifestTopic } from './manifest.js';
import { PartitionLog, type SegmentReader } from './partition-log.js';

export interface TopicState {
  readonly spec: TopicSpec;
  readonly partitions: readonly PartitionLog[];
}

/** Group id → tpKey → next offset to read and the metadata committed with it. */
export type GroupOffsets = ReadonlyMap<string, ReadonlyMap<string, CommittedOffset>>;

// Kafka's legal topic names; they also keep a name from escaping the topics directory.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function checkTopicSpec(spec: TopicSpec): void {
  if (!TOPIC_NAME.test(spec.name) || spec.name === '.' || spec.name === '..') {
    throw new Error(`embedded log: "${spec.name}" is not a valid topic name (letters, digits, ".", "_" and "-", at most 249)`);
  }
  if (!Number.isSafeInteger(spec.partitions) || spec.partitions < 1) {
    throw new Error(`embedded log: topic "${spec.name}" needs a positive whole number of partitions, got ${spec.partitions}`);
  }
}

/** A topic's state; with `reader`, its partitions may drop old records from memory and read them from their segment files. */
export function newTopic(spec: TopicSpec, reader?: (topic: string, partition: number) => SegmentReader): TopicState {
  const partitions: PartitionLog[] = [];
  for (let p = 0; p < spec.partitions; p++) partitions.push(new PartitionLog(spec.name, p, reader?.(spec.name, p)));
  return { spec, partitions };
}

/** Partition lengths about to be committed, which the manifest names before memory shows them. */
export type PendingLengths = ReadonlyMap<PartitionLog, { readonly records: number; readonly bytes: number }>;

/** `deleted`: topics whose files may still be on disk (Manifest.deleted). */
export function buildManifest(topics: ReadonlyMap<string, TopicState>, groups: GroupOffsets, deleted: ReadonlySet<string>, pending?: PendingLengths): Manifest {
  const list: ManifestTopic[] = [];
  for (const { spec, partitions } of topics.values()) {
    const records: number[] = [];
    const bytes: number[] = [];
    for (const p of partitions) {
      const next = pending?.get(p);
      records.push(next ? next.records : p.length);
      bytes.push(next ? next.bytes : p.bytes);
    }
    list.push({ name: spec.name, cleanupPolicy: spec.cleanupPolicy, records, bytes });
  }
  const groupList = [...groups].map(([id, offsets]) => {
    const metadata = [...offsets].filter(([, c]) => c.metadata !== '').map(([key, c]) => [key, c.metadata] as const);
    return { id, offsets: [...offsets].map(([key, c]) => [key, c.offset] as const), ...(metadata.length > 0 && { metadata }) };
  });
  const gone = [...deleted].filter((name) => !topics.has(name));
  return { format: 1, topics: list, groups: groupList, ...(gone.length > 0 && { deleted: gone }) };
}

/** Splits a tpKey; topic names cannot contain ':', so the last one separates the partition. */
export function parseTpKey(key: string): { topic: string; partition: number } | undefined {
  const at = key.lastIndexOf(':');
  const partition = Number(key.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(partition) || partition < 0 || key.slice(at + 1) === '') return undefined;
  return { topic: key.slice(0, at), partition };
}
