import { tpKey, type CommittedOffset, type GroupMember, type Log, type LogConsumer, type LogProducer, type TopicPartition } from '../api/log.js';
import type { KeyValueStore } from '../api/store.js';
import type { RecordCollector } from '../api/serde.js';
import type { Subtopology, TopologyGraph } from '../api/topology-graph.js';
import { parseTpKey } from '../log/topic-state.js';
import { lockStateDir, type StateDirLock } from '../state/state-dir.js';
import type { RestoreStep } from '../state/restore.js';
import { ErrorPolicy } from './error-policy.js';
import { Health, type EngineState } from './health.js';
import { StreamTask } from './stream-task.js';
import { openTaskStores, type TaskStores } from './task-stores.js';
import { createdLine, planTopics } from './topics.js';
import { checkUpgrade } from '../upgrades/recorded.js';
import { partitionForKey } from '../log/partitioner.js';
import { serdeFor } from '../serde/index.js';
import { RegistryUnavailableError } from '../serde/registry-client.js';
import type { RegistrySerdes } from '../serde/registry-serdes.js';
import { queryableTables } from './queries.js';
import { CacheBudget, DEFAULT_CACHE_MAX_BYTES } from '../state/cache-budget.js';
import { StandbyTasks, type StandbyLag } from './standby-tasks.js';
import { decodePartitionTime, encodePartitionTime } from './stream-time.js';
import { MAX_BUFFERED, PartitionGroup } from './partition-group.js';
import type { Logger } from './logger.js';
import { RestoreTracker } from './restore-tracker.js';

export interface EngineOptions {
  readonly graph: TopologyGraph;
  readonly log: Log;
  /** Where each task keeps its stores: `<stateDir>/<name>/<task>/<store>`. */
  readonly stateDir: string;
  /**
   * Bytes that the stores' caches and the table updates held back until the commit
   * (ProcessorContext.forwardUpdate) hold together, across tasks (Kafka Streams'
   * `statestore.cache.max.bytes`); 0 turns caching off (the topology test runner): every update
   * is forwarded. Default 10 MiB.
   */
  readonly cacheMaxBytes?: number;
  /** Whether missing source, sink and dead-letter topics are created (default) or an error (see planTopics). */
  readonly createTopics?: boolean;
  /** Where the engine says what it does (info) and what went wrong (warn); one function takes both. stderr by default. */
  readonly logger?: Logger | ((line: string) => void);
  /**
   * `host:port` of this instance's HTTP API, advertised to the group's other members (Kafka
   * Streams' `application.server`), so that any instance can say which one holds a key.
   */
  readonly endpoint?: string;
  /** The serdes of avro, protobuf and json-schema sources and sinks; needed when the topology has any. */
  readonly registry?: RegistrySerdes;
  /**
   * Compare the topology with the one that last started on the log before anything else, refusing
   * one that would misread or drop its state, and record it (engine/upgrades/recorded.ts). `duality
   * run` checks; the test runner, on an empty log each time, has nothing to check against.
   */
  readonly checkUpgrade?: boolean;
}

/** Where a key of a table lives. */
export interface KeyOwner {
  /** The task partition: murmur2 of the key's bytes over the partitions of the table's sub-topology. */
  readonly partition: number;
  /** The endpoint of the instance the group gave the active task; undefined while no member has it, or it advertised none. */
  readonly endpoint: string | undefined;
  /** Whether this instance runs the active task, restored: its stores answer now. */
  readonly local: boolean;
  /** Endpoints of the instances that keep a standby copy of the task's stores. */
  readonly standbys: readonly string[];
}

export interface TaskHandle {
  readonly task: StreamTask;
  readonly stores: TaskStores;
  /** The producer its output, changelog and DLQ records go to: its own under exactly-once on Kafka. */
  readonly producer: LogProducer;
  /** Records it sent since its last commit (its collector counts them). */
  readonly pending: { sent: number };
  /** The input offsets of its last commit. */
  committed: ReadonlyMap<string, number>;
  /** A task that reads several partitions buffers their records here and takes them in timestamp order; undefined for one partition. */
  readonly group: PartitionGroup | undefined;
}

/**
 * Commit at the latest after this many records consumed and produced, whatever the interval: it
 * bounds what a commit holds in memory (a transaction's records under exactly_once). Each commit
 * stalls processing while the producer drains, so it is not small: at 50,000, WordCount committed
 * 40 times where the interval asked for 8, and ran 20 % slower (docs/benchmarks.md).
 */
