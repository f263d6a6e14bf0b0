import { DualityError } from '../api/diagnostics.js';
import type { Log } from '../api/log.js';
import type { TopologyGraph } from '../api/topology-graph.js';
import { compareFingerprints, successorRecord, verdictLines } from './compare.js';
import { fingerprintsOf, type Fingerprints } from './fingerprint.js';

/**
 * The fingerprints of the last topology that started are kept in the log itself, in a compacted
 * one-partition topic `<app>-topology` (the latest record wins): every instance, a restarted one or
 * one on a new machine with an empty state directory, reads the same, and `duality reset` deletes
 * it with the other internal topics. Not in the state directory (a new instance has none), nor in
 * the changelogs' topic configs (Kafka refuses configs it does not know) or record headers (an
 * empty store has no record to carry them).
 */
export const topologyTopic = (app: string): string => `${app}-topology`;

const KEY = Buffer.from('fingerprints');

/** A new version of the topology would misread or silently drop the state its predecessor left. */
export class IncompatibleUpgradeError extends DualityError {
  constructor(readonly lines: readonly string[]) {
    super('INCOMPATIBLE_UPGRADE', lines.join('\n'));
    this.name = 'IncompatibleUpgradeError';
  }
}

function isFingerprints(v: unknown): v is Fingerprints {
  const f = v as Fingerprints | null;
  return typeof f === 'object' && f !== null && f.version === 1 && typeof f.stores === 'object' && typeof f.repartitions === 'object' && typeof f.sinks === 'object' && typeof f.retired?.stores === 'object' && typeof f.retired.repartitions === 'object';
}

/** The fingerprints recorded by the last start of `app`, or undefined when none started since its last reset. */
export async function readRecorded(log: Log, app: string): Promise<Fingerprints | undefined> {
  const topic = topologyTopic(app);
  if ((await log.partitions(topic)) === undefined) return undefined;
  const [end = 0] = await log.endOffsets(topic);
  let last: Buffer | null = null;
  for (let offset = 0; offset < end; ) {
    const batch = await log.read({ topic, partition: 0 }, offset, 100);
    if (batch.length === 0) break;
    for (const r of batch) if (r.key?.equals(KEY)) last = r.value;
    offset = batch[batch.length - 1]!.offset + 1;
  }
  if (last === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(last.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!isFingerprints(parsed)) {
    throw new DualityError('DAMAGED', `the topic ${topic} holds a record that is not a topology's fingerprints (written by another program, or a newer Duality); it is left as it is: delete the topic to start over without the check, or \`duality reset\` the topology`);
  }
  return parsed;
}

async function record(log: Log, app: string, f: Fingerprints): Promise<void> {
  const topic = topologyTopic(app);
  await log.createTopics([{ name: topic, partitions: 1, cleanupPolicy: 'compact', role: 'topology' }]);
  const producer = log.producer({ offsets: false });
  try {
    producer.send([{ topic, partition: 0, key: KEY, value: Buffer.from(JSON.stringify(f)), timestamp: Date.now() }]);
    await producer.flush();
  } finally {
    await producer.close();
  }
}

/**
 * On start, before anything is created or read: compares the topology with the one that last
 * started on this log. Incompatible: throws IncompatibleUpgradeError, listing each change and
 * what to do, having changed nothing. Otherwise says what changed and records the topology.
 */
export async function checkUpgrade(graph: TopologyGraph, log: Log, say: (line: string) => void): Promise<void> {
  const now = fingerprintsOf(graph);
  const old = await readRecorded(log, graph.name);
  if (old !== undefined) {
    const verdict = compareFingerprints(old, now);
    if (!verdict.compatible) {
      throw new IncompatibleUpgradeError([`refusing to start ${graph.name} over the state its last version left (recorded in ${topologyTopic(graph.name)}); nothing was changed`, ...verdictLines(verdict)]);
    }
    if (verdict.changes.length > 0) {
      say(`duality: ${graph.name} changed since its last start, compatibly:`);
      for (const l of verdictLines(verdict).slice(1)) say(`duality: ${l}`);
    }
  }
  const next = successorRecord(old, now);
  if (old === undefined || JSON.stringify(old) !== JSON.stringify(next)) {
    await record(log, graph.name, next);
    if (old === undefined) say(`duality: recorded what ${graph.name}'s stores and internal topics hold in ${topologyTopic(graph.name)}, to check later versions against (docs/upgrades.md)`);
  }
}
