import type { Log, LogConsumer, LogProducer, TopicPartition } from '../api/log.js';
import type { RecordCollector } from '../api/serde.js';
import type { TopologyGraph } from '../api/topology-graph.js';
import { lockStateDir, type StateDirLock } from '../state/state-dir.js';
import { ErrorPolicy } from './error-policy.js';
import { StreamTask } from './stream-task.js';
import { openTaskStores, type TaskStores } from './task-stores.js';
import { planTopics } from './topics.js';

export interface EngineOptions {
  readonly graph: TopologyGraph;
  readonly log: Log;
  /** Where each task keeps its stores: `<stateDir>/<name>/<task>/<store>`. */
  readonly stateDir: string;
  /** Entries each store caches in memory; 0 turns caching off (the topology test runner). */
  readonly cacheEntries?: number;
  /** Partitions of source and sink topics the engine has to create. */
  readonly defaultPartitions?: number;
  readonly logger?: (line: string) => void;
}

export interface TaskHandle {
  readonly task: StreamTask;
  readonly stores: TaskStores;
}

/** Commit at the latest after this many input records, whatever the interval. */
export const MAX_UNCOMMITTED = 50_000;

export type EngineState = 'created' | 'restoring' | 'running' | 'stopping' | 'stopped' | 'failed';

/**
 * Runs a compiled topology on a log: a consumer in the topology's group, one task per input
 * partition of each sub-topology, one record collector in front of one producer, and the commit
 * in its fixed order (ARCHITECTURE.md). Lifecycle: `start`, then `run` (or `runOnce`/`commit`
 * steps, as the test runner does), then `stop`.
 */
export class Engine {
  state: EngineState = 'created';
  readonly policy: ErrorPolicy;
  private readonly tasks = new Map<string, TaskHandle>();
  private readonly routes = new Map<string, StreamTask[]>();
  private readonly consumer: LogConsumer;
  private readonly producer: LogProducer;
  private readonly collector: RecordCollector;
  private stopRequested = false;
  private running: Promise<void> | undefined;
  /** Input records processed since the last commit. */
  private uncommitted = 0;
  private lock: StateDirLock | undefined;
  private lastCommit = Date.now();
  private readonly say: (line: string) => void;

  constructor(private readonly options: EngineOptions) {
    const { graph, log } = options;
    this.say = options.logger ?? ((l) => process.stderr.write(`${l}\n`));
    this.consumer = log.consumer(graph.name);
    const transactional = log.cheapTransactions || graph.processing.guarantee === 'exactly_once';
    this.producer = log.producer(transactional ? { transactionalId: `${graph.name}-0` } : {});
    // Produced records count toward the commit threshold too: they wait in the producer until then.
    this.collector = {
      send: (r) => {
        this.uncommitted++;
        this.producer.send([r]);
      },
    };
    this.policy = new ErrorPolicy(graph.errors.policy, graph.errors.topic, this.collector, this.say);
  }

  get graph(): TopologyGraph {
    return this.options.graph;
  }

  /** Creates missing topics, joins the group; assigned tasks restore their stores before processing. */
  async start(): Promise<void> {
    const { graph, log } = this.options;
    this.lock = await lockStateDir(this.options.stateDir, graph.name);
    const plan = await planTopics(graph, log, this.options.defaultPartitions ?? 1, this.say);
    await log.createTopics(plan.create);
    this.state = 'restoring';
    const topics = [...new Set(graph.subtopologies.flatMap((s) => s.sourceTopics))];
    await this.consumer.subscribe(topics, {
      onAssigned: (tps) => this.assign(tps),
      onRevoked: (tps) => this.revoke(tps),
    });
    this.state = 'running';
  }

  private async assign(tps: TopicPartition[]): Promise<void> {
    const { graph } = this.options;
    const prev = this.state;
    this.state = 'restoring';
    for (const sub of graph.subtopologies) {
      const parts = new Set(tps.filter((tp) => sub.sourceTopics.includes(tp.topic)).map((tp) => tp.partition));
      for (const p of [...parts].sort((a, b) => a - b)) {
        const id = `${sub.id}_${p}`;
        if (this.tasks.has(id)) continue;
        const stores = await openTaskStores({ graph, sub, partition: p, taskId: id, log: this.options.log, stateDir: this.options.stateDir, collector: this.collector, cacheEntries: this.options.cacheEntries ?? 10_000 });
        const task = new StreamTask(id, sub, p, graph, { collector: this.collector, policy: this.policy, stores: stores.typed, time: stores.time });
        this.tasks.set(id, { task, stores });
        this.restoredRecords += stores.restored;
        for (const t of sub.sourceTopics) {
          const key = `${t}:${p}`;
          this.routes.set(key, [...(this.routes.get(key) ?? []), task]);
        }
      }
    }
    this.state = prev === 'created' ? 'restoring' : prev;
  }

