import type { GraphNode } from './topology-graph.js';

/** A record as operators see it: decoded key and value, with its context (Kafka Streams' Record + RecordContext). */
export interface StreamRecord {
  readonly key: unknown;
  readonly value: unknown;
  readonly timestamp: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Where the record that started this processing came from. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Merged streams: the name of the input this record came through. */
  readonly source?: string;
}

/**
 * Why a record was dropped: `late`: its window (or join window) had closed, grace included;
 * `null-key-or-value`: a join that needs both got a record without one.
 */
export type DropReason = 'late' | 'null-key-or-value';

/** What a processor may return: nothing when it finished synchronously, a promise when it had to wait for I/O (a store miss). */
export type Done = void | Promise<void>;

/**
 * What a processor sees of its task. Lifecycle: a context is created per task, before `init`, and
 * lives until `close`.
 */
export interface ProcessorContext {
  readonly taskId: string;
  /**
   * The task's stream time: the largest timestamp it has taken from its input, the record being
   * processed included. It survives restarts and moves with the task to another instance (committed
   * with the input offsets); -1 before the task's first record ever. At `init` it is the time the
   * task starts from.
   */
  readonly streamTime: number;
  /** Sends a record to every child of this node, in order. */
  forward(record: StreamRecord): Done;
  /**
   * Forwards an update of this node's table the way Kafka Streams' record cache does. With caching
   * on (`duality run`), the update is held until the task commits, and a later update of the same
   * key replaces it, so each key's latest value goes on once per commit; when the engine's caches
   * hold more bytes than their budget, the oldest goes on at once. With caching off (topology
   * tests) it is forwarded now, like `forward`.
   */
  forwardUpdate(record: StreamRecord): Done;
  /**
   * Counts a record this node drops without processing it (`duality_dropped_records_total`), and
   * logs it, at most one line a second per node of the task with the count since the last line.
   * `why` says what made it so, for that line.
   */
  dropped(record: StreamRecord, reason: DropReason, why: string): void;
  /** A state store this node owns or reads. */
  store<K = unknown, V = unknown>(name: string): import('./store.js').KeyValueStore<K, V>;
  /** Writes a line to the engine's log (stderr in `duality run`); the caller keeps it bounded. */
  log(line: string): void;
  /** Calls `fn` each time stream time passes another `intervalMs` (punctuation). */
  schedule(intervalMs: number, fn: (streamTime: number) => Done): void;
}

/**
 * A node of the topology at run time (Kafka Streams' Processor). One instance per task:
 * `init` once, `process` per record, `close` once.
 */
export interface Processor {
  init?(ctx: ProcessorContext): void;
  /** `input` is the index, in the node's `inputs`, of the parent the record came from (joins and merges have several). */
  process(record: StreamRecord, input: number): Done;
  close?(): void;
}

export type ProcessorFactory = (node: GraphNode) => Processor;
