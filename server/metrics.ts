import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineFacade, EngineMetrics } from '../engine/api/engine-facade.js';

export interface Metrics {
  readonly contentType: string;
  /** The Prometheus text of every metric, read from the engine now. */
  render(): Promise<string>;
}

// Per-record latencies are microseconds to milliseconds; the top buckets catch disk stalls.
const LATENCY_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

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
  total('duality_restored_records_total', 'Changelog records replayed into stores at start-up', (m) => m.restoredRecords);
  new Histogram({
    name: 'duality_process_latency_seconds',
    help: 'Time to process one sampled input record through its task',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
    collect() {
      for (const seconds of now().drainLatencies()) this.observe(seconds);
    },
  });
  const perStore = (name: string, help: string, read: (m: EngineMetrics) => { store: string; task: string; value: number }[]): void => {
    new Gauge({
      name,
      help,
      labelNames: ['store', 'task'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of read(now())) this.set({ store: s.store, task: s.task }, s.value);
      },
    });
  };
  perStore('duality_store_entries', 'Live entries of a state store in a task (an estimate)', (m) => m.stores.map((s) => ({ ...s, value: s.entries })));
  perStore('duality_standby_lag_records', 'Changelog records a standby copy of a store still lacks, as of its last catch-up round', (m) => m.standbyLag.map((s) => ({ ...s, value: s.lag })));

  return {
    contentType: registry.contentType,
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