  private async revoke(tps: TopicPartition[]): Promise<void> {
    if (this.tasks.size === 0) return;
    if (this.state !== 'failed') await this.commit();
    const gone = new Set(tps.map((tp) => `${tp.topic}:${tp.partition}`));
    for (const [id, h] of this.tasks) {
      if (!h.task.subtopology.sourceTopics.some((t) => gone.has(`${t}:${h.task.partition}`))) continue;
      h.task.close();
      await h.stores.close();
      this.tasks.delete(id);
    }
    for (const key of gone) this.routes.delete(key);
  }

  /** Polls once and processes what came, one record at a time; returns how many records. */
  async runOnce(maxRecords = 500, timeoutMs = 100): Promise<number> {
    const records = await this.consumer.poll(maxRecords, timeoutMs);
    this.uncommitted += records.length;
    // Records come in runs of one partition: look the route up once per run, not per record.
    let topic: string | undefined;
    let partition = -1;
    let tasks: StreamTask[] | undefined;
    for (const r of records) {
      if (r.topic !== topic || r.partition !== partition) {
        topic = r.topic;
        partition = r.partition;
        tasks = this.routes.get(`${topic}:${partition}`);
      }
      if (!tasks) continue;
      for (const t of tasks) {
        const done = t.process(r);
        if (done) await done;
      }
    }
    return records.length;
  }

  /**
   * The commit, in its one order: caches flush (changelog records go to the collector), the log
   * commits output, changelogs and input offsets together, stores write to disk, checkpoints record
   * the changelog offsets the stores now hold.
   */
  async commit(): Promise<void> {
    const offsets = new Map<string, number>();
    for (const { task, stores } of this.tasks.values()) {
      stores.flush();
      for (const [k, v] of task.offsets) offsets.set(k, v);
    }
    if (this.options.log.cheapTransactions || this.options.graph.processing.guarantee === 'exactly_once') {
      await this.producer.commitTransaction(this.options.graph.name, offsets);
    } else {
      await this.producer.flush();
      await this.consumer.commit(offsets);
    }
    for (const { stores } of this.tasks.values()) await stores.persist();
    this.lastCommit = Date.now();
    this.uncommitted = 0;
    this.commits++;
  }

  /** Processes until `requestStop` or `stop`, committing every `commitInterval`; one loop however often called. */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  private async loop(): Promise<void> {
    const interval = this.options.graph.processing.commitIntervalMs;
    try {
      while (!this.stopRequested) {
        const n = await this.runOnce(500, Math.min(100, interval));
        // Besides the interval: commit when idle, so what downstream sub-topologies read through
        // repartition topics becomes visible without waiting; and when the uncommitted output
        // grows large, which bounds the producer's buffer.
        const due = Date.now() - this.lastCommit >= interval || (n === 0 && this.uncommitted > 0) || this.uncommitted >= MAX_UNCOMMITTED;
        if (due) await this.commit();
      }
    } catch (e) {
      this.state = 'failed';
      throw e;
    }
  }

  /** Ends the `run` loop after the batch in hand; `stop` then commits and closes. */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Processes and commits until nothing more arrives (the test runner's step). */
  async runUntilIdle(): Promise<void> {
    for (;;) {
      const n = await this.runOnce(1, 0);
      await this.commit();
      if (n === 0) return;
    }
  }

  /**
   * Stops fetching, finishes the batch, commits, closes the stores. After a failure nothing is
   * committed: the failed record and what followed it are processed again on the next start.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.stopRequested = true;
    await this.running?.catch(() => undefined);
    if (this.state !== 'failed') this.state = 'stopping';
    await this.consumer.close();
    if (this.state !== 'failed') await this.commit();
    for (const { task, stores } of this.tasks.values()) {
      task.close();
      await stores.close();
    }
    this.tasks.clear();
    await this.producer.close();
    await this.lock?.release();
    this.state = 'stopped';
  }

  /** Commits done, and records replayed from changelogs, for metrics. */
  commits = 0;
  restoredRecords = 0;

  /** The running tasks and their stores. */
  handles(): Iterable<TaskHandle> {
    return this.tasks.values();
  }

  /** The tasks' stores, for queries: table name → stores across the tasks that hold it. */
  storesOf(store: string): TaskStores[] {
    return [...this.tasks.values()].filter((h) => h.stores.typed.has(store)).map((h) => h.stores);
  }

  /** Records processed so far, across tasks. */
  get processed(): number {
    let n = 0;
    for (const { task } of this.tasks.values()) n += task.processed;
    return n;
  }
}
