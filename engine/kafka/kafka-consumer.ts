import kafkajs from './kafkajs.js';
import type { Consumer, EachBatchPayload, GroupDescription, Kafka, MemberDescription } from 'kafkajs';
import { tpKey, type CommittedOffset, type ConsumerOptions, type GroupMember, type LogConsumer, type LogRecord, type RebalanceListener, type TopicPartition } from '../api/log.js';
import { parseTpKey } from '../log/topic-state.js';
import { copartitionedAssigner, parseAssignmentInfo, parseMemberInfo, type MemberInfo } from './assigners.js';
import { HEARTBEAT_MS, isRebalanceError, RetriableError, SESSION_TIMEOUT_MS, errorType, sleep } from './client.js';
import type { FetchedBatch } from './fetched-batch.js';
import { HandOff } from './hand-off.js';
import { Signal } from './signal.js';

/** How long a commit that hit a rebalance waits for the group's next generation before failing. */
const REJOIN_WAIT_MS = 30_000;

const { AssignerProtocol } = kafkajs;
/** Reading the group's map again while its coordinator is still settling the generation (or failing), this far apart. */
const MAP_RETRY_MS = 200;

const toTp = (key: string): TopicPartition => parseTpKey(key)!;

/**
 * A member of a consumer group on kafkajs, behind the pull interface the engine drives.
 *
 * kafkajs pushes batches (`eachBatch`); each batch waits in a hand-off queue until `poll` has
 * taken all of it, heartbeating meanwhile, so kafkajs fetches at most one batch ahead per
 * partition (back-pressure), and a slow engine does not lose its group membership.
 *
 * Rebalances: kafkajs rejoins on its own and only then reports the new assignment (GROUP_JOIN);
 * it has no hook before partitions are taken away. So the listener is called from inside `poll`
 * (as Java's consumer does), where the engine is not processing: `onRevoked` for partitions that
 * are gone, then `onAssigned` for new ones, whose records are held back until it has returned.
 * The at-least-once consequence: between the group's decision and our next poll, the partitions'
 * new owner may already process records this member processed but had not committed yet; they
 * are processed twice (never lost: output is flushed before offsets are committed). Records
 * queued but not handed out when a rebalance is noticed are dropped and fetched again.
 * A rejoin also resets kafkajs's positions to the committed offsets; for partitions this member
 * keeps, it seeks back to where the engine really is, so they are not processed twice.
 */
