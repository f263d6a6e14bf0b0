/**
 * The log the engine runs on: Kafka (through kafkajs) or the embedded single-process log. The
 * runtime talks only to this interface; nothing above it knows which implementation it has.
 *
 * Records are bytes: serdes live above the log. Offsets are per partition, starting at 0; an
 * "end offset" is the offset the next record appended will get.
 */

export type Headers = Record<string, Buffer>;

export interface ProducedRecord {
  readonly topic: string;
  /** When absent, the log partitions by key (Kafka's murmur2 partitioner), round-robin for null keys. */
  readonly partition?: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers?: Headers;
}

export interface LogRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Headers;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A group's committed offset of a partition, with the metadata string committed with it (Kafka's OffsetAndMetadata). */
export interface CommittedOffset {
  readonly offset: number;
  /** '' when none was committed. The engine keeps the partition's stream time here (stream-time.ts). */
  readonly metadata: string;
}

/** `topic:partition`, the key of maps over partitions. */
export const tpKey = (tp: TopicPartition): string => `${tp.topic}:${tp.partition}`;

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Kafka's cleanup.policy: changelogs are compacted. */
  readonly cleanupPolicy?: 'delete' | 'compact' | 'compact,delete';
  /** What the topology uses it for (source, sink, dlq, repartition, changelog): for the log line that says it was created. */
  readonly role?: string;
}

/** A member of a consumer group, as the group's coordinator knows it. */
export interface GroupMember {
  /**
   * The `host:port` its HTTP API answers on, as it advertised when it joined (Kafka Streams'
   * `application.server`); undefined for a member that advertised none.
   */
  readonly endpoint: string | undefined;
  /** The partitions whose active tasks it runs. */
  readonly partitions: TopicPartition[];
  /** Task partitions of which it keeps a standby copy of the stores (processing.standbyReplicas). */
  readonly standby: readonly number[];
}

/** Told of partitions given to and taken from this member of a consumer group. */
export interface RebalanceListener {
  /** Called before partitions are taken away: flush, commit and close what works on them. */
  onRevoked(partitions: TopicPartition[]): Promise<void>;
  /** Called when partitions are given: create tasks, restore state, then process. */
  onAssigned(partitions: TopicPartition[]): Promise<void>;
  /**
   * Called once the group's map of a new generation is read (a group of several members): the
   * task partitions this member is to keep standby copies of (processing.standbyReplicas).
   */
  onStandby?(partitions: readonly number[]): void;
}

/** What a member tells its group of the tasks' state it holds, when it joins. */
export interface HeldState {
  /** Task partitions it keeps standby copies of now. */
  readonly standby: readonly number[];
  /** Per task partition it has state of on disk: the sum of the changelog offsets its stores reflect. */
  readonly offsets: Readonly<Record<number, number>>;
}

export interface ConsumerOptions {
  /** Advertised to the other members (see GroupMember). */
  readonly endpoint?: string;
  /** Standby copies of each task that the group's leader places, when this member leads (Kafka Streams' num.standby.replicas). */
  readonly standbyReplicas?: number;
  /** Asked at each join, synchronously: what this member holds, so the leader keeps copies where they are and moves a task to its most caught-up copy. */
  readonly held?: () => HeldState;
}

/**
 * A producer. `send` buffers; nothing is visible to readers until `flush` (non-transactional) or
 * `commitTransaction` resolves. Lifecycle: create, send/flush (or begin/send/commit) any number of
 * times, close.
 */
