import { DualityError } from '../api/diagnostics.js';
import type { RecordCollector } from '../api/serde.js';
import type { BytesStore } from '../api/store.js';
import type { StoreInfo } from '../api/topology-graph.js';
import { serdeFor } from '../serde/index.js';
import { CacheBudget, DEFAULT_CACHE_MAX_BYTES } from './cache-budget.js';
import { CachingStore } from './caching-store.js';
import { ChangeloggingStore } from './changelogging-store.js';
import { LevelDbStore } from './leveldb-store.js';
import { MeteredStore } from './metered-store.js';
import { storeDir } from './state-dir.js';
import { timestampedSerde } from './timestamped.js';

/** What a task gives the stores it owns. */
export interface TaskStoreContext {
  /** The application name (the topology's `name`): the state directory's second level. */
  readonly app: string;
  readonly taskId: string;
  /** The task's input partition, which is also its partition of every changelog. */
  readonly partition: number;
  readonly stateDir: string;
  /** The task's path to the producer; changelog records go through it. */
  readonly collector: RecordCollector;
  /** The bytes the task's caches share with the engine's others; a budget of 0 turns caching off. Default: a budget of its own, 10 MiB. */
  readonly cache?: CacheBudget;
  /** The timestamp of the record being processed, stamped on changelog records. Default: now. */
  readonly timestamp?: () => number;
}

/**
 * Opens a task's key-value store as `metered(caching(changelogging(leveldb)))`: the two typed
 * layers on top, bytes from the changelogging layer down (engine/api/store.ts). Restore the
 * database (restore.ts) before building: both open the same LevelDB directory, which only one
 * handle may hold at a time. `keys`: how many the restore counted, else they are counted here.
 */
export async function buildKeyValueStore(info: StoreInfo, task: TaskStoreContext, keys?: number): Promise<MeteredStore> {
  if (info.type !== 'key-value') {
    throw new DualityError('STORE', `store "${info.name}" is a ${info.type} store; buildKeyValueStore builds key-value stores only`);
  }
  const path = storeDir(task.stateDir, task.app, task.taskId, info.name);
  const disk = await LevelDbStore.open(info.name, path, keys);
  const now = task.timestamp ?? Date.now;
  const logged = new ChangeloggingStore(disk, task.collector, info.changelogTopic, task.partition, now, true);
  // With caching off (0 bytes) the caching layer only serializes: it is where types become bytes.
  const cached = new CachingStore(logged, serdeFor(info.keySerde), timestampedSerde(serdeFor(info.valueSerde)), task.cache ?? new CacheBudget(DEFAULT_CACHE_MAX_BYTES));
  return new MeteredStore(cached, now);
}

/** Window and session stores are key-value stores keyed by window (operators/window-keys.ts). */
export function keyValueLayout(info: StoreInfo): StoreInfo {
  return info.type === 'key-value' ? info : { ...info, type: 'key-value', keySerde: 'string', valueSerde: 'json' };
}

/**
 * The typed face of a store's database that only reads (a standby copy, which its changelog alone
 * writes): the same serdes and range bounds as the active store's, with no cache, and a put that
 * fails. Closing it leaves the database open: its owner closes that.
 */
export function readOnlyView(info: StoreInfo, disk: BytesStore): MeteredStore {
  const layout = keyValueLayout(info);
  const readOnly = {
    name: disk.name,
    get: (key: Buffer) => disk.get(key),
    put(): void {
      throw new DualityError('STORE', `store "${info.name}": this is a standby copy, kept from its changelog; it only answers reads`);
    },
    flush(): void {},
    persist: async (): Promise<void> => undefined,
    range: (options: { gte?: Buffer; lt?: Buffer; limit?: number }) => disk.range(options),
    approximateSize: () => disk.approximateSize(),
    close: async (): Promise<void> => undefined,
  };
  return new MeteredStore(new CachingStore(readOnly, serdeFor(layout.keySerde), timestampedSerde(serdeFor(layout.valueSerde)), new CacheBudget(0)), () => -1);
}
