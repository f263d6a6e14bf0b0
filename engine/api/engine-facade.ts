import type { TopologyGraph } from './topology-graph.js';

/** Cumulative counters of a running engine, read by the metrics endpoint at each scrape. */
export interface EngineMetrics {
  /** Per node: records that reached it and records it forwarded. */
  readonly nodes: { readonly id: string; readonly recordsIn: number; readonly recordsOut: number }[];
  readonly recordsProcessed: number;
  readonly errors: number;
  readonly dlq: number;
  /** Per store and task: live entries (an estimate). */
  readonly stores: { readonly store: string; readonly task: string; readonly entries: number }[];
  /** Seconds each sampled record took to process, since the last call (drained). */
  drainLatencies(): number[];
  readonly commits: number;
  readonly restoredRecords: number;
}

export interface TableInfo {
  readonly name: string;
  readonly keySerde: string;
  readonly windowed: boolean;
}

export interface PostedRecord {
  readonly key?: unknown;
  readonly value?: unknown;
  readonly timestamp?: number | string;
  readonly headers?: Record<string, string>;
}

/** A problem with a request, for a 4xx answer. */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * What the HTTP server sees of the engine: health, queries, writes and metrics. Queries read
 * committed and uncommitted local state (as Kafka Streams' interactive queries do).
 */
export interface EngineFacade {
  readonly graph: TopologyGraph;
  /** Alive: answers while the process lives. */
  readonly state: string;
  /** Every assigned task has restored its stores and runs. */
  ready(): boolean;
  /** Why it is not ready, when that is more than its state says (a broker that does not answer). */
  readonly problem?: string | undefined;
  tables(): TableInfo[];
  /** The value of one key (given as URL text, parsed with the table's key serde); undefined when absent. RequestError for an unknown table or a key the serde cannot read. */
  get(table: string, key: string): Promise<{ key: unknown; value: unknown } | undefined>;
  /** A page of entries in key order; `cursor` continues after the last page. */
  scan(table: string, options: { prefix?: string; limit: number; cursor?: string }): Promise<{ entries: { key: unknown; value: unknown }[]; cursor?: string }>;
  /** Writes records to a topic with its serdes; resolves once they are durable. */
  produce(topic: string, records: readonly PostedRecord[]): Promise<{ partition: number; offset: number }[]>;
  readonly metrics: EngineMetrics;
}
