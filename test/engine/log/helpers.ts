import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogRecord, ProducedRecord, RebalanceListener, TopicPartition } from '../../../engine/api/log.js';

export const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

export function rec(topic: string, key: string | null, value: string | null, extra: Partial<ProducedRecord> = {}): ProducedRecord {
  return { topic, key: key === null ? null : buf(key), value: value === null ? null : buf(value), timestamp: 1000, ...extra };
}

/** The values of records as text, for compact assertions. */
export const values = (records: readonly LogRecord[]): (string | null)[] => records.map((r) => r.value?.toString('utf8') ?? null);

/** A rebalance listener that remembers what it was told. */
export function recordingListener(): RebalanceListener & { assigned: TopicPartition[][]; revoked: TopicPartition[][] } {
  const assigned: TopicPartition[][] = [];
  const revoked: TopicPartition[][] = [];
  return {
    assigned,
    revoked,
    onAssigned: async (tps) => void assigned.push(tps),
    onRevoked: async (tps) => void revoked.push(tps),
  };
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'duality-log-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
