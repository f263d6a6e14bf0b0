import { readdir } from 'node:fs/promises';
import type { HeldState, Log } from '../api/log.js';
import type { KeyValueStore } from '../api/store.js';
import type { StoreInfo, TopologyGraph } from '../api/topology-graph.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from '../state/checkpoint.js';
import { LevelDbStore } from '../state/leveldb-store.js';
import { restoreStore, RESTORE_BATCH } from '../state/restore.js';
import { appDir, storeDir, taskDir } from '../state/state-dir.js';
import { readOnlyView } from '../state/store-builder.js';
import { withTimestamp } from '../state/timestamped.js';

/**
 * How far behind its changelog's end (records) a copy may be and still answer stale reads: Kafka
 * Streams' `acceptable.recovery.lag` default, by which it calls a copy caught up.
 */
export const ACCEPTABLE_LAG = 10_000;
/** How often standbys read what their changelogs gained. */
export const STANDBY_POLL_MS = 250;
/** Records one standby store applies per round at most, so one far behind does not hold up the others, nor a promotion. */
const ROUND_RECORDS = 10 * RESTORE_BATCH;

/** A store of a standby task: its database, kept from the changelog, and how far along it is. */
interface StandbyStore {
  readonly info: StoreInfo;
  readonly disk: LevelDbStore;
  readonly view: KeyValueStore;
  /** The next changelog offset to apply: every record before it is in the database. */
  offset: number;
  /** The changelog's end as last read. */
  end: number;
}

interface StandbyTask {
  readonly id: string;
  readonly partition: number;
  readonly stores: Map<string, StandbyStore>;
}

export interface StandbyLag {
  readonly task: string;
  readonly store: string;
  /** Changelog records between what the copy holds and the changelog's end, as of its last round. */
  readonly lag: number;
}

export interface StandbyTasksOptions {
  readonly graph: TopologyGraph;
  readonly log: Log;
  readonly stateDir: string;
  readonly say: (line: string) => void;
  /** Whether a task is active here, or becoming so: its stores are the active's, not a standby's. */
  readonly active: (taskId: string) => boolean;
}

/**
 * The standby tasks of this instance (Kafka Streams' StandbyTask): for each task partition the
 * group's leader gave it as a standby, a copy of each store of every sub-topology that has stores,
 * in the directory the active task would use, kept up to date by tailing the store's changelog.
 * Opening one restores it as an active would (from its checkpoint when the files are sound); then,
 * every STANDBY_POLL_MS, it reads from its offset to the changelog's end (read_committed: under
 * exactly_once, the end is the last stable offset, and aborted records are skipped), applies the
 * records in batches, and records the offset reached in the database and the task's checkpoint.
 * So when the task comes here as an active, closing the standby leaves a checkpoint from which the
 * active's restore replays only the tail. Closing a standby keeps its files: a later assignment
 * resumes from them.
 *
 * Every change runs on one chain, one after another: rounds, opening and closing, promotions.
 */
