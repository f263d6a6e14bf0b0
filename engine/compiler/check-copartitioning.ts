import type { Pass } from './model.js';

/**
 * Joined inputs must be co-partitioned: the same number of partitions, keys partitioned alike.
 * The compiler records which topics must agree (the input topics of a sub-topology that joins);
 * the runtime checks their partition counts against the broker, and sizes repartition topics.
 */
export const checkCopartitioning: Pass = {
  name: 'checkCopartitioning',
  run(state) {
    const work = state.work!;
    const byId = new Map(work.nodes.map((n) => [n.id, n]));
    for (const sub of work.subtopologies) {
      const joins = sub.nodes.some((id) => byId.get(id)!.type === 'join');
      if (joins && sub.sourceTopics.length > 1) work.copartitionGroups.push([...sub.sourceTopics]);
    }
    return state;
  },
};