export interface LogProducer {
  /**
   * Resolves once the producer is registered with the log. A transactional producer thereby fences
   * every older producer of its id (their later commits fail) and completes their open transaction,
   * so what they committed is visible, and nothing else is, when this resolves.
   */
  init(): Promise<void>;
  send(records: readonly ProducedRecord[]): void;
  /** Throws what `send` would throw for the record's size (too large for its topic), sending nothing. */
  check?(record: ProducedRecord): void;
  /** Resolves once every record sent so far is durable and visible; returns the partition and offset of each, in send order. */
  flush(): Promise<(TopicPartition & { offset: number })[]>;
  /**
   * Exactly-once: records sent since the last commit, and the consumed offsets of `groupId`, become
   * visible together or not at all, when this resolves. `metadata` (per `tpKey`) is committed with
   * the offsets (Kafka's transactional sendOffsets carries it).
   */
  commitTransaction(groupId: string, offsets: ReadonlyMap<string, number>, metadata?: ReadonlyMap<string, string>): Promise<void>;
  /** Drops what was sent since the last flush or commit. */
  abortTransaction(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A member of a consumer group. Lifecycle: subscribe (assignments arrive through the listener),
 * poll/commit any number of times, close (which revokes everything first).
 */
export interface LogConsumer {
  subscribe(topics: readonly string[], listener: RebalanceListener): Promise<void>;
  /** Up to `maxRecords` records from assigned, unpaused partitions, in offset order per partition; waits up to `timeoutMs` for some. */
  poll(maxRecords: number, timeoutMs: number): Promise<LogRecord[]>;
  /** Commits the group's offsets (the next offset to read, per `tpKey`), with `metadata` per `tpKey` where given. */
  commit(offsets: ReadonlyMap<string, number>, metadata?: ReadonlyMap<string, string>): Promise<void>;
  /** The group's committed offset for a partition, if any. */
  committed(tp: TopicPartition): Promise<number | undefined>;
  /** The same with the metadata committed with it. */
  committedWithMetadata(tp: TopicPartition): Promise<CommittedOffset | undefined>;
  /** Where the next poll of this partition reads from. */
  seek(tp: TopicPartition, offset: number): void;
  /**
   * The next offset to read of a partition whose records were handed out: past the last record
   * handed out and past the transaction markers after it (which are never handed out). Once every
   * record handed out is processed, this is the offset to commit (Kafka's `position`).
   */
  position(tp: TopicPartition): number | undefined;
  /**
   * Records of a partition that the log holds past this member's position, as of its last fetch
   * of it (Kafka's `currentLag`: the last stable offset of the latest fetch response, less the
   * position); undefined until a fetch or a look-up told. A task that reads several partitions
   * waits for records it knows are there before it picks the next one by time.
   */
  lag(tp: TopicPartition): number | undefined;
  pause(tps: readonly TopicPartition[]): void;
  resume(tps: readonly TopicPartition[]): void;
  assignment(): TopicPartition[];
  /** Every member of the group with its endpoint and partitions, as of the group's last rebalance. */
  members(): Promise<GroupMember[]>;
  /**
   * The members as of the generation this member is in, without asking the log again: resolves
   * at once but after a rebalance, when the new generation's map is read once (it then waits for
   * that read); undefined while the group rebalances or the map cannot be read, rather than a
   * map that may name a former owner.
   */
  currentMembers(): Promise<GroupMember[] | undefined>;
  /**
   * For how long (ms) the log has not answered this member while it is subscribed: a member of a
   * Kafka group hears from its broker several times a second (fetches, heartbeats), so a long
   * silence means the broker hangs, though no request has failed yet. 0 for a log that cannot hang.
   */
  silentFor(): number;
  close(): Promise<void>;
}

export interface Log {
  /** A human name for logs and /readyz: `embedded (dir)` or `kafka (brokers)`. */
  readonly description: string;
  /**
   * True when a producer's `commitTransaction` costs no more than a flush (the embedded log): the
   * engine then always commits output and offsets together. On Kafka, transactions are used only
   * under `exactly_once`; `at_least_once` flushes, then commits the consumer's offsets.
   */
  readonly cheapTransactions: boolean;
  /** Creates the topics that do not exist yet; leaves existing ones as they are. */
  /** Creates the topics that do not exist yet; resolves with those it created (existing ones are left as they are). */
  createTopics(topics: readonly TopicSpec[]): Promise<TopicSpec[]>;
  /** The number of partitions of a topic, or undefined when it does not exist. */
  partitions(topic: string): Promise<number | undefined>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /**
   * Reads a partition outside any group (changelog restore): up to `maxRecords` from `offset`;
   * [] once nothing readable is left below the end offset (read_committed). `follow`: the caller
   * will read on from where this ends as records arrive (a standby), so what serves it stays open.
   */
  read(tp: TopicPartition, offset: number, maxRecords: number, options?: { follow?: boolean }): Promise<LogRecord[]>;
  /** The end offset of each partition of a topic. */
  endOffsets(topic: string): Promise<number[]>;
  /**
   * Learns how big a record each of `topics` takes (Kafka's max.message.bytes), so that a producer
   * refuses a bigger one at `send`, where the error policy can take it, rather than the broker
   * refusing the request that carries it. A log without such a limit leaves it out.
   */
  learnRecordLimits?(topics: readonly string[]): Promise<void>;
  /** `offsets: false`: nobody reads what `flush` answers, so the producer need not keep it (it may answer []). */
  producer(options?: { transactionalId?: string; offsets?: boolean }): LogProducer;
  /** A new member of `groupId`. */
  consumer(groupId: string, options?: ConsumerOptions): LogConsumer;
  /**
   * The live members of a consumer group: 0 when it has none or does not exist. The embedded log
   * sees only consumers in this process (other processes are kept off its directory by its lock).
   */
  groupMembers(groupId: string): Promise<number>;
  /**
   * Sets a group's committed offset on every partition of `topics` to the partition's start (the
   * earliest offset it still holds), as `duality reset` does; topics that do not exist are left
   * out. Resolves with the offsets set. Fails while the group has live members.
   */
  rewindGroup(groupId: string, topics: readonly string[]): Promise<(TopicPartition & { offset: number })[]>;
  /**
   * Whether an error thrown by this log may go away on its own (an unreachable broker, a fenced
   * producer, a commit whose outcome is unknown): the engine then closes its tasks without
   * committing, waits, and joins again, restoring state from what the log has committed.
   */
  retriable(error: unknown): boolean;
  /**
   * What a retriable failure means when the log itself answers (another instance fenced a
   * producer, the group rebalances, another producer's transaction holds records back), in words
   * for the engine's log and /readyz; undefined when the log cannot be reached or the cause is unknown.
   */
  explain(error: unknown): string | undefined;
  close(): Promise<void>;
}