export class StandbyTasks {
  private readonly tasks = new Map<string, StandbyTask>();
  private wanted: readonly number[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Per task id with state on disk: the sum of the changelog offsets of its checkpoint. */
  private readonly offsetSums = new Map<string, number>();
  /** Promotions under way: a round gives way to them. */
  private releasing = 0;
  /** The task the round's current step works on, and that step. */
  private busy: string | undefined;
  private stepDone: Promise<void> = Promise.resolve();
  /** The last failure said per task, so a failure that repeats every round is said once. */
  private readonly said = new Map<string, string>();

  constructor(private readonly o: StandbyTasksOptions) {}

  /** Sub-topologies whose tasks have stores: the only ones a standby copies. */
  private get stateful() {
    return this.o.graph.subtopologies.filter((s) => s.stores.length > 0);
  }

  /** The task partitions to keep copies of, as the group's leader said; the next round acts on it. */
  assign(partitions: readonly number[]): void {
    this.wanted = [...partitions];
    this.schedule(0);
  }

  /**
   * Reads the checkpoints of every task directory on disk (before joining the group): what this
   * instance can offer of each task's state, for the leader to prefer it for that task.
   */
  async scan(): Promise<void> {
    const ids = new Set(this.stateful.map((s) => s.id));
    const dirs = await readdir(appDir(this.o.stateDir, this.o.graph.name)).catch(() => [] as string[]);
    for (const d of dirs) {
      const m = /^(\d+)_(\d+)$/.exec(d);
      if (!m || !ids.has(Number(m[1]))) continue;
      const checkpoint = await readCheckpoint(taskDir(this.o.stateDir, this.o.graph.name, d));
      if (checkpoint) this.offsetSums.set(d, sum(checkpoint));
    }
  }

  /** What this instance holds, told the group at each join (synchronous: kafkajs asks while joining). */
  held(): HeldState {
    const offsets: Record<number, number> = {};
    for (const [id, total] of this.offsetSums) {
      const p = Number(id.slice(id.indexOf('_') + 1));
      offsets[p] = (offsets[p] ?? 0) + total;
    }
    return { standby: [...new Set([...this.tasks.values()].map((t) => t.partition))], offsets };
  }

  /**
   * Closes the standby of a task that becomes active here, since a promotion waits for this: at
   * once, unless the round in progress is working on this very task (then once that step is over;
   * each step is bounded, ROUND_RECORDS a store). A copy being opened for another task does not
   * hold it up.
   */
  async release(taskId: string): Promise<void> {
    this.releasing++;
    try {
      while (this.busy === taskId) await this.stepDone;
      const task = this.tasks.get(taskId);
      if (task) await this.closeTask(task);
    } finally {
      this.releasing--;
    }
  }

  /** A read-only view of the copy of `store` kept for `taskId`, if this instance keeps one that is caught up (ACCEPTABLE_LAG). */
  view(taskId: string, store: string): KeyValueStore | undefined {
    const copy = this.tasks.get(taskId)?.stores.get(store);
    // A copy still far behind (one just opened, or tailing a burst) would answer 404 for keys that
    // exist: it answers once within ACCEPTABLE_LAG of its changelog's end.
    return copy && copy.end - copy.offset <= ACCEPTABLE_LAG ? copy.view : undefined;
  }

  lag(): StandbyLag[] {
    return [...this.tasks.values()].flatMap((t) => [...t.stores.values()].map((s) => ({ task: t.id, store: s.info.name, lag: Math.max(0, s.end - s.offset) })));
  }

  /** Stops the rounds and closes every standby (their checkpoints written); `assign` starts again. */
  close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wanted = [];
    return this.run(async () => {
      for (const t of [...this.tasks.values()]) await this.closeTask(t);
    });
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(() => this.round()).finally(() => this.wanted.length > 0 && this.schedule(STANDBY_POLL_MS)), ms).unref();
  }

  private run(work: () => Promise<void>): Promise<void> {
    const done = this.chain.then(work);
    this.chain = done.catch(() => undefined);
    return done;
  }

  /** Closes what is no longer wanted (or became active), opens what is new, and brings each up to its changelog's end. */
  private async round(): Promise<void> {
    const ids = new Set(this.wanted.flatMap((p) => this.stateful.map((s) => `${s.id}_${p}`)));
    for (const t of [...this.tasks.values()]) if (!ids.has(t.id) || this.o.active(t.id)) await this.closeTask(t);
    // Each step is bounded (ROUND_RECORDS a store); between steps, a promotion waiting goes first.
    for (const id of ids) {
      if (this.releasing > 0) return;
      if (this.tasks.has(id) || this.o.active(id)) continue;
      await this.attempt(id, () => this.openTask(id));
    }
    for (const t of this.tasks.values()) {
      if (this.releasing > 0) return;
      await this.attempt(t.id, () => this.catchUp(t));
    }
  }

  /** A standby that fails is tried again next round; the engine goes on (its active tasks do not depend on it). */
  private async attempt(id: string, work: () => Promise<void>): Promise<void> {
    try {
      this.busy = id;
      this.stepDone = work();
      await this.stepDone;
      this.said.delete(id);
    } catch (e) {
      const why = (e as Error).message;
      if (this.said.get(id) !== why) this.o.say(`duality: standby task ${id}: ${why}; trying again`);
      this.said.set(id, why);
    } finally {
      this.busy = undefined;
    }
  }

  private async openTask(id: string): Promise<void> {
    const { graph, log, stateDir, say } = this.o;
    const sub = this.stateful.find((s) => id.startsWith(`${s.id}_`))!;
    const partition = Number(id.slice(id.indexOf('_') + 1));
    const dir = taskDir(stateDir, graph.name, id);
    const checkpoint: Checkpoint = (await readCheckpoint(dir)) ?? {};
    const stores = new Map<string, StandbyStore>();
    try {
      for (const name of sub.stores) {
        const info = graph.stores.find((s) => s.name === name)!;
        const path = storeDir(stateDir, graph.name, id, name);
        const damaged = (why: string): void => say(`duality: the standby copy of store "${name}" of task ${id} is damaged (${why}); rebuilding it from its changelog ${info.changelogTopic}`);
        const restored = await restoreStore(log, info, partition, path, checkpoint[name], damaged, ROUND_RECORDS);
        checkpoint[name] = restored.offset;
        const disk = await LevelDbStore.open(name, path, restored.keys);
        // Opened at most ROUND_RECORDS along: the next rounds bring it to the end.
        stores.set(name, { info, disk, view: readOnlyView(info, disk), offset: restored.offset, end: Math.max(restored.offset, (await log.endOffsets(info.changelogTopic))[partition] ?? 0) });
      }
    } catch (e) {
      for (const s of stores.values()) await s.disk.close();
      throw e;
    }
    await writeCheckpoint(dir, checkpoint);
    this.offsetSums.set(id, sum(checkpoint));
    this.tasks.set(id, { id, partition, stores });
  }

  /**
   * Applies what each store's changelog gained since the last round. The end read first is where
   * a read_committed reader stops (the last stable offset): every offset below it is read or known
   * to hold nothing readable (markers, aborted or compacted records) once the reader says there is
   * nothing more, so that end is the offset reached, never an offset it did not read to.
   */
  private async catchUp(t: StandbyTask): Promise<void> {
    let moved = false;
    for (const s of t.stores.values()) {
      const tp = { topic: s.info.changelogTopic, partition: t.partition };
      s.end = (await this.o.log.endOffsets(tp.topic))[t.partition] ?? 0;
      if (s.end <= s.offset) continue;
      let applied = 0;
      let reached = s.offset;
      while (reached < s.end && applied < ROUND_RECORDS) {
        // Records past the end read may come too: they are committed as well (read_committed).
        const batch = await this.o.log.read(tp, reached, RESTORE_BATCH, { follow: true });
        if (batch.length === 0) {
          reached = s.end;
          break;
        }
        for (const r of batch) {
          // A changelog record always has a key; one without could only come from a foreign writer.
          if (r.key !== null) s.disk.put(r.key, r.value === null ? null : withTimestamp(r.timestamp, r.value));
        }
        applied += batch.length;
        reached = batch[batch.length - 1]!.offset + 1;
      }
      s.end = Math.max(s.end, reached);
      await s.disk.persist(reached);
      s.offset = reached;
      moved = true;
    }
    if (moved) await this.checkpoint(t);
  }

  private async checkpoint(t: StandbyTask): Promise<void> {
    const offsets: Checkpoint = Object.fromEntries([...t.stores].map(([name, s]) => [name, s.offset]));
    await writeCheckpoint(taskDir(this.o.stateDir, this.o.graph.name, t.id), offsets);
    this.offsetSums.set(t.id, sum(offsets));
  }

  /** Its writes are persisted with the offset they reach, so the checkpoint matches them; the files stay. */
  private async closeTask(t: StandbyTask): Promise<void> {
    // A promotion and a round may both come to close it: the first one does.
    if (this.tasks.get(t.id) !== t) return;
    this.tasks.delete(t.id);
    try {
      await this.checkpoint(t);
    } finally {
      for (const s of t.stores.values()) await s.disk.close();
    }
  }
}

const sum = (c: Checkpoint): number => Object.values(c).reduce((a, b) => a + b, 0);
