import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineFacade, EngineMetrics } from '../engine/api/engine-facade.js';

export interface Metrics {
  readonly contentType: string;
  /** The Prometheus text of every metric, read from the engine now. */
  render(): Promise<string>;
  /** One HTTP request answered: `route` is its pattern (`/tables/:table`), never its path. */
  observeRequest(route: string, method: string, status: number, seconds: number): void;
}

// Per-record latencies are microseconds to milliseconds; the top buckets catch disk stalls.
const LATENCY_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
// A commit waits for the log (a round trip, a transaction's markers) and the stores' disk writes.
const COMMIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// A key lookup answers in a millisecond; a page of a scan, or a query forwarded to a peer, takes longer.
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
// Any other method is counted as OTHER: a client must not be able to make up label values.
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The engine's metrics in a registry of this app's own (not prom-client's global one, so two
 * apps in one process, as in tests, never share or clash). The engine keeps cumulative counts;
 * each scrape copies them in. A counter is reset and set to the engine's total, rather than
 * incremented by differences: the exposed value is then exactly the engine's, and when it goes
 * down (tasks revoked take their counts with them) Prometheus sees an ordinary counter reset.
 */
export function createMetrics(engine: EngineFacade): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // One snapshot per scrape: `engine.metrics` walks every task, and each metric reads it.
  let snapshot: EngineMetrics | undefined;
  const now = (): EngineMetrics => (snapshot ??= engine.metrics);

  const total = (name: string, help: string, read: (m: EngineMetrics) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(now()));
      },
    });
  };
  const perNode = (name: string, help: string, read: (n: EngineMetrics['nodes'][number]) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['node'],
      registers: [registry],
      collect() {
        this.reset();
        for (const n of now().nodes) this.inc({ node: n.id }, read(n));
      },
    });
  };

  perNode('duality_records_in_total', 'Records that reached a node', (n) => n.recordsIn);
  perNode('duality_records_out_total', 'Records a node forwarded', (n) => n.recordsOut);
  new Counter({
    name: 'duality_dropped_records_total',
    help: 'Records a node dropped without processing them, by reason (late: its window had closed, grace included)',
    labelNames: ['node', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of now().dropped) this.inc({ node: d.node, reason: d.reason }, d.count);
    },
  });
  total('duality_errors_total', 'Records that failed and went to the error policy', (m) => m.errors);
  total('duality_dlq_records_total', 'Records written to the dead-letter topic', (m) => m.dlq);
  total('duality_commits_total', 'Commits of outputs, changelogs and input offsets', (m) => m.commits);
  new Histogram({
    name: 'duality_commit_duration_seconds',
    help: 'Time a commit took: caches flushed, outputs, changelogs and input offsets committed, stores handed their writes',
    buckets: COMMIT_BUCKETS,
    registers: [registry],
    collect() {
      for (const seconds of now().drainCommitTimes()) this.observe(seconds);
    },
  });
  new Gauge({
    name: 'duality_consumer_lag_records',
    help: 'Records of an input partition a task has not been handed yet: the partition end as of its latest fetch less the consumer position',
    labelNames: ['topic', 'partition', 'task'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of now().consumerLag) this.set({ topic: l.topic, partition: String(l.partition), task: l.task }, l.lag);
    },
  });
  new Histogram({
    name: 'duality_process_latency_seconds',
    help: 'Time to process one sampled input record through its task',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
    collect() {
      for (const seconds of now().drainLatencies()) this.observe(seconds);
    },
  });
  const perStore = (name: string, help: string, read: (m: EngineMetrics) => { store: string; task: string; value: number }[], Metric: typeof Gauge | typeof Counter = Gauge): void => {
    new Metric({
      name,
      help,
      labelNames: ['store', 'task'],
      registers: [registry],
      collect() {
        this.reset();
        // A counter is set as the gauge is: reset, then raised to the engine's total.
        for (const s of read(now())) this.inc({ store: s.store, task: s.task }, s.value);
      },
    });
  };
  perStore('duality_store_entries', 'Live entries of a state store in a task (an estimate)', (m) => m.stores.map((s) => ({ ...s, value: s.entries })));
  perStore('duality_restored_records_total', 'Changelog records restores applied to a store of a task (puts and deletes), since the process started', (m) => m.restores.map((r) => ({ ...r, value: r.restored })), Counter);
  perStore('duality_restore_remaining_records', 'Changelog offsets the restore of a store under way still has to replay; 0 once restored', (m) => m.restores.map((r) => ({ ...r, value: r.remaining })));
  perStore('duality_standby_lag_records', 'Changelog records a standby copy of a store still lacks, as of its last catch-up round', (m) => m.standbyLag.map((s) => ({ ...s, value: s.lag })));

  const requests = new Histogram({
    name: 'duality_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });

  return {
    contentType: registry.contentType,
    observeRequest(route, method, status, seconds) {
      requests.observe({ route, method: METHODS.has(method) ? method : 'OTHER', status: String(status) }, seconds);
    },
    async render() {
      snapshot = undefined;
      try {
        return await registry.metrics();
      } finally {
        snapshot = undefined;
      }
    },
  };
}
