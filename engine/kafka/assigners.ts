import kafkajs from './kafkajs.js';
import type { Assigner, GroupMemberAssignment, PartitionAssigner } from 'kafkajs';
import type { TopicPartition } from '../api/log.js';
import { placeStandbys, spread } from './task-placement.js';

const { AssignerProtocol } = kafkajs;
const { MemberMetadata, MemberAssignment } = AssignerProtocol;

/** What a member says of itself when it joins, in the protocol metadata's userData. */
export interface MemberInfo {
  /** Partition numbers (tasks) it holds now, for stickiness. */
  readonly owned: readonly number[];
  /** `host:port` of its HTTP API, for the other members to find who holds a key. */
  readonly endpoint?: string;
  /** Task partitions it keeps standby copies of now, for stickiness. */
  readonly standby?: readonly number[];
  /**
   * Per task partition whose state it has on disk (a standby, or a task it ran before): the sum
   * of the changelog offsets its stores reflect (Kafka Streams' SubscriptionInfo taskOffsetSums).
   */
  readonly offsets?: Readonly<Record<number, number>>;
}

/** What the leader tells each member besides its partitions, in the assignment's userData. */
export interface AssignmentInfo {
  /** Task partitions to keep standby copies of. */
  readonly standby: readonly number[];
}

/**
 * The engine's group assignor. A task reads partition p of every topic of its sub-topology
 * (co-partitioning), so partition p of every subscribed topic goes to one member, as Kafka
 * Streams' StreamsPartitionAssignor does; kafkajs's round-robin would split a join's two sides.
 *
 * Sticky: each member says in its metadata which partition numbers it holds; they stay with it
 * as long as the spread stays even, so a member joining or leaving moves only the tasks it must
 * (each move is a state restore on the new owner), preferably to a member that already has a
 * caught-up copy of their state. With `standbyReplicas`, the leader's, other members keep copies
 * of each task's stores (task-placement.ts); kafkajs drops the assignment's userData that says
 * which, so members read it back from the group's description (KafkaConsumer).
 */
export function copartitionedAssigner(self: () => MemberInfo, standbyReplicas = 0): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'duality-copartitioned',
    version: 1,
    protocol: ({ topics }) => ({
      name: 'duality-copartitioned',
      metadata: MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify(self())) }),
    }),
    async assign({ members, topics }): Promise<GroupMemberAssignment[]> {
      const subscribed = new Map<string, string[]>();
      const infos = new Map<string, MemberInfo>();
      for (const m of members) {
        const meta = MemberMetadata.decode(m.memberMetadata);
        subscribed.set(m.memberId, meta?.topics ?? topics);
        infos.set(m.memberId, parseMemberInfo(meta?.userData));
      }
      const counts = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).length]));
      const tasks = Math.max(0, ...counts.values());
      const ids = [...subscribed.keys()].sort();
      const copy = (m: string, p: number): number => infos.get(m)?.offsets?.[p] ?? -1;
      const owner = spread(tasks, ids, new Map(ids.map((m) => [m, infos.get(m)!.owned])), copy);
      const standby = placeStandbys(tasks, ids, owner, standbyReplicas, new Map(ids.map((m) => [m, infos.get(m)!.standby ?? []])), copy);
      return members.map((m) => {
        const assignment: Record<string, number[]> = {};
        for (const t of subscribed.get(m.memberId) ?? []) {
          const n = counts.get(t) ?? 0;
          const mine = [...Array(n).keys()].filter((p) => owner.get(p) === m.memberId);
          if (mine.length > 0) assignment[t] = mine;
        }
        const info: AssignmentInfo = { standby: standby.get(m.memberId) ?? [] };
        return { memberId: m.memberId, memberAssignment: MemberAssignment.encode({ version: 1, assignment, userData: Buffer.from(JSON.stringify(info)) }) };
      });
    },
  });
}

const partitionList = (v: unknown): number[] => (Array.isArray(v) ? v.filter((p): p is number => Number.isSafeInteger(p) && p >= 0) : []);

function parseObject(userData: Buffer | undefined): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(userData?.toString() || '{}');
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A member's userData; a member of another version of this program gets no preference and no endpoint. */
export function parseMemberInfo(userData: Buffer | undefined): MemberInfo {
  let o = parseObject(userData);
  // The first version sent the owned tasks alone, as a list.
  if (Array.isArray(o)) o = { owned: o };
  if (o === undefined) return { owned: [] };
  const info: { -readonly [K in keyof MemberInfo]: MemberInfo[K] } = { owned: partitionList(o.owned) };
  if (typeof o.endpoint === 'string') info.endpoint = o.endpoint;
  if (Array.isArray(o.standby)) info.standby = partitionList(o.standby);
  if (typeof o.offsets === 'object' && o.offsets !== null) {
    const offsets: Record<number, number> = {};
    for (const [p, sum] of Object.entries(o.offsets)) if (partitionList([Number(p)]).length === 1 && Number.isSafeInteger(sum)) offsets[Number(p)] = sum as number;
    info.offsets = offsets;
  }
  return info;
}

/** A member's assignment userData; none (an older leader's) means no standbys. */
export function parseAssignmentInfo(userData: Buffer | undefined): AssignmentInfo {
  return { standby: partitionList(parseObject(userData)?.standby) };
}

/**
 * For reading one partition outside the application's group (kafkajs has no manual assignment):
 * the only member of a throwaway group gets exactly this partition.
 */
export function onePartitionAssigner(tp: TopicPartition): PartitionAssigner {
  return (): Assigner => ({
    name: 'duality-one-partition',
    version: 1,
    protocol: ({ topics }) => ({ name: 'duality-one-partition', metadata: MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }),
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: MemberAssignment.encode({ version: 1, assignment: i === 0 ? { [tp.topic]: [tp.partition] } : {}, userData: Buffer.alloc(0) }),
      }));
    },
  });
}
