import { STEP_BY_NAME } from '../../operators/index.js';
import type { LogRecord } from '../api/log.js';
import type { Done, DropReason, Processor, ProcessorContext, StreamRecord } from '../api/processor.js';
import type { RecordCollector } from '../api/serde.js';
import type { KeyValueStore } from '../api/store.js';
import type { GraphNode, Subtopology, TopologyGraph } from '../api/topology-graph.js';
import { forwardAsIs } from '../../operators/runtime.js';
import { encodeHeaders, mergeProcessor, sinkProcessor, sourceDecoder } from './builtin-nodes.js';
import type { CacheBudget } from '../state/cache-budget.js';
import type { ErrorPolicy } from './error-policy.js';
import { HeldUpdates } from './held-updates.js';
import type { SerdeOf } from './builtin-nodes.js';

interface Edge {
  readonly target: NodeRuntime;
  /** Which of the target's inputs this edge is. */
  readonly input: number;
}

interface NodeRuntime {
  readonly node: GraphNode;
  readonly processor: Processor;
  readonly children: Edge[];
  /** Counted locally on the hot path, read by metrics at scrape time. */
  recordsIn: number;
  recordsOut: number;
  /** Sends a record to the node's children (set when the node's context is made). */
  forward: (record: StreamRecord) => Done;
  /** Table updates held back until the commit (`forwardUpdate`). */
  readonly held: HeldUpdates;
  /** Records dropped, per reason. */
  readonly dropped: Map<DropReason, number>;
  /** When the last line about a dropped record was logged, and the drops since (one line a second at most). */
  dropLog: { at: number; since: number };
}

/** What is known of the input record that made a held update: where it was, its timestamp and headers. */
const inputOf = (r: StreamRecord): LogRecord => ({ topic: r.topic, partition: r.partition, offset: r.offset, key: null, value: null, timestamp: r.timestamp, headers: encodeHeaders(r.headers) });

/** One record in this many has its processing time sampled for the latency histogram. */
const LATENCY_SAMPLE = 16;
/** Samples kept between two scrapes of /metrics. */
const MAX_LATENCIES = 4096;

export interface TaskDeps {
  readonly collector: RecordCollector;
  readonly policy: ErrorPolicy;
  readonly stores: ReadonlyMap<string, KeyValueStore>;
  /** Set to each record's timestamp as it is processed (changelog records carry it). */
  readonly time: { current: number };
  /** The bytes table updates held back until the commit (`forwardUpdate`) share with the stores' caches; a budget of 0 forwards each at once. */
  readonly cache: CacheBudget;
  /** Per input partition (tpKey), the stream time committed with its offset: where the task's stream time starts. */
  readonly partitionTimes?: ReadonlyMap<string, number>;
  /** The engine's log: `peek`, and the lines about dropped records. */
  readonly say: (line: string) => void;
  /** The serde of a node's key or value; default the plain serdes (serdeFor). */
  readonly serdeOf?: SerdeOf;
}

/** At most one line a second about dropped records, per node of a task. */
const DROP_LOG_INTERVAL_MS = 1000;

/**
 * A task: one input partition of one sub-topology, with its own processor instances, stores and
 * stream time (Kafka Streams' StreamTask). Records go through it one at a time; `process` returns
 * a promise only when a store had to be read from disk.
 */
export class StreamTask {
  /**
   * The largest timestamp of the records the task has taken from its input (Kafka Streams'
   * PartitionGroup stream time): set before a record is processed, and the maximum of the
   * partitions' times, which are committed with their offsets and restored when the task starts
   * again, here or on another instance.
   */
  streamTime = -1;
  /** Per input partition (tpKey), the largest timestamp taken from it (Kafka Streams' partition time). */
  readonly partitionTimes = new Map<string, number>();
  /** Records processed since the last read of the counters. */
  processed = 0;
  /** The next offset to read per input partition (tpKey), for the commit. */
  readonly offsets = new Map<string, number>();
  private readonly entries = new Map<string, { decode: (r: LogRecord) => StreamRecord; node: NodeRuntime }[]>();
  /** Per input topic whose source has a `timestamp:` expression: that source's decoder. */
  private readonly extracting = new Map<string, { decode: (r: LogRecord) => StreamRecord }>();
  private currentNode = '';
  /** The last input partition seen and its offsets key: records come in runs of one partition. */
  private lastTopic = '';
  private lastPartition = -1;
  private lastKey = '';
  private readonly runtimes: () => Iterable<NodeRuntime>;

