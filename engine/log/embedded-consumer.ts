import { tpKey, type CommittedOffset, type GroupMember, type LogConsumer, type LogRecord, type RebalanceListener, type TopicPartition } from '../api/log.js';
import type { EmbeddedLog } from './embedded-log.js';

/**
 * The most records one poll returns, whatever is asked: Kafka's default `max.poll.records`. A
 * batch lives until the caller has processed all of it, and what each record leads to (here, ten
 * words per line) is allocated meanwhile; a larger batch outlives the young generation and is
 * collected from the old one, which is what makes a process's memory grow.
 */
export const MAX_POLL_RECORDS = 500;

/**
 * The one member of a consumer group in this process, so it is assigned every partition of the
 * topics it subscribes to, at subscribe. Reading starts at the group's committed offset, or at 0
 * (Kafka Streams' `auto.offset.reset=earliest`). Topics created after subscribe are not picked up.
 */
export class EmbeddedConsumer implements LogConsumer {
  private assigned: TopicPartition[] = [];
  private readonly positions = new Map<string, number>();
  private readonly paused = new Set<string>();
  private listener: RebalanceListener | undefined;
  /** Where the next poll starts, so every partition gets to go first in turn. */
  private cursor = 0;
  private closed = false;

  constructor(
    private readonly log: EmbeddedLog,
    private readonly groupId: string,
    private readonly endpoint?: string,
  ) {}

  async subscribe(topics: readonly string[], listener: RebalanceListener): Promise<void> {
    this.checkOpen();
    const tps: TopicPartition[] = [];
    for (const topic of new Set(topics)) {
      const n = this.log.partitionCount(topic);
      if (n === undefined) {
        throw new Error(`embedded log: group "${this.groupId}" cannot subscribe to topic "${topic}": it does not exist (create it first)`);
      }
      for (let partition = 0; partition < n; partition++) tps.push({ topic, partition });
    }
    if (this.listener) await this.revokeAll();
    else this.log.join(this.groupId);
    this.listener = listener;
    this.assigned = tps;
    for (const tp of tps) this.positions.set(tpKey(tp), this.log.committedOffset(this.groupId, tp) ?? 0);
    await listener.onAssigned([...tps]);
  }

  async poll(maxRecords: number, timeoutMs: number): Promise<LogRecord[]> {
    this.checkOpen();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const records = this.fetch(maxRecords);
      const left = deadline - Date.now();
      if (records.length > 0 || left <= 0 || this.closed || this.log.isClosed) return records;
      await this.log.waitForRecords(left);
    }
  }

  /** Takes up to `max` records (MAX_POLL_RECORDS at most) in chunks, round-robin over the partitions that have some. */
  private fetch(max: number): LogRecord[] {
    max = Math.min(max, MAX_POLL_RECORDS);
    const out: LogRecord[] = [];
    const active = this.assigned.filter((tp) => !this.paused.has(tpKey(tp)));
    const n = active.length;
    if (n === 0 || max <= 0) return out;
    const chunk = Math.max(1, Math.ceil(max / n));
    let progressed = true;
    while (out.length < max && progressed) {
      progressed = false;
      for (let i = 0; i < n && out.length < max; i++) {
        const tp = active[(this.cursor + i) % n] as TopicPartition;
        const data = this.log.partitionData(tp);
        if (!data) continue;
        const key = tpKey(tp);
        const from = this.positions.get(key) ?? 0;
        const take = Math.min(chunk, max - out.length, data.length - from);
        if (take <= 0) continue;
        data.readInto(out, from, from + take);
        this.positions.set(key, from + take);
        progressed = true;
      }
    }
    this.cursor = (this.cursor + 1) % n;
    return out;
  }

  async commit(offsets: ReadonlyMap<string, number>, metadata?: ReadonlyMap<string, string>): Promise<void> {
    this.checkOpen();
    await this.log.append([], { groupId: this.groupId, offsets, metadata });
  }

  async committed(tp: TopicPartition): Promise<number | undefined> {
    return this.log.committedOffset(this.groupId, tp);
  }

  async committedWithMetadata(tp: TopicPartition): Promise<CommittedOffset | undefined> {
    return this.log.committedWithMetadata(this.groupId, tp);
  }

  seek(tp: TopicPartition, offset: number): void {
    const key = this.assignedKey(tp, 'seek');
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new Error(`embedded log: cannot seek ${key} to ${offset}: offsets are whole numbers ≥ 0`);
    }
    this.positions.set(key, offset);
  }

  pause(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.paused.add(this.assignedKey(tp, 'pause'));
  }

  resume(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.paused.delete(this.assignedKey(tp, 'resume'));
  }

  /** This log writes no transaction markers: the offset after the last record handed out. */
  position(tp: TopicPartition): number | undefined {
    return this.positions.get(tpKey(tp));
  }

  endOffset(tp: TopicPartition): number | undefined {
    return this.log.partitionData(tp)?.length;
  }

  assignment(): TopicPartition[] {
    return [...this.assigned];
  }

  /** One process, one member: this one, once subscribed. */
  /** In-process: it answers as long as this process runs. */
  silentFor(): number {
    return 0;
  }

  /** The one member there is: no other instance to keep standbys. */
  async members(): Promise<GroupMember[]> {
    return this.listener && !this.closed ? [{ endpoint: this.endpoint, partitions: this.assignment(), standby: [] }] : [];
  }

  currentMembers(): Promise<GroupMember[]> {
    return this.members();
  }

  /** Revokes the assignment (the listener commits what it must), then leaves the group. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.listener) await this.revokeAll();
    } finally {
      this.closed = true;
      this.log.leave(this.groupId);
      // A poll still waiting must return now, not at its timeout.
      this.log.wake();
    }
  }

  private async revokeAll(): Promise<void> {
    const revoked = this.assigned;
    this.assigned = [];
    this.positions.clear();
    this.paused.clear();
    await this.listener?.onRevoked(revoked);
  }

  private assignedKey(tp: TopicPartition, action: string): string {
    const key = tpKey(tp);
    if (!this.positions.has(key)) throw new Error(`embedded log: cannot ${action} ${key}: it is not assigned to this consumer`);
    return key;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`embedded log: the consumer of group "${this.groupId}" is closed`);
    this.log.checkOpen();
  }
}
