import type { Subtopology } from '../api/topology-graph.js';
import type { Pass } from './model.js';

/**
 * Splits the graph into sub-topologies as Kafka Streams defines them: nodes connected by data
 * edges or sharing a state store belong together; repartition topics separate them. Each
 * sub-topology runs as one task per input partition.
 */
export const splitSubtopologies: Pass = {
  name: 'splitSubtopologies',
  run(state) {
    const work = state.work!;
    const parent = new Map(work.nodes.map((n) => [n.id, n.id]));
    const find = (id: string): string => {
      let root = id;
      while (parent.get(root) !== root) root = parent.get(root)!;
      parent.set(id, root);
      return root;
    };
    const union = (a: string, b: string): void => {
      parent.set(find(a), find(b));
    };
    const storeOwner = new Map<string, string>();
    for (const n of work.nodes) {
      for (const input of n.inputs) union(n.id, input);
      for (const s of n.stores) {
        const owner = storeOwner.get(s);
        if (owner) union(n.id, owner);
        else storeOwner.set(s, n.id);
      }
    }
    const groups = new Map<string, Subtopology>();
    for (const n of work.nodes) {
      const root = find(n.id);
      let sub = groups.get(root);
      if (!sub) {
        sub = { id: groups.size, nodes: [], sourceTopics: [], sinkTopics: [], stores: [] };
        groups.set(root, sub);
      }
      sub.nodes.push(n.id);
      const add = (list: string[], item: string): void => {
        if (!list.includes(item)) list.push(item);
      };
      if (n.topic && (n.type === 'source' || n.type === 'table-source' || n.type === 'repartition-source')) add(sub.sourceTopics, n.topic);
      if (n.topic && (n.type === 'sink' || n.type === 'repartition-sink')) add(sub.sinkTopics, n.topic);
      for (const s of n.stores) add(sub.stores, s);
    }
    work.subtopologies = [...groups.values()];
    return state;
  },
};