  constructor(
    readonly id: string,
    readonly subtopology: Subtopology,
    readonly partition: number,
    graph: TopologyGraph,
    private readonly deps: TaskDeps,
  ) {
    for (const [k, t] of deps.partitionTimes ?? []) {
      this.partitionTimes.set(k, t);
      if (t > this.streamTime) this.streamTime = t;
    }
    const inSub = new Set(subtopology.nodes);
    const runtimes = new Map<string, NodeRuntime>();
    this.runtimes = runtimes.values.bind(runtimes);
    const ownedKv = new Set(graph.stores.filter((s) => s.type === 'key-value').map((s) => `${s.node}\u0000${s.name}`));
    for (const node of graph.nodes) {
      if (!inSub.has(node.id)) continue;
      const rt: NodeRuntime = { node, processor: this.createProcessor(node), children: [], recordsIn: 0, recordsOut: 0, forward: () => undefined, held: new HeldUpdates(deps.cache), dropped: new Map(), dropLog: { at: -Infinity, since: 0 } };
      runtimes.set(node.id, rt);
      node.inputs.forEach((parent, input) => runtimes.get(parent)!.children.push({ target: rt, input }));
      if (node.topic && node.type.endsWith('source')) {
        const list = this.entries.get(node.topic) ?? [];
        list.push({ decode: sourceDecoder(node, deps.serdeOf), node: rt });
        this.entries.set(node.topic, list);
        if (node.args.timestamp !== undefined) this.extracting.set(node.topic, list[list.length - 1]!);
      }
    }
    for (const rt of runtimes.values()) {
      const owned = rt.node.stores.find((s) => ownedKv.has(`${rt.node.id}\u0000${s}`));
      const materialize = rt.node.kind === 'table' && owned !== undefined && !STEP_BY_NAME.get(rt.node.type)?.aggregates;
      rt.processor.init?.(this.context(rt, materialize ? deps.stores.get(owned)! : undefined));
    }
  }

  private createProcessor(node: GraphNode): Processor {
    switch (node.type) {
      case 'source':
      case 'table-source':
      case 'repartition-source':
        return forwardAsIs();
      case 'merge':
        return mergeProcessor(node.args.sources as string[]);
      case 'sink':
      case 'repartition-sink':
        return sinkProcessor(node, this.deps.collector, this.deps.serdeOf);
      default: {
        const create = STEP_BY_NAME.get(node.type)?.create;
        if (!create) throw new Error(`step "${node.type}" (${node.id}) does not run yet`);
        return create(node);
      }
    }
  }

  private context(rt: NodeRuntime, materialized: KeyValueStore | undefined): ProcessorContext {
    const task = this;
    const forwardFrom = (record: StreamRecord, i: number): Done => {
      if (i === 0) rt.recordsOut++;
      for (; i < rt.children.length; i++) {
        const edge = rt.children[i]!;
        edge.target.recordsIn++;
        task.currentNode = edge.target.node.id;
        const r = edge.target.processor.process(record, edge.input);
        if (r) {
          const next = i + 1;
          return r.then(() => forwardFrom(record, next));
        }
      }
    };
    rt.forward = materialized
      ? (record) => {
          // A table node that owns a store keeps the table's current value there (null deletes).
          materialized.put(record.key, record.value, record.timestamp);
          return forwardFrom(record, 0);
        }
      : (record) => forwardFrom(record, 0);
    return {
      taskId: this.id,
      get streamTime() {
        return task.streamTime;
      },
      forward: rt.forward,
      dropped: (record, reason, why) => this.dropped(rt, record, reason, why),
      forwardUpdate: this.deps.cache.off
        ? rt.forward
        : (record) => {
            rt.held.hold(record);
            if (rt.held.over) return task.releaseWhileOver(rt);
          },
      store: <K, V>(name: string) => {
        const s = this.deps.stores.get(name);
        if (!s) throw new Error(`${rt.node.id}: no store "${name}" in task ${this.id}`);
        return s as KeyValueStore<K, V>;
      },
      log: this.deps.say,
      schedule: (intervalMs, fn) => {
        this.punctuators.push({ intervalMs, next: -1, fn });
      },
    };
  }

