import type { LogRecord } from './log.js';
import type { TopologyGraph } from './topology-graph.js';

/** Cumulative counters of a running engine, read by the metrics endpoint at each scrape. */
export interface EngineMetrics {
  /** Per node: records that reached it and records it forwarded. */
  readonly nodes: { readonly id: string; readonly recordsIn: number; readonly recordsOut: number }[];
  /** Records dropped per node and reason (late: after their window closed), across tasks. */
  readonly dropped: { readonly node: string; readonly reason: string; readonly count: number }[];
  readonly recordsProcessed: number;
  readonly errors: number;
  readonly dlq: number;
  /** Per store and task: live entries (an estimate). */
  readonly stores: { readonly store: string; readonly task: string; readonly entries: number }[];
  /** Seconds each sampled record took to process, since the last call (drained). */
  drainLatencies(): number[];
  readonly commits: number;
  /** Seconds each commit took, since the last call (drained). */
  drainCommitTimes(): number[];
  /** Per store of each task: changelog records its restores applied, and offsets the one under way has left. */
  readonly restores: { readonly store: string; readonly task: string; readonly restored: number; readonly remaining: number }[];
  /** Per input partition of each task: records it has not been handed yet. */
  readonly consumerLag: { readonly topic: string; readonly partition: number; readonly task: string; readonly lag: number }[];
  /** Per standby copy of a store kept here: changelog records it still lacks. */
  readonly standbyLag: { readonly store: string; readonly task: string; readonly lag: number }[];
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

/** A time range of a windowed query, epoch ms, both ends included; an end left out is open. */
export interface TimeRange {
  readonly from?: number;
  readonly to?: number;
}

export interface WindowValue {
  readonly start: number;
  readonly end: number;
  readonly value: unknown;
}

/** What a key lookup answers: its value, or for a windowed table its windows in the range asked. */
export type KeyAnswer = { readonly key: unknown; readonly value: unknown } | { readonly key: unknown; readonly windows: WindowValue[] };

/** A scan's entry: a key and its value, or for a windowed table one window of one key. */
export type ScanEntry = { readonly key: unknown; readonly value: unknown } | { readonly key: unknown; readonly start: number; readonly end: number; readonly value: unknown };

/** Where a key lives, as this instance sees the group now. */
export interface KeyPlace {
  /** The key, read with the table's key serde. */
  readonly key: unknown;
  /** Its task partition. */
  readonly partition: number;
  /** The endpoint of the instance running its active task; undefined while none does (rebalancing) or it advertised none. */
  readonly owner: string | undefined;
  /** Whether this instance runs that task, restored: it answers now. */
  readonly local: boolean;
  /** Endpoints of the instances keeping a standby copy of its stores. */
  readonly standbys: readonly string[];
}

/** One task's share of a scan page: its entries after the page's start, in position order, and the position after them when it has more. */
export interface ScanPart {
  readonly partition: number;
  readonly rows: { readonly position: Buffer; readonly size: number; readonly entry: ScanEntry }[];
  readonly next?: Buffer;
}

export interface ScanRequest {
  readonly prefix?: string;
  /** Where the page starts: a position from a cursor. */
  readonly after?: Buffer;
  readonly range?: TimeRange;
  readonly limit: number;
}

/** What the group's members hold, by task. */
export interface InstanceInfo {
  readonly endpoint: string | undefined;
  readonly active: string[];
  readonly standby: string[];
}

/** A problem with a request, for a 4xx answer. */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 503,
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
  /** The endpoint this instance advertises to the others. */
  readonly endpoint: string | undefined;
  /**
   * Where a key lives: `key` as URL text (read as the table's key serde reads it) or, `{ json }`,
   * as a JSON value. RequestError for an unknown table or a key the serde cannot read.
   */
  locate(table: string, key: string | { json: unknown }): Promise<KeyPlace>;
  /**
   * The key's answer from this instance's stores: undefined when this instance cannot answer for
   * its partition (not its task, or not restored yet; with `stale`, nor a standby copy here).
   * `answer` undefined: the table has no such key (a windowed table answers an empty list).
   */
  readLocal(table: string, place: KeyPlace, range: TimeRange, stale: boolean): Promise<{ answer: KeyAnswer | undefined; stale: boolean } | undefined>;
  /** The value of one key held here (URL text, as `locate`); undefined when absent or held elsewhere. */
  get(table: string, key: string, range?: TimeRange): Promise<KeyAnswer | undefined>;
  /** The task partitions a table's keys spread over. */
  partitionCount(table: string): Promise<number>;
  /** Each of this instance's restored tasks' share of a scan page, by partition. */
  scanLocal(table: string, request: ScanRequest): Promise<ScanPart[]>;
  /** The group's members and the tasks each holds (on the embedded log: this instance alone). */
  instances(): Promise<InstanceInfo[]>;
  /**
   * The last `limit` records of the dead-letter topic, newest first (by timestamp), as bytes:
   * what failed may not decode. [] when the error policy keeps no such topic or it is not there yet.
   */
  deadLetters(limit: number): Promise<LogRecord[]>;
  /** Writes records to a topic with its serdes; resolves once they are durable. */
  produce(topic: string, records: readonly PostedRecord[]): Promise<{ partition: number; offset: number }[]>;
  readonly metrics: EngineMetrics;
}