export class KafkaConsumer implements LogConsumer {
  private readonly consumer: Consumer;
  private readonly queue = new HandOff();
  private readonly signal = new Signal();
  /** What the group gave this member at its last join (kafkajs's view). */
  private granted = new Set<string>();
  /** What the listener was told: partitions whose tasks exist. */
  private readonly applied = new Set<string>();
  /** The next offset to hand out, per partition, once a record of it was handed out or it was sought. */
  private readonly positions = new Map<string, number>();
  /** Per partition: the high watermark of its latest fetch (kafkajs skips empty fetches: one at the end leaves it so). */
  private readonly highWatermarks = new Map<string, number>();
  private readonly paused = new Set<string>();
  private listener: RebalanceListener | undefined;
  private changed = false;
  private reconciling: Promise<void> | undefined;
  private joins = 0;
  private failure: Error | undefined;
  private closing = false;
  private closed = false;
  /** When the broker last answered one of this member's requests (fetch, heartbeat, commit); undefined before subscribe. */
  private lastAnswer: number | undefined;
  /** This member's id in the group, from its last join. */
  private memberId: string | undefined;
  /** Set when the group is seen rebalancing, until this member has joined its next generation. */
  private rebalancing = false;
  /** The group's members as read after the join `joins` counted (DescribeGroups, once per join). */
  private map: { joins: number; members: GroupMember[] } | undefined;
  /** The read of the map of the current generation, while it runs. */
  private mapReading: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly groupId: string,
    private readonly fetchCommitted: (groupId: string, tp: TopicPartition) => Promise<CommittedOffset | undefined>,
    private readonly describeGroup: (groupId: string) => Promise<GroupDescription>,
    options: ConsumerOptions = {},
  ) {
    const { endpoint, held } = options;
    const self = (): MemberInfo => ({
      owned: [...new Set([...this.granted].map((k) => toTp(k).partition))],
      ...(endpoint !== undefined && { endpoint }),
      ...held?.(),
    });
    this.consumer = kafka.consumer({
      groupId,
      partitionAssigners: [copartitionedAssigner(self, options.standbyReplicas ?? 0)],
      sessionTimeout: SESSION_TIMEOUT_MS,
      rebalanceTimeout: 30_000,
      heartbeatInterval: HEARTBEAT_MS,
      maxWaitTimeInMs: 250,
      // A consumer that crashed is not restarted behind the engine's back: poll reports it.
      retry: { retries: 5, restartOnFailure: async () => false },
    });
  }

  async subscribe(topics: readonly string[], listener: RebalanceListener): Promise<void> {
    this.checkOpen();
    if (this.closing) throw new Error(`kafka: the consumer of group "${this.groupId}" is closed`);
    if (this.listener) throw new Error(`kafka: the consumer of group "${this.groupId}" is already subscribed; create another consumer for other topics`);
    this.listener = listener;
    const c = this.consumer;
    c.on(c.events.GROUP_JOIN, (e) => this.onJoin(e.payload.memberAssignment, e.payload.memberId));
    c.on(c.events.REBALANCING, () => {
      this.rebalancing = true;
      this.queue.dropAll();
    });
    c.on(c.events.CRASH, (e) => this.fail(e.payload.error));
    this.lastAnswer = Date.now();
    c.on(c.events.REQUEST, () => (this.lastAnswer = Date.now()));
    // A fetched batch of nothing but transaction markers (or aborted records) never reaches
    // eachBatch: kafkajs only announces it. Where the engine stands right before it, it now stands after it.
    c.on(c.events.START_BATCH_PROCESS, ({ payload: b }) => {
      this.highWatermarks.set(`${b.topic}:${b.partition}`, Number(b.highWatermark));
      if (b.batchSize !== 0 || b.firstOffset === null) return;
      const key = `${b.topic}:${b.partition}`;
      const from = this.positions.get(key);
      const end = Number(b.lastOffset) + 1;
      if (from !== undefined && this.applied.has(key) && Number(b.firstOffset) <= from && end > from) this.positions.set(key, end);
    });
    await c.connect();
    try {
      await c.subscribe({ topics: [...new Set(topics)], fromBeginning: true });
    } catch (e) {
      if (errorType(e) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
      throw new Error(`kafka: group "${this.groupId}" cannot subscribe to ${topics.join(', ')}: a topic does not exist (create it first)`, { cause: e });
    }
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 32, eachBatch: (p) => this.onBatch(p) });
    if (this.failure) throw this.failure;
    // The first assignment's tasks are created (and restored) before subscribe returns.
    await this.reconcile();
  }

  async poll(maxRecords: number, timeoutMs: number): Promise<LogRecord[]> {
    this.checkOpen();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.changed) await this.reconcile();
      const out = this.queue.take(maxRecords);
      for (const [key, next] of this.queue.lastTaken) this.positions.set(key, next);
      if (out.length > 0 || Date.now() >= deadline || this.closed) return out;
      await this.signal.wait(deadline - Date.now());
    }
  }

  /** Called by kafkajs with one partition's batch; returns once the batch was handed out or dropped. */
  private async onBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    const key = `${batch.topic}:${batch.partition}`;
    // A new partition's records wait for onAssigned (its tasks restore their stores first).
    while (!this.applied.has(key)) {
      if (this.closing || !this.granted.has(key)) return;
      await this.signal.wait(HEARTBEAT_MS);
      await this.heartbeat(heartbeat);
    }
    if (isStale() || this.paused.has(key) || this.closing) return;
    const from = this.positions.get(key);
    // kafkajs's Batch is Duality's (fetched-batch.ts): its records are decoded as poll takes them.
    const records = (batch as unknown as FetchedBatch).cursor(from);
    // After the last message fetched, transaction markers included (kafkajs never hands those out).
    const end = Number(batch.lastOffset()) + 1;
    if (records.remaining === 0) {
      // Nothing but markers (or aborted records) past where the engine is: it stands after them.
      if (from !== undefined && end > from) this.positions.set(key, end);
      if (from !== undefined) resolveOffset(String(from - 1));
      return;
    }
    const entry = this.queue.add(key, records, end);
    this.signal.notify();
    while (!entry.outcome) {
      await entry.settled(HEARTBEAT_MS);
      if (!entry.outcome) await this.heartbeat(heartbeat);
    }
    // kafkajs fetches next from the resolved offset: past the batch's markers once all of it was taken.
    if (entry.outcome === 'taken') resolveOffset(batch.lastOffset());
    else if (entry.outcome === 'paused' && entry.last >= 0) resolveOffset(String(entry.last));
  }

  /** A heartbeat that finds the group rebalancing stops handing out every queued record. */
  private async heartbeat(beat: () => Promise<void>): Promise<void> {
    try {
      await beat();
    } catch (e) {
      if (isRebalanceError(e)) {
        this.rebalancing = true;
        this.queue.dropAll();
      }
      throw e;
    }
  }

  private onJoin(assignment: Record<string, number[]>, memberId: string): void {
    const granted = new Set<string>();
    for (const [topic, parts] of Object.entries(assignment)) for (const p of parts) granted.add(`${topic}:${p}`);
    for (const key of granted) {
      const at = this.positions.get(key);
      if (at !== undefined && this.applied.has(key)) this.consumer.seek({ ...toTp(key), offset: String(at) });
    }
    this.queue.dropWhere((k) => !granted.has(k));
    this.granted = granted;
    this.changed = true;
    this.joins++;
    this.memberId = memberId;
    this.rebalancing = false;
    this.readMap();
    this.signal.notify();
  }

  /**
   * Reads the group's map for the generation just joined: kafkajs hands a member its partitions
   * but drops the assignment's userData (its standbys) and knows nothing of the others, while the
   * coordinator's DescribeGroups has every member's metadata (endpoint) and assignment bytes
   * whole. Once per join, so a lookup never costs a round-trip. A group that is not Stable is
   * settling a later generation, whose join reads its own map; until one is read there is none.
   */
  private readMap(): Promise<void> {
    const joins = this.joins;
    this.mapReading = (async () => {
      const deadline = Date.now() + REJOIN_WAIT_MS;
      while (this.joins === joins && !this.closing && Date.now() < deadline) {
        try {
          const group = await this.describeGroup(this.groupId);
          if (this.joins !== joins) return;
          if (group.state === 'Stable') {
            this.map = { joins, members: group.members.map(describedMember) };
            const mine = group.members.find((m) => m.memberId === this.memberId);
            this.listener?.onStandby?.(parseAssignmentInfo(mine && decoded(() => AssignerProtocol.MemberAssignment.decode(mine.memberAssignment))?.userData).standby);
            return;
          }
        } catch {
          // The coordinator moved or the broker is away: read again; a lookup meanwhile has no map.
        }
        await sleep(MAP_RETRY_MS);
      }
    })().finally(() => {
      if (this.joins === joins) this.mapReading = undefined;
    });
    return this.mapReading;
  }

  /** Tells the listener what changed since it last heard, one change at a time. */
  private reconcile(): Promise<void> {
    if (this.reconciling) return this.reconciling;
    // Cleared once settled, never from inside: a run with nothing to do settles synchronously,
    // before `reconciling` is even set, and clearing it there left a settled run in place for
    // good, so that a member whose first join gave it no partitions never took any later.
    const run = this.applyChanges().finally(() => {
      if (this.reconciling === run) this.reconciling = undefined;
    });
    this.reconciling = run;
    return run;
  }

  private async applyChanges(): Promise<void> {
    while (this.changed && this.listener && !this.closed) {
      this.changed = false;
      const target = this.granted;
      const revoked = [...this.applied].filter((k) => !target.has(k));
      const added = [...target].filter((k) => !this.applied.has(k)).sort();
      if (revoked.length > 0) {
        for (const k of revoked) this.forget(k);
        await this.listener.onRevoked(revoked.map(toTp));
      }
      if (added.length > 0) {
        await this.listener.onAssigned(added.map(toTp));
        for (const k of added) this.applied.add(k);
      }
      this.signal.notify();
    }
  }

  private forget(key: string): void {
    this.applied.delete(key);
    this.positions.delete(key);
    this.highWatermarks.delete(key);
    this.queue.dropWhere((k) => k === key);
    // kafkajs keeps pause state per partition across generations; a partition that comes back starts unpaused.
    if (this.paused.delete(key)) this.consumer.resume([{ topic: toTp(key).topic, partitions: [toTp(key).partition] }]);
  }

  async commit(offsets: ReadonlyMap<string, number>, metadata?: ReadonlyMap<string, string>): Promise<void> {
    if (offsets.size === 0) return;
    this.checkOpen();
    let list = [...offsets].map(([key, offset]) => {
      const tp = parseTpKey(key);
      if (!tp || !Number.isSafeInteger(offset) || offset < 0) throw new Error(`kafka: cannot commit offset ${offset} for "${key}" of group "${this.groupId}"`);
      return { key, ...tp, offset: String(offset), metadata: metadata?.get(key) ?? null };
    });
    for (let attempt = 1; ; attempt++) {
      const joins = this.joins;
      try {
        await this.consumer.commitOffsets(list.map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata })));
        if (this.failure) throw this.failure;
        return;
      } catch (e) {
        if (!isRebalanceError(e) || attempt >= 3) throw new Error(`kafka: committing offsets of group "${this.groupId}" failed: ${(e as Error).message}`, { cause: e });
      }
      // The group moved to a new generation: once kafkajs has rejoined, commit what is still ours.
      await this.waitForJoin(joins);
      list = list.filter((o) => this.granted.has(o.key));
      if (list.length === 0) return;
    }
  }

  private async waitForJoin(joins: number): Promise<void> {
    const deadline = Date.now() + REJOIN_WAIT_MS;
    while (this.joins === joins) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) throw new RetriableError(`kafka: group "${this.groupId}" did not finish rebalancing within ${REJOIN_WAIT_MS / 1000} s`);
      await this.signal.wait(deadline - Date.now());
    }
  }

  async committed(tp: TopicPartition): Promise<number | undefined> {
    return (await this.fetchCommitted(this.groupId, tp))?.offset;
  }

  committedWithMetadata(tp: TopicPartition): Promise<CommittedOffset | undefined> {
    return this.fetchCommitted(this.groupId, tp);
  }

  /**
   * Also while `onAssigned` runs for the partition: where its first records are read from. A
   * rebalance may take the partition away while `onAssigned` still runs (a task restoring its
   * stores); seeking it is then moot, not a failure: the listener hears of its revocation next.
   */
  seek(tp: TopicPartition, offset: number): void {
    const key = tpKey(tp);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`kafka: cannot seek ${key} to ${offset}: offsets are whole numbers ≥ 0`);
    if (!this.applied.has(key) && !this.granted.has(key)) {
      if (this.reconciling !== undefined && this.changed) return;
      this.assignedKey(tp, 'seek');
    }
    this.queue.dropWhere((k) => k === key);
    this.positions.set(key, offset);
    this.consumer.seek({ ...tp, offset: String(offset) });
  }

  position(tp: TopicPartition): number | undefined {
    return this.positions.get(tpKey(tp));
  }

  endOffset(tp: TopicPartition): number | undefined {
    return this.highWatermarks.get(tpKey(tp));
  }

  pause(tps: readonly TopicPartition[]): void {
    for (const tp of tps) {
      const key = this.assignedKey(tp, 'pause');
      this.paused.add(key);
      // Its queued batch must not hold up kafkajs's next fetch for the other partitions.
      this.queue.dropWhere((k) => k === key, 'paused');
      this.consumer.pause([{ topic: tp.topic, partitions: [tp.partition] }]);
    }
  }

  resume(tps: readonly TopicPartition[]): void {
    for (const tp of tps) {
      this.paused.delete(this.assignedKey(tp, 'resume'));
      this.consumer.resume([{ topic: tp.topic, partitions: [tp.partition] }]);
    }
  }

  assignment(): TopicPartition[] {
    return [...this.applied].map(toTp);
  }

  silentFor(): number {
    return this.lastAnswer === undefined || this.closing ? 0 : Date.now() - this.lastAnswer;
  }

  /** The map of the last generation read; while a rebalance runs, still the one before it. */
  async members(): Promise<GroupMember[]> {
    return (await this.currentMembers()) ?? this.map?.members ?? [];
  }

  async currentMembers(): Promise<GroupMember[] | undefined> {
    if (this.rebalancing || this.memberId === undefined || this.closing) return undefined;
    if (this.map?.joins === this.joins) return this.map.members;
    // The read for this generation gave up (no broker): one more try, for this caller.
    await (this.mapReading ?? this.readMap());
    return this.map?.joins === this.joins && !this.rebalancing ? this.map.members : undefined;
  }

  /** Revokes everything (the listener commits while this is still a member), then leaves the group. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.reconciling;
      const all = [...this.applied];
      for (const k of all) this.applied.delete(k);
      if (this.listener && all.length > 0) await this.listener.onRevoked(all.map(toTp));
    } finally {
      this.closed = true;
      this.queue.dropAll();
      this.signal.notify();
      await this.consumer.disconnect();
    }
  }

  private fail(e: Error): void {
    this.failure ??= new Error(`kafka: the consumer of group "${this.groupId}" stopped: ${e.message}`, { cause: e });
    this.signal.notify();
  }

  private assignedKey(tp: TopicPartition, action: string): string {
    const key = tpKey(tp);
    if (!this.applied.has(key)) throw new Error(`kafka: cannot ${action} ${key}: it is not assigned to this consumer`);
    return key;
  }

  /** Commits stay possible while closing: the listener's onRevoked commits. */
  private checkOpen(): void {
    if (this.closed) throw new Error(`kafka: the consumer of group "${this.groupId}" is closed`);
  }
}

/**
 * A member as the coordinator describes it: its metadata carries the endpoint it advertised when
 * it joined, its assignment the partitions and (in its userData) the standbys the leader gave it.
 */
function describedMember(m: MemberDescription): GroupMember {
  const assignment = decoded(() => AssignerProtocol.MemberAssignment.decode(m.memberAssignment));
  const partitions = Object.entries(assignment?.assignment ?? {}).flatMap(([topic, parts]) => parts.map((partition) => ({ topic, partition })));
  const metadata = decoded(() => AssignerProtocol.MemberMetadata.decode(m.memberMetadata));
  return { endpoint: parseMemberInfo(metadata?.userData).endpoint, partitions, standby: parseAssignmentInfo(assignment?.userData).standby };
}

/**
 * kafkajs's decoders throw on empty bytes, which the coordinator gives for a member whose join or
 * sync is under way (seen: a RangeError from readInt16 while an instance stopped): such a member
 * holds nothing yet.
 */
function decoded<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}
