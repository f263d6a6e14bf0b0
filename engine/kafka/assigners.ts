import kafkajs from './kafkajs.js';
import type { Assigner, GroupMemberAssignment, PartitionAssigner } from 'kafkajs';
import type { TopicPartition } from '../api/log.js';

const { AssignerProtocol } = kafkajs;
const { MemberMetadata, MemberAssignment } = AssignerProtocol;

/** What a member says of itself when it joins, in the protocol metadata's userData. */
export interface MemberInfo {
  /** Partition numbers (tasks) it holds now, for stickiness. */
  readonly owned: readonly number[];
  /** `host:port` of its HTTP API, for the other members to find who holds a key. */
  readonly endpoint?: string;
}

/**
 * The engine's group assignor. A task reads partition p of every topic of its sub-topology
 * (co-partitioning), so partition p of every subscribed topic goes to one member, as Kafka
 * Streams' StreamsPartitionAssignor does; kafkajs's round-robin would split a join's two sides.
 *
 * Sticky: each member says in its metadata which partition numbers it holds; they stay with it
 * as long as the spread stays even, so a member joining or leaving moves only the tasks it must
 * (each move is a state restore on the new owner).
 */
export function copartitionedAssigner(self: () => MemberInfo): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'duality-copartitioned',
    version: 1,
    protocol: ({ topics }) => ({
      name: 'duality-copartitioned',
      metadata: MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify(self())) }),
    }),
    async assign({ members, topics }): Promise<GroupMemberAssignment[]> {
      const subscribed = new Map<string, string[]>();
      const previous = new Map<string, readonly number[]>();
      for (const m of members) {
        const meta = MemberMetadata.decode(m.memberMetadata);
        subscribed.set(m.memberId, meta?.topics ?? topics);
        previous.set(m.memberId, parseMemberInfo(meta?.userData).owned);
      }
      const counts = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).length]));
      const tasks = Math.max(0, ...counts.values());
      const owner = spread(tasks, [...subscribed.keys()].sort(), previous);
      return members.map((m) => {
        const assignment: Record<string, number[]> = {};
        for (const t of subscribed.get(m.memberId) ?? []) {
          const n = counts.get(t) ?? 0;
          const mine = [...Array(n).keys()].filter((p) => owner.get(p) === m.memberId);
          if (mine.length > 0) assignment[t] = mine;
        }
        return { memberId: m.memberId, memberAssignment: MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }) };
      });
    },
  });
}

/** Task numbers to members, loads differing by at most one, previous owners keeping what they can. */
export function spread(tasks: number, members: string[], previous: ReadonlyMap<string, readonly number[]>): Map<number, string> {
  const owner = new Map<number, string>();
  if (members.length === 0) return owner;
  const load = new Map(members.map((m) => [m, 0]));
  const keep = (m: string, upTo: number): void => {
    for (const p of previous.get(m) ?? []) {
      if (load.get(m)! >= upTo) return;
      if (p < tasks && !owner.has(p)) {
        owner.set(p, m);
        load.set(m, load.get(m)! + 1);
      }
    }
  };
  // Everyone keeps up to the even share; then, while the remainder lasts, one more each.
  const floor = Math.floor(tasks / members.length);
  for (const m of members) keep(m, floor);
  let extra = tasks % members.length;
  for (const m of members) {
    if (extra === 0) break;
    const before = load.get(m)!;
    keep(m, floor + 1);
    if (load.get(m)! > before) extra--;
  }
  for (let p = 0; p < tasks; p++) {
    if (owner.has(p)) continue;
    // The least loaded member, the first in id order on a tie: deterministic for a given group.
    const m = members.reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
    owner.set(p, m);
    load.set(m, load.get(m)! + 1);
  }
  return owner;
}

/** A member's userData; a member of another version of this program gets no preference and no endpoint. */
export function parseMemberInfo(userData: Buffer | undefined): MemberInfo {
  let v: unknown;
  try {
    v = JSON.parse(userData?.toString() || '{}');
  } catch {
    return { owned: [] };
  }
  // The first version sent the owned tasks alone, as a list.
  if (Array.isArray(v)) v = { owned: v };
  const o = (typeof v === 'object' && v !== null ? v : {}) as { owned?: unknown; endpoint?: unknown };
  const owned = Array.isArray(o.owned) ? o.owned.filter((p): p is number => Number.isSafeInteger(p) && p >= 0) : [];
  return typeof o.endpoint === 'string' ? { owned, endpoint: o.endpoint } : { owned };
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