  private dropped(rt: NodeRuntime, r: StreamRecord, reason: DropReason, why: string): void {
    rt.dropped.set(reason, (rt.dropped.get(reason) ?? 0) + 1);
    rt.dropLog.since++;
    const now = Date.now();
    if (now - rt.dropLog.at < DROP_LOG_INTERVAL_MS) return;
    this.deps.say(`${reason} record dropped: node ${rt.node.id}, task ${this.id}, ${r.topic}:${r.partition} offset ${r.offset}, timestamp ${r.timestamp}: ${why} (${rt.dropLog.since} since the last line)`);
    rt.dropLog = { at: now, since: 0 };
  }

  /**
   * The timestamp a record is ordered by among the task's partitions: its own, or what its
   * source's `timestamp:` expression makes of it (a record that fails there is ordered by its own;
   * processing it reports the failure).
   */
  timestampOf(record: LogRecord): number {
    const entry = this.extracting.get(record.topic);
    if (!entry) return record.timestamp;
    try {
      return entry.decode(record).timestamp;
    } catch {
      return record.timestamp;
    }
  }

  /** Processes one record from one of the task's input partitions; failures go to the error policy. */
  process(record: LogRecord): Done {
    if (record.topic !== this.lastTopic || record.partition !== this.lastPartition) {
      this.lastTopic = record.topic;
      this.lastPartition = record.partition;
      this.lastKey = `${record.topic}:${record.partition}`;
    }
    this.offsets.set(this.lastKey, record.offset + 1);
    const entries = this.entries.get(record.topic);
    if (!entries) return;
    if (++this.processed % LATENCY_SAMPLE !== 0) return this.processFrom(entries, record, 0);
    const started = performance.now();
    const done = this.processFrom(entries, record, 0);
    if (!done) this.sample((performance.now() - started) / 1000);
    else return done.then(() => this.sample((performance.now() - started) / 1000));
  }

  private readonly punctuators: { intervalMs: number; next: number; fn: (streamTime: number) => Done }[] = [];

  /**
   * Stream-time punctuation: each punctuator runs once per `intervalMs` of stream time passed,
   * after the record that moved stream time (Kafka Streams' PunctuationType.STREAM_TIME).
   */
  private punctuate(): Done {
    for (const p of this.punctuators) {
      if (p.next < 0) p.next = this.streamTime - (this.streamTime % p.intervalMs) + p.intervalMs;
      if (this.streamTime < p.next) continue;
      p.next = this.streamTime - (this.streamTime % p.intervalMs) + p.intervalMs;
      const r = p.fn(this.streamTime);
      if (r) return r.then(() => this.punctuate());
    }
  }

  /** Sampled processing times in seconds since the last drain: at most MAX_LATENCIES, a uniform sample of them all (reservoir). */
  private latencies: number[] = [];
  private sampledSinceDrain = 0;

  private sample(seconds: number): void {
    const seen = ++this.sampledSinceDrain;
    if (this.latencies.length < MAX_LATENCIES) this.latencies.push(seconds);
    else {
      const i = Math.floor(Math.random() * seen);
      if (i < MAX_LATENCIES) this.latencies[i] = seconds;
    }
  }

  /** The samples since the last drain (metrics scrape them); a task nobody scrapes keeps a bounded few. */
  drainLatencies(): number[] {
    const out = this.latencies;
    this.latencies = [];
    this.sampledSinceDrain = 0;
    return out;
  }

