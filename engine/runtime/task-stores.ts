import type { Log } from '../api/log.js';
import type { RecordCollector } from '../api/serde.js';
import type { KeyValueStore } from '../api/store.js';
import type { Subtopology, TopologyGraph } from '../api/topology-graph.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from '../state/checkpoint.js';
import type { MeteredStore } from '../state/metered-store.js';
import { restoreStore } from '../state/restore.js';
import { storeDir, taskDir } from '../state/state-dir.js';
import { buildKeyValueStore } from '../state/store-builder.js';

/** A task's stores, restored and open, with the commit steps that concern them. */
export interface TaskStores {
  readonly typed: ReadonlyMap<string, KeyValueStore>;
  /** The timestamp of the record being processed; changelog records carry it. */
  readonly time: { current: number };
  /** Records replayed from changelogs when the task opened. */
  readonly restored: number;
  flush(): void;
  /** Writes to disk what the log has committed, then the checkpoint of changelog offsets. */
  persist(): Promise<void>;
  close(): Promise<void>;
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
  readonly cacheEntries: number;
}

/** Restores each store of the task from its changelog (from the checkpoint when there is one), then opens it. */
export async function openTaskStores(o: TaskStoresOptions): Promise<TaskStores> {
  const dir = taskDir(o.stateDir, o.graph.name, o.taskId);
  const checkpoint: Checkpoint = (await readCheckpoint(dir)) ?? {};
  const time = { current: 0 };
  const stores = new Map<string, MeteredStore>();
  const changelogs = new Map<string, string>();
  let restored = 0;
  for (const name of o.sub.stores) {
    const info = o.graph.stores.find((s) => s.name === name)!;
    const result = await restoreStore(o.log, info, o.partition, storeDir(o.stateDir, o.graph.name, o.taskId, name), checkpoint[name]);
    restored += result.records;
    checkpoint[name] = result.offset;
    changelogs.set(name, info.changelogTopic);
    // Window and session stores are key-value stores keyed by window (operators/window-keys.ts).
    const layout = info.type === 'key-value' ? info : { ...info, type: 'key-value' as const, keySerde: 'string' as const, valueSerde: 'json' as const };
    stores.set(name, await buildKeyValueStore(layout, { app: o.graph.name, taskId: o.taskId, partition: o.partition, stateDir: o.stateDir, collector: o.collector, cacheEntries: o.cacheEntries, timestamp: () => time.current }));
  }
  if (changelogs.size > 0) await writeCheckpoint(dir, checkpoint);
  return {
    typed: stores,
    time,
    restored,
    flush() {
      for (const s of stores.values()) s.flush();
    },
    async persist() {
      for (const s of stores.values()) await s.persist();
      // This task is the only writer of its changelog partitions: their end is what the stores hold.
      for (const [name, topic] of changelogs) checkpoint[name] = (await o.log.endOffsets(topic))[o.partition] ?? 0;
      if (changelogs.size > 0) await writeCheckpoint(dir, checkpoint);
    },
    async close() {
      for (const s of stores.values()) await s.close();
    },
    approximateSize: (store) => stores.get(store)?.approximateSize() ?? 0,
  };
}
