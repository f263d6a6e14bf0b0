import type { Diagnostics, Pass, WorkGraph } from './model.js';

/**
 * Joined inputs must be co-partitioned: the same number of partitions, keys partitioned alike.
 * The compiler records which topics must agree (the input topics of a sub-topology that joins);
 * the runtime checks their partition counts against the broker, and sizes repartition topics.
 */
export const checkCopartitioning: Pass = {
  name: 'checkCopartitioning',
  run(state, diagnostics) {
    const work = state.work!;
    const byId = new Map(work.nodes.map((n) => [n.id, n]));
    for (const sub of work.subtopologies) {
      const joins = sub.nodes.some((id) => byId.get(id)!.type === 'join');
      if (joins && sub.sourceTopics.length > 1) {
        work.copartitionGroups.push([...sub.sourceTopics]);
        checkFixedPartitions(work, sub.sourceTopics, byId.get(sub.nodes.find((id) => byId.get(id)!.type === 'join')!)!.pointer, diagnostics);
      }
    }
    return state;
  },
};

/**
 * Joined repartition topics whose `repartition` steps set different partition counts can never be
 * co-partitioned: an error at the join, where Kafka Streams' CopartitionedTopicsEnforcer fails at
 * startup. Counts of user topics are known only at run time (engine/runtime/topics.ts).
 */
function checkFixedPartitions(work: WorkGraph, topics: readonly string[], joinPointer: string, diagnostics: Diagnostics): void {
  const fixed = work.topics.filter((t) => topics.includes(t.name) && t.partitions !== undefined);
  if (new Set(fixed.map((t) => t.partitions)).size < 2) return;
  const list = fixed.map((t) => `${t.name} (${t.partitions} partitions)`).join(' and ');
  diagnostics.error(joinPointer, `the join's inputs are not co-partitioned: ${list} are joined, and records with the same key must be in the same partition of each; give the \`repartition\` steps the same \`partitions\``, { atKey: true });
}
