import type { Log } from '../api/log.js';
import type { RecordCollector } from '../api/serde.js';
import type { KeyValueStore } from '../api/store.js';
import type { Subtopology, TopologyGraph } from '../api/topology-graph.js';
import type { CacheBudget } from '../state/cache-budget.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from '../state/checkpoint.js';
import type { MeteredStore } from '../state/metered-store.js';
import { restoreStore, type RestoreStep } from '../state/restore.js';
import { storeDir, taskDir } from '../state/state-dir.js';
import { buildKeyValueStore, keyValueLayout } from '../state/store-builder.js';

/** A task's stores, restored and open, with the commit steps that concern them. */
export interface TaskStores {
  readonly typed: ReadonlyMap<string, KeyValueStore>;
  /** The timestamp of the record being processed; changelog records carry it. */
  readonly time: { current: number };
  /** Records replayed from changelogs when the task opened. */
  readonly restored: number;
  flush(): void;
  /**
   * Right after the log committed: takes what the stores hold to write it to disk, and, once the
   * changelogs have moved on by CHECKPOINT_RECORDS since the last checkpoint, their end offsets.
   * Resolves, before processing goes on, with `landed`: the writes on disk, then the checkpoint.
   */
  persist(): Promise<{ landed: Promise<void> }>;
  /** `committed`: the task's last commit covers everything it did, so a checkpoint may be taken now. */
  close(committed: boolean): Promise<void>;
  approximateSize(store: string): number;
}

export interface TaskStoresOptions {
  readonly graph: TopologyGraph;
  readonly sub: Subtopology;
  readonly partition: number;
  readonly taskId: string;
  readonly log: Log;
  readonly stateDir: string;
  readonly collector: RecordCollector;
  readonly cache: CacheBudget;
  /** The engine's log, for a store rebuilt because it is damaged. */
  readonly say: (line: string) => void;
  /** Told how each store's restore goes (engine/runtime/restore-tracker.ts). */
  readonly restoring?: (store: string) => (step: RestoreStep) => void;
}

/**
 * Changelog records a task writes before its checkpoint is taken again, as Kafka Streams'
 * OFFSET_DELTA_THRESHOLD_FOR_CHECKPOINT: taking one costs an end-offset request per changelog and
 * two fsyncs, and under exactly_once a commit comes every 100 ms. A checkpoint that lags only
 * makes a restore replay more (a changelog replays onto a store as often as need be); a clean
 * close takes one.
 */
export const CHECKPOINT_RECORDS = 10_000;

/** Restores each store of the task from its changelog (from the checkpoint when there is one), then opens it. */
export async function openTaskStores(o: TaskStoresOptions): Promise<TaskStores> {
  const dir = taskDir(o.stateDir, o.graph.name, o.taskId);
  const checkpoint: Checkpoint = (await readCheckpoint(dir)) ?? {};
  const time = { current: 0 };
  // Changelog records sent since the last checkpoint: only the stores send through this collector.
  let sinceCheckpoint = 0;
  const collector: RecordCollector = {
    send: (r) => {
      sinceCheckpoint++;
      o.collector.send(r);
    },
    check: (r) => o.collector.check?.(r),
  };
  const stores = new Map<string, MeteredStore>();
  const changelogs = new Map<string, string>();
  let restored = 0;
  for (const name of o.sub.stores) {
    const info = o.graph.stores.find((s) => s.name === name)!;
    const damaged = (why: string): void => o.say(`duality: store "${name}" of task ${o.taskId} is damaged (${why}); rebuilding it from its changelog ${info.changelogTopic}`);
    const result = await restoreStore(o.log, info, o.partition, storeDir(o.stateDir, o.graph.name, o.taskId, name), checkpoint[name], damaged, undefined, o.restoring?.(name));
    restored += result.records;
    checkpoint[name] = result.offset;
    changelogs.set(name, info.changelogTopic);
    stores.set(name, await buildKeyValueStore(keyValueLayout(info), { app: o.graph.name, taskId: o.taskId, partition: o.partition, stateDir: o.stateDir, collector, cache: o.cache, timestamp: () => time.current }, result.keys));
  }
  if (changelogs.size > 0) await writeCheckpoint(dir, checkpoint);
  // Asked right after a commit, before processing goes on: this task is the only writer of its
  // changelog partitions, so their end is what the stores hold once that commit's writes land
  // (under exactly_once it may not count the transaction just committed yet, whose markers land a
  // moment later: the checkpoint then lags, which is safe).
  const changelogEnds = async (): Promise<Checkpoint> => {
    sinceCheckpoint = 0;
    const ends: Checkpoint = {};
    for (const [name, topic] of changelogs) ends[name] = (await o.log.endOffsets(topic))[o.partition] ?? 0;
    return ends;
  };
  // Each store records its offset in a batch of its own writes first (LevelDbStore.persist), so a
  // store that lost writes since shows it: its record falls behind the checkpoint.
  const persist = (ends?: Checkpoint): Promise<unknown> => Promise.all([...stores].map(([name, s]) => s.persist(ends?.[name])));
  const takeCheckpoint = async (ends: Checkpoint): Promise<void> => {
    Object.assign(checkpoint, ends);
    await writeCheckpoint(dir, checkpoint);
  };
  return {
    typed: stores,
    time,
    restored,
    flush() {
      for (const s of stores.values()) s.flush();
    },
    async persist() {
      // Processing waits for this: nothing is put into the stores until each has taken its writes.
      const ends = sinceCheckpoint >= CHECKPOINT_RECORDS && changelogs.size > 0 ? await changelogEnds() : undefined;
      const writes = persist(ends);
      writes.catch(() => undefined);
      const landed = writes.then(() => (ends ? takeCheckpoint(ends) : undefined));
      // Awaited by the engine only once every task's persist has resolved, and another task's may
      // wait for the log meanwhile: a disk that fails first must not be an unhandled rejection
      // (which ends the process without a word) but the commit's failure when it is awaited.
      landed.catch(() => undefined);
      return { landed };
    },
    async close(committed) {
      if (committed && sinceCheckpoint > 0 && changelogs.size > 0) {
        const ends = await changelogEnds();
        await persist(ends);
        await takeCheckpoint(ends);
      }
      for (const s of stores.values()) await s.close();
    },
    approximateSize: (store) => stores.get(store)?.approximateSize() ?? 0,
  };
}