  /** Records in, out and dropped (per reason) per node of this task. */
  nodeCounters(): { id: string; recordsIn: number; recordsOut: number; dropped: ReadonlyMap<DropReason, number> }[] {
    return [...this.runtimes()].map((rt) => ({ id: rt.node.id, recordsIn: rt.recordsIn, recordsOut: rt.recordsOut, dropped: rt.dropped }));
  }

  private processFrom(entries: { decode: (r: LogRecord) => StreamRecord; node: NodeRuntime }[], record: LogRecord, from: number): Done {
    for (let i = from; i < entries.length; i++) {
      const entry = entries[i]!;
      this.currentNode = entry.node.node.id;
      entry.node.recordsIn++;
      let r: Done;
      try {
        const decoded = entry.decode(record);
        const ts = decoded.timestamp;
        this.deps.time.current = ts;
        // Time moves before the record is processed, as in Kafka Streams: the record's own
        // timestamp counts toward the stream time it is judged late against.
        const advanced = ts > this.streamTime;
        if (advanced) this.streamTime = ts;
        if (ts > (this.partitionTimes.get(this.lastKey) ?? -1)) this.partitionTimes.set(this.lastKey, ts);
        r = entry.node.processor.process(decoded, 0);
        if (advanced && this.punctuators.length > 0) r = r ? r.then(() => this.punctuate()) : this.punctuate();
      } catch (e) {
        this.deps.policy.handle(e, record, this.id, this.currentNode, this.deps.collector);
        continue;
      }
      if (r) {
        return r.then(
          () => this.processFrom(entries, record, i + 1),
          (e: unknown) => {
            this.deps.policy.handle(e, record, this.id, this.currentNode, this.deps.collector);
            return this.processFrom(entries, record, i + 1);
          },
        );
      }
    }
  }

  /**
   * Forwards every held table update, node by node in topological order, so that what a node's
   * updates cause downstream (held updates of later nodes included) goes out in the same flush.
   * The commit calls it first, before the caches flush.
   */
  flush(): Done {
    for (const rt of this.runtimes()) {
      if (rt.held.size === 0) continue;
      const r = this.releaseAll(rt, rt.held.takeAll(), 0);
      if (r) return r.then(() => this.flush());
    }
  }

  /** Sends the node's oldest held updates on until the caches fit their budget again, or it holds none. */
  private releaseWhileOver(rt: NodeRuntime): Done {
    while (rt.held.over) {
      const r = this.release(rt, rt.held.takeOldest()!);
      if (r) return r.then(() => this.releaseWhileOver(rt));
    }
  }

  private releaseAll(rt: NodeRuntime, held: readonly StreamRecord[], from: number): Done {
    for (let i = from; i < held.length; i++) {
      const r = this.release(rt, held[i]!);
      if (r) return r.then(() => this.releaseAll(rt, held, i + 1));
    }
  }

  /**
   * Forwards one held update. A failure goes to the error policy with the place, timestamp and
   * headers of the input record that made the update, not its bytes: as in Kafka Streams (KIP-1034),
   * a cache does not keep the raw input of what it holds, so a dead-letter record of a held update
   * has a null key and value.
   */
  private release(rt: NodeRuntime, held: StreamRecord): Done {
    // The update's own time while it goes on (changelog records downstream carry it), then back to
    // the record being processed, when a full cache let this one go.
    const time = this.deps.time;
    const was = time.current;
    const fail = (e: unknown): void => {
      time.current = was;
      this.deps.policy.handle(e, inputOf(held), this.id, this.currentNode, this.deps.collector);
    };
    let r: Done;
    try {
      time.current = held.timestamp;
      r = rt.forward(held);
    } catch (e) {
      fail(e);
      return;
    }
    if (!r) {
      time.current = was;
      return;
    }
    return r.then(() => {
      time.current = was;
    }, fail);
  }

  /** Held updates are dropped: they belong to input the task has not committed, and will read again. */
  close(): void {
    for (const rt of this.runtimes()) {
      rt.held.clear();
      rt.processor.close?.();
    }
  }
}