export const MAX_UNCOMMITTED = 500_000;
/** How long a transaction's offsets may take to show in the group's offsets after the transaction completed. */
const STABLE_WAIT_MS = 500;
/** A close that a dead broker holds up is given up on after this long. */
const CLOSE_DEADLINE_MS = 5000;
/** Commit times kept between two scrapes of the metrics. */
const MAX_COMMIT_TIMES = 4096;

function moved(offsets: ReadonlyMap<string, number>, committed: ReadonlyMap<string, number>): boolean {
  for (const [k, v] of offsets) if (committed.get(k) !== v) return true;
  return false;
}

/** A failure that ends the engine, with the log's explanation when it has one (an untrusted certificate, a refused login). */
function said(e: unknown, log: Log): unknown {
  const why = log.explain(e);
  return why !== undefined && e instanceof Error && !e.message.includes(why) ? new Error(`kafka: ${why}`, { cause: e }) : e;
}

async function withDeadline(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p?.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/**
 * Runs a compiled topology on a log: a consumer in the topology's group, one task per input
 * partition of each sub-topology, one record collector in front of one producer, and the commit
 * in its fixed order (docs/runtime.md, The commit). Lifecycle: `start`, then `run` (or `runOnce`/`commit`
 * steps, as the test runner does), then `stop`.
 */
export class Engine {
  readonly policy: ErrorPolicy;
  private readonly tasks = new Map<string, TaskHandle>();
  /** Per input partition (tpKey), the tasks its records go to. */
  private readonly routes = new Map<string, TaskHandle[]>();
  /** The tasks with a PartitionGroup: they take their buffered records after each poll. */
  private readonly grouped = new Set<TaskHandle>();
  private consumer: LogConsumer;
  /** The one producer of every task, unless each task has its own (`perTask`). */
  private shared: LogProducer | undefined;
  /**
   * Exactly-once on Kafka: a transactional producer per task, with the id `<name>-<task>`, as Kafka
   * Streams' exactly_once (v1) has, since kafkajs lacks KIP-447. A task's new owner fences the old
   * one's producer, so an instance that lost a task without noticing can no longer commit for it.
   */
  private readonly perTask: boolean;
  private readonly transactional: boolean;
  private stopRequested = false;
  /** While closing tasks after a retriable failure: nothing is committed. */
  private dirty = false;
  private running: Promise<void> | undefined;
  /** Input records processed since the last commit. */
  private uncommitted = 0;
  private lock: StateDirLock | undefined;
  private lastCommit = Date.now();
  /**
   * The stores' disk writes of the last commit, still landing while processing goes on (LevelDB
   * on its own threads; a store reads what is in flight): the next commit, and closing a task,
   * wait for them first. A crash before they land only makes the next restore replay more.
   */
  private persisting: Promise<unknown> = Promise.resolve();
  private readonly say: (line: string) => void;
  /** Failures it recovers from, damaged stores rebuilt, records that failed. */
  private readonly warn: (line: string) => void;
  private readonly health: Health;
  /** Shared by every task's caches: they hold `cacheMaxBytes` together. */
  private readonly cache: CacheBudget;
  private readonly standbys: StandbyTasks;
  /** Tasks being created in `assign`: their standby copies, if any, are closed and must stay so. */
  private readonly assigning = new Set<string>();
  /** Per sub-topology: its task count (the most partitions among its source topics), once read. */
  private readonly taskCounts = new Map<number, number>();
  private saidStandbyAlone = false;
  /**
   * A stop came while a polled batch waited for the schema registry: the batch was not processed,
   * yet the consumer's position is past it, so nothing may be committed (it is read again).
   */
  private unprocessed = false;
  /**
   * Checked once, at the first join: a join again after losing the log is the same version going
   * on, which must not be stopped, nor recorded again over a newer version another instance started.
   */
  private upgradeChecked = false;

  constructor(private readonly options: EngineOptions) {
    const { graph, log } = options;
    const logger = options.logger ?? ((l: string) => process.stderr.write(`${l}\n`));
    this.say = typeof logger === 'function' ? logger : logger.info;
    this.warn = typeof logger === 'function' ? logger : logger.warn;
    this.health = new Health(log, () => this.consumer, this.warn);
    this.cache = new CacheBudget(options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES);
    const { stateDir } = options;
    this.standbys = new StandbyTasks({ graph, log, stateDir, say: this.warn, active: (id) => this.tasks.has(id) || this.assigning.has(id) });
    this.consumer = this.newConsumer();
    this.transactional = log.cheapTransactions || graph.processing.guarantee === 'exactly_once';
    this.perTask = !log.cheapTransactions && graph.processing.guarantee === 'exactly_once';
    if (!this.perTask) this.shared = this.sharedProducer();
    this.policy = new ErrorPolicy(graph.errors.policy, graph.errors.topic, this.warn);
  }

  private newConsumer(): LogConsumer {
    const { graph, log, endpoint } = this.options;
    return log.consumer(graph.name, {
      ...(endpoint !== undefined && { endpoint }),
      standbyReplicas: graph.processing.standbyReplicas,
      held: () => this.standbys.held(),
    });
  }

  private sharedProducer(): LogProducer {
    const { graph, log } = this.options;
    return log.producer(this.transactional ? { transactionalId: `${graph.name}-0`, offsets: false } : { offsets: false });
  }

  /** Produced records count toward the commit threshold too: they wait in the producer until then. */
  private collectorFor(producer: LogProducer, pending: { sent: number }): RecordCollector {
    return {
      send: (r) => {
        // First: a record the producer refuses (too large) goes to the error policy, uncounted.
        producer.send([r]);
        this.uncommitted++;
        pending.sent++;
      },
      check: (r) => producer.check?.(r),
    };
  }

  /** What the engine is doing, as /readyz reports it (see Health). */
  get state(): EngineState {
    return this.health.state;
  }

  /** Why the engine is not running, when it knows. */
  get problem(): string | undefined {
    return this.health.problem;
  }

  get graph(): TopologyGraph {
    return this.options.graph;
  }

  /** The serdes of avro, protobuf and json-schema topics, when the topology has any. */
  get registry(): RegistrySerdes | undefined {
    return this.options.registry;
  }

  /**
   * Creates missing topics, joins the group; assigned tasks restore their stores before processing.
   * A log that cannot be reached yet is tried again with backoff (the reason in `problem`) until it
   * answers or a stop is requested.
   */
  async start(): Promise<void> {
    this.lock = await lockStateDir(this.options.stateDir, this.options.graph.name);
    this.health.startWatching();
    const registry = this.options.registry;
    try {
      if (registry && !(await this.whileRegistryAnswers(() => registry.prepareSinks()))) return;
    } catch (e) {
      this.health.phase = 'failed';
      this.health.stopWatching();
      await this.lock?.release();
      throw e;
    }
    for (let attempt = 0; !this.stopRequested; attempt++) {
      try {
        await this.join();
        return;
      } catch (e) {
        // Closed either way: a failed start must not leave connections that keep the process alive.
        await this.closeDirty();
        if (!this.options.log.retriable(e)) {
          this.health.phase = 'failed';
          this.health.stopWatching();
          await this.lock?.release();
          throw said(e, this.options.log);
        }
        await this.health.backoff(attempt, e, 'cannot reach', () => this.stopRequested);
      }
    }
  }

  private async join(): Promise<void> {
    const { graph, log } = this.options;
    // Trying the log again after a failure is still recovering (so /readyz says, with the reason)
    // until the join gets its tasks: their restore then shows as restoring.
    if (this.health.phase !== 'recovering') this.health.phase = 'restoring';
    if (this.options.checkUpgrade && !this.upgradeChecked) {
      await checkUpgrade(graph, log, this.say);
      this.upgradeChecked = true;
    }
    const plan = await planTopics(graph, log, { createMissing: this.options.createTopics ?? true });
    for (const t of await log.createTopics(plan.create)) this.say(`duality: ${createdLine(t)}`);
    await log.learnRecordLimits?.(graph.topics.filter((t) => t.role !== 'source').map((t) => t.name));
    const topics = [...new Set(graph.subtopologies.flatMap((s) => s.sourceTopics))];
    if (!this.perTask && !this.shared) this.shared = this.sharedProducer();
    await this.standbys.scan();
    await this.consumer.subscribe(topics, {
      onAssigned: (tps) => this.assign(tps),
      onRevoked: (tps) => this.revoke(tps),
      onStandby: (partitions) => this.standbys.assign(partitions),
    });
    this.health.running();
    await this.sayIfStandbysAlone();
  }

  /** Standbys asked for but none possible: this instance is its group's only member (always so on the embedded log). */
  private async sayIfStandbysAlone(): Promise<void> {
    const n = this.options.graph.processing.standbyReplicas;
    if (n === 0 || this.saidStandbyAlone || (await this.consumer.currentMembers())?.length !== 1) return;
    this.saidStandbyAlone = true;
    this.say(`duality: processing.standbyReplicas is ${n}, but this instance is the only member of group "${this.options.graph.name}": standby copies are kept once other instances join`);
  }

  /**
   * After a retriable failure: closes every task without committing (their stores drop what was
   * not committed, so state matches the log's committed output), the producers and the consumer.
   * Errors are ignored: the log is likely unreachable.
   */
  private async closeDirty(): Promise<void> {
    this.dirty = true;
    try {
      await withDeadline(this.consumer.close(), CLOSE_DEADLINE_MS);
      this.consumer = this.newConsumer();
      await this.standbys.close();
      await this.revoke(null);
      await withDeadline(this.shared?.close(), CLOSE_DEADLINE_MS);
      this.shared = undefined;
      this.uncommitted = 0;
    } finally {
      this.dirty = false;
    }
  }

  private async assign(tps: TopicPartition[]): Promise<void> {
    const { graph } = this.options;
    const prev = this.health.phase;
    this.health.phase = 'restoring';
    const started = performance.now();
    const opened: string[] = [];
    let restored = 0;
    // Partition counts may have changed with the assignment: read them again at the next lookup.
    this.taskCounts.clear();
    const wanted: { sub: Subtopology; p: number; id: string }[] = [];
    for (const sub of graph.subtopologies) {
      const parts = new Set(tps.filter((tp) => sub.sourceTopics.includes(tp.topic)).map((tp) => tp.partition));
      for (const p of [...parts].sort((a, b) => a - b)) if (!this.tasks.has(`${sub.id}_${p}`)) wanted.push({ sub, p, id: `${sub.id}_${p}` });
    }
    // The shared producer is registered once; producers of their own and restores run side by
    // side, task by task (a handover waits for the slowest, not for the sum: each fence waits for
    // the broker to settle the former owner's transaction).
    if (this.shared && wanted.length > 0) await this.shared.init();
    const round = this.restores.round(this.say);
    const results = await Promise.allSettled(wanted.map((w) => this.openTask(w.sub, w.p, w.id, (store) => round.listener(w.id, store))));
    round.finish();
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') continue;
      const { sub, p, id } = wanted[i]!;
      const task = r.value;
      this.restoredRecords += task.stores.restored;
      restored += task.stores.restored;
      opened.push(id);
      for (const t of sub.sourceTopics) {
        const key = `${t}:${p}`;
        this.routes.set(key, [...(this.routes.get(key) ?? []), task]);
      }
      if (task.group) this.grouped.add(task);
    }
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.health.phase = prev === 'created' ? 'restoring' : prev;
    // What a rebalance cost this instance, for whoever wonders why queries answered 503 meanwhile.
    if (opened.length > 0) this.say(`duality: task${opened.length === 1 ? '' : 's'} ${opened.join(', ')} started, ${restored.toLocaleString('en')} changelog records restored, in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  }

  /** Opens one assigned task: its producer registered (fencing a former owner), its stores restored. */
  private async openTask(sub: Subtopology, p: number, id: string, restoring: (store: string) => (step: RestoreStep) => void): Promise<TaskHandle> {
    const { graph } = this.options;
    this.assigning.add(id);
    try {
      // A standby copy of the task kept here closes first, its checkpoint written: the restore
      // below replays only what the copy lacks.
      await this.standbys.release(id);
      const producer = this.shared ?? this.options.log.producer({ transactionalId: `${graph.name}-${id}`, offsets: false });
      // Fences the task's former owner and settles its open transaction before anything is read.
      if (producer !== this.shared) await producer.init();
      const pending = { sent: 0 };
      const collector = this.collectorFor(producer, pending);
      const tps = sub.sourceTopics.map((topic) => ({ topic, partition: p }));
      const [stores, committed] = await Promise.all([
        openTaskStores({ graph, sub, partition: p, taskId: id, log: this.options.log, stateDir: this.options.stateDir, collector, cache: this.cache, say: this.warn, restoring }),
        this.readCommitted(tps, this.perTask),
      ]);
      const partitionTimes = new Map<string, number>();
      tps.forEach((tp, i) => {
        const time = decodePartitionTime(committed[i]?.metadata);
        if (time !== undefined) partitionTimes.set(`${tp.topic}:${tp.partition}`, time);
        if (this.perTask) this.consumer.seek(tp, committed[i]?.offset ?? 0);
      });
      const registry = this.options.registry;
      const task = new StreamTask(id, sub, p, graph, { collector, policy: this.policy, stores: stores.typed, time: stores.time, cache: this.cache, partitionTimes, say: this.say, ...(registry && { serdeOf: registry.serdeOf.bind(registry) }) });
      const group =
        tps.length > 1
          ? new PartitionGroup(
              tps.map(tpKey),
              graph.processing.maxTaskIdleMs,
              (key) => this.consumer.lag(parseTpKey(key)!),
              (r) => task.timestampOf(r),
            )
          : undefined;
      const handle: TaskHandle = { task, stores, producer, pending, committed: new Map(), group };
      this.tasks.set(id, handle);
      return handle;
    } finally {
      this.assigning.delete(id);
    }
  }

  /**
   * The group's committed offsets of a task's input partitions, with the stream time committed
   * with each. A fenced task starts from them as they are after the fence: a former owner may have
   * committed after this member's consumer read them at the join. The transaction the fence
   * settled becomes visible in the group's offsets a moment after it completes (kafkajs cannot ask
   * for stable offsets, KIP-447's require_stable), so they are read twice, STABLE_WAIT_MS apart,
   * and the later one wins (offsets only grow).
   */
  private async readCommitted(tps: readonly TopicPartition[], fenced: boolean): Promise<(CommittedOffset | undefined)[]> {
    const read = (): Promise<(CommittedOffset | undefined)[]> => Promise.all(tps.map((tp) => this.consumer.committedWithMetadata(tp)));
    const first = await read();
    if (!fenced) return first;
    await new Promise((r) => setTimeout(r, STABLE_WAIT_MS));
    const second = await read();
    return second.map((c, i) => ((first[i]?.offset ?? -1) > (c?.offset ?? -1) ? first[i] : c));
  }

  /**
   * Commits (unless after a failure, or `committed`: the caller just did), then closes the tasks of
   * these partitions; null: of all.
   */
  private async revoke(tps: TopicPartition[] | null, committed = false): Promise<void> {
    if (this.tasks.size === 0) return;
    const clean = committed || (this.health.phase !== 'failed' && !this.dirty);
    if (clean && !committed) await this.commit();
    // A store closes once its writes have landed; after a failure they may have failed too.
    if (clean) await this.persisting;
    else await this.persisting.catch(() => undefined);
    const gone = tps && new Set(tps.map((tp) => `${tp.topic}:${tp.partition}`));
    for (const [id, h] of this.tasks) {
      if (gone && !h.task.subtopology.sourceTopics.some((t) => gone.has(`${t}:${h.task.partition}`))) continue;
      // Out of the map before its stores close: a query meanwhile finds no task here (and asks
      // the new owner, or answers 503), not a closed store.
      this.tasks.delete(id);
      this.grouped.delete(h);
      for (const t of h.task.subtopology.sourceTopics) this.routes.delete(`${t}:${h.task.partition}`);
      h.task.close();
      await h.stores.close(clean);
      // A closed task's producer drops what it did not commit (a transactional one aborts).
      if (h.producer !== this.shared) await withDeadline(h.producer.close(), CLOSE_DEADLINE_MS);
    }
  }

  /**
   * Polls once and processes what came, one record at a time; returns how many records. A task
   * of several partitions buffers their records and then takes what it is ready to, in timestamp
   * order (PartitionGroup).
   */
  async runOnce(maxRecords = 500, timeoutMs = 100): Promise<number> {
    const records = await this.consumer.poll(maxRecords, timeoutMs);
    const registry = this.options.registry;
    // Schemas are looked up before any record of the batch is decoded, so a registry that does not
    // answer holds the batch back whole: nothing is processed, nothing is lost.
    if (registry?.readsRegistry && records.length > 0 && !(await this.whileRegistryAnswers(() => registry.prepare(records)))) {
      this.unprocessed = true;
      return 0;
    }
    this.uncommitted += records.length;
    // Records come in runs of one partition: look the route up once per run, not per record.
    let topic: string | undefined;
    let partition = -1;
    let key = '';
    let handles: TaskHandle[] | undefined;
    for (const r of records) {
      if (r.topic !== topic || r.partition !== partition) {
        topic = r.topic;
        partition = r.partition;
        key = `${topic}:${partition}`;
        handles = this.routes.get(key);
      }
      if (!handles) continue;
      for (const h of handles) {
        if (h.group) {
          if (h.group.add(key, r) === MAX_BUFFERED + 1) this.consumer.pause([{ topic, partition }]);
          continue;
        }
        const done = h.task.process(r);
        if (done) await done;
      }
    }
    for (const h of this.grouped) if (h.group!.buffered > 0) await this.takeBuffered(h, false);
    return records.length;
  }

  /** Processes a task's buffered records while it is ready (or all, `force`), resuming partitions that drained below MAX_BUFFERED. */
  private async takeBuffered(h: TaskHandle, force: boolean): Promise<void> {
    const group = h.group!;
    const now = Date.now();
    while (force ? group.buffered > 0 : group.ready(now)) {
      const { key, record, left } = group.next()!;
      const done = h.task.process(record);
      if (done) await done;
      // Still one of this member's (a rebalance takes partitions only inside poll).
      if (left === MAX_BUFFERED) this.consumer.resume([parseTpKey(key)!]);
    }
  }

  /**
   * The commit, in its one order: caches flush (changelog records go to the collector), the log
   * commits output, changelogs and input offsets together, stores write to disk (landing while
   * processing goes on, awaited by the next commit), checkpoints record the changelog offsets the
   * stores now hold.
   */
  async commit(): Promise<void> {
    // A batch held back for the registry lies behind the consumer's position: committing it would skip it.
    if (this.unprocessed) return;
    const began = performance.now();
    await this.persisting;
    // Per producer, the offsets of the tasks that write through it. A task with a producer of its
    // own that neither sent records nor moved since its last commit has nothing to commit.
    const byProducer = new Map<LogProducer, Map<string, number>>();
    // The stream time of each input partition goes with its offset (Kafka Streams' commit metadata).
    const times = new Map<string, string>();
    if (this.shared) byProducer.set(this.shared, new Map());
    const committing: { handle: TaskHandle; offsets: Map<string, number> }[] = [];
    for (const handle of this.tasks.values()) {
      await handle.task.flush();
      handle.stores.flush();
      const offsets = this.offsetsOf(handle);
      if (handle.producer !== this.shared && handle.pending.sent === 0 && !moved(offsets, handle.committed)) continue;
      const into = byProducer.get(handle.producer) ?? new Map<string, number>();
      for (const [k, v] of offsets) {
        into.set(k, v);
        const t = handle.task.partitionTimes.get(k);
        if (t !== undefined) times.set(k, encodePartitionTime(t));
      }
      byProducer.set(handle.producer, into);
      committing.push({ handle, offsets });
    }
    if (this.transactional) {
      // Every transaction is tried; the first failure is reported once all have settled.
      const results = await Promise.allSettled([...byProducer].map(([p, offsets]) => p.commitTransaction(this.options.graph.name, offsets, times)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    } else if (this.shared) {
      await this.shared.flush();
      await this.consumer.commit(byProducer.get(this.shared)!, times);
    }
    for (const { handle, offsets } of committing) {
      handle.pending.sent = 0;
      handle.committed = offsets;
    }
    // Each task's stores take their pending writes now; they land while processing goes on.
    const landings = await Promise.all([...this.tasks.values()].map(({ stores }) => stores.persist()));
    const persisting = Promise.all(landings.map((l) => l.landed));
    persisting.catch(() => undefined);
    this.persisting = persisting;
    this.lastCommit = Date.now();
    this.uncommitted = 0;
    this.commits++;
    // Unscraped, the oldest go: a scrape sees the latest MAX_COMMIT_TIMES.
    if (this.commitTimes.length >= MAX_COMMIT_TIMES) this.commitTimes.shift();
    this.commitTimes.push((performance.now() - began) / 1000);
  }

  /** Seconds each commit took, since the last call. */
  drainCommitTimes(): number[] {
    const out = this.commitTimes;
    this.commitTimes = [];
    return out;
  }

  /** Per input partition of each task: records the log holds past what was handed to it (the consumer's lag). */
  consumerLag(): { topic: string; partition: number; task: string; lag: number }[] {
    const out: { topic: string; partition: number; task: string; lag: number }[] = [];
    for (const [id, h] of this.tasks) {
      for (const topic of h.task.subtopology.sourceTopics) {
        const tp = { topic, partition: h.task.partition };
        const lag = this.consumer.lag(tp);
        if (lag !== undefined) out.push({ ...tp, task: id, lag });
      }
    }
    return out;
  }

  /**
   * A task's input offsets to commit: past the transaction markers after the last record it
   * processed, as Kafka Streams commits the consumer's position (else a transactional input shows
   * a lag of one for ever).
   */
  private offsetsOf(handle: TaskHandle): Map<string, number> {
    const offsets = new Map<string, number>();
    // Past the markers only when nothing of the partition waits in the task's buffer: the
    // consumer's position is then past the buffered records too.
    for (const [k, v] of handle.task.offsets) offsets.set(k, handle.group?.headOffset(k) !== undefined ? v : Math.max(v, this.consumer.position(parseTpKey(k)!) ?? v));
    return offsets;
  }

  /** Whether an idle engine has offsets to commit: markers read past since the last commit. */
  private positionsMoved(): boolean {
    for (const h of this.tasks.values()) if (moved(this.offsetsOf(h), h.committed)) return true;
    return false;
  }

  /** Processes until `requestStop` or `stop`, committing every `commitInterval`; one loop however often called. */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /**
   * A failure the log calls retriable (a broker gone, a fenced producer, a commit of unknown
   * outcome) closes the tasks without committing and joins again after a backoff: state is then
   * restored to what the log committed, and input is read again from the committed offsets.
   * Any other failure ends the loop.
   */
  private async loop(): Promise<void> {
    const interval = this.options.graph.processing.commitIntervalMs;
    for (let attempt = 0; !this.stopRequested; ) {
      try {
        if (this.health.phase === 'recovering') await this.join();
        attempt = 0;
        const n = await this.runOnce(500, Math.min(100, interval));
        // Besides the interval: commit when idle, so what downstream sub-topologies read through
        // repartition topics becomes visible without waiting; and when the uncommitted output
        // grows large, which bounds the producer's buffer.
        const due =
          (this.uncommitted > 0 && (Date.now() - this.lastCommit >= interval || n === 0 || this.uncommitted >= MAX_UNCOMMITTED)) ||
          (n === 0 && this.positionsMoved());
        if (due) await this.commit();
      } catch (e) {
        if (!this.options.log.retriable(e) || this.stopRequested) {
          this.health.phase = 'failed';
          throw said(e, this.options.log);
        }
        await this.closeDirty();
        await this.health.backoff(attempt++, e, 'lost', () => this.stopRequested);
      }
    }
  }

  /**
   * Runs `f` until the schema registry answers, with backoff, /readyz saying why meanwhile; false
   * when a stop came first. A registry's refusal (RegistryError) is no outage: it is thrown.
   */
  private async whileRegistryAnswers(f: () => Promise<void>): Promise<boolean> {
    let resume: EngineState | undefined;
    for (let attempt = 0; !this.stopRequested; attempt++) {
      try {
        await f();
        if (resume !== undefined) this.health.registryAnswers(resume, this.options.registry!.description);
        return true;
      } catch (e) {
        if (!(e instanceof RegistryUnavailableError)) throw e;
        const before = await this.health.registryBackoff(attempt, e, () => this.stopRequested);
        resume ??= before;
      }
    }
    return false;
  }

  /** Ends the `run` loop after the batch in hand; `stop` then commits and closes. */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Processes and commits until nothing more arrives (the test runner's step). */
  async runUntilIdle(): Promise<void> {
    for (;;) {
      const n = await this.runOnce(1, 0);
      // Nothing more to read: what tasks hold back waiting for more input is all there is.
      if (n === 0) for (const h of this.grouped) await this.takeBuffered(h, true);
      await this.commit();
      if (n === 0) return;
    }
  }

  /**
   * Stops fetching, finishes the batch, commits, closes the stores. After a failure nothing is
   * committed: the failed record and what followed it are processed again on the next start.
   */
  async stop(): Promise<void> {
    if (this.health.phase === 'stopped') return;
    this.stopRequested = true;
    await this.running?.catch(() => undefined);
    const failed = this.health.phase === 'failed' || this.unprocessed;
    if (!failed) this.health.phase = 'stopping';
    // Nor may the revoke that closing the consumer brings commit past a batch held back.
    if (this.unprocessed) this.dirty = true;
    // Closing the consumer may revoke the tasks (which commits them); what is left commits here.
    await this.consumer.close();
    await this.standbys.close();
    if (!failed) await this.commit();
    this.dirty = true;
    await this.revoke(null, !failed);
    await this.shared?.close();
    await this.lock?.release();
    this.health.stopWatching();
    this.health.phase = 'stopped';
  }

  /** Commits done, and records replayed from changelogs, for metrics. */
  commits = 0;
  private commitTimes: number[] = [];
  restoredRecords = 0;
  /** Per store of each task: what its restores replayed, and what the one under way has left. */
  readonly restores = new RestoreTracker();

  /** The running tasks and their stores. */
  handles(): Iterable<TaskHandle> {
    return this.tasks.values();
  }

  /** The tasks' stores, for queries: table name → stores across the tasks that hold it. */
  storesOf(store: string): TaskStores[] {
    return [...this.tasks.values()].filter((h) => h.stores.typed.has(store)).map((h) => h.stores);
  }

  /**
   * Which instance holds `key` of `table` (undefined for a table that is not queryable): the key is
   * serialized with the table's key serde and partitioned with Kafka's murmur2, as a Java producer
   * or Kafka Streams would, over the partitions of the sub-topology whose task keeps the store.
   */
  async ownerOf(table: string, key: unknown): Promise<KeyOwner | undefined> {
    const def = queryableTables(this.options.graph).find((d) => d.name === table);
    const sub = def && this.subtopologyOf(def.store!);
    if (!def || !sub) return undefined;
    const bytes = serdeFor(def.keySerde).serialize(key);
    if (bytes === null) throw new Error(`table "${table}": a null key has no owner`);
    const partition = partitionForKey(bytes, await this.partitionCount(def.store!));
    const holds = (tps: readonly TopicPartition[]): boolean => tps.some((tp) => tp.partition === partition && sub.sourceTopics.includes(tp.topic));
    // The map of the generation this instance is in; none while the group rebalances, rather than a former owner.
    const current = await this.consumer.currentMembers();
    const owner = current?.find((m) => holds(m.partitions));
    // Copies stay where they are while the group rebalances (a standby closes only when its new
    // assignment comes), so a stale read may go by the last map.
    const known = current ?? (await this.consumer.members());
    const standbys = known.filter((m) => m.standby.includes(partition) && m.endpoint !== undefined).map((m) => m.endpoint!);
    return { partition, endpoint: owner?.endpoint, local: this.tasks.has(`${sub.id}_${partition}`), standbys };
  }

  /** The task partitions of the sub-topology that keeps `store`: the most partitions of its source topics. */
  partitionCount(store: string): Promise<number> | number {
    const sub = this.subtopologyOf(store);
    if (!sub) return 1;
    return this.taskCounts.get(sub.id) ?? this.taskCount(sub.id, sub.sourceTopics);
  }

  /** The sub-topology whose tasks keep `store`. */
  private subtopologyOf(store: string): Subtopology | undefined {
    return this.options.graph.subtopologies.find((s) => s.stores.includes(store));
  }

  /** Read once per assignment: a lookup does not ask the log. */
  private async taskCount(id: number, topics: readonly string[]): Promise<number> {
    const counts = await Promise.all(topics.map((t) => this.options.log.partitions(t)));
    const n = Math.max(1, ...counts.map((c) => c ?? 0));
    if (counts.every((c) => c !== undefined)) this.taskCounts.set(id, n);
    return n;
  }

  /** The group's members with what each holds, as of its last rebalance. */
  members(): Promise<GroupMember[]> {
    return this.consumer.members();
  }

  /** The endpoint this instance advertises, if any. */
  get endpoint(): string | undefined {
    return this.options.endpoint;
  }

  /**
   * The store `store` of the task of `partition`, when this instance runs that task and has
   * restored it; with `stale`, else a standby copy of it kept here (which may lag the active).
   */
  storeOf(store: string, partition: number, stale = false): { store: KeyValueStore; stale: boolean } | undefined {
    const sub = this.subtopologyOf(store);
    const active = sub && this.tasks.get(`${sub.id}_${partition}`)?.stores.typed.get(store);
    if (active) return { store: active, stale: false };
    const copy = sub && stale ? this.standbys.view(`${sub.id}_${partition}`, store) : undefined;
    return copy && { store: copy, stale: true };
  }

  /**
   * For each store of each standby task kept here: changelog records its copy lacks, as of its
   * last round (every STANDBY_POLL_MS), for the metric duality_standby_lag_records{task,store}.
   */
  standbyLag(): StandbyLag[] {
    return this.standbys.lag();
  }

  /** The partitions of the tasks this instance runs that hold `store`. */
  partitionsOf(store: string): number[] {
    return [...this.tasks.values()].filter((h) => h.stores.typed.has(store)).map((h) => h.task.partition);
  }

  /** Records processed so far, across tasks. */
  get processed(): number {
    let n = 0;
    for (const { task } of this.tasks.values()) n += task.processed;
    return n;
  }
}
