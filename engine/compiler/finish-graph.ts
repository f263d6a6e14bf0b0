import type { DefinitionInfo, GraphNode, TopicInfo, TopologyGraph } from '../api/topology-graph.js';
import type { Pass } from './model.js';

/** Lists the topics the application reads and writes, and freezes the working graph into plain data. */
export const finishGraph: Pass = {
  name: 'finishGraph',
  run(state) {
    const doc = state.doc!;
    const work = state.work!;
    const byId = new Map(work.nodes.map((n) => [n.id, n]));
    const topics = new Map<string, TopicInfo>();
    for (const n of work.nodes) {
      if (!n.topic || topics.has(n.topic)) continue;
      if (n.type === 'source' || n.type === 'table-source') topics.set(n.topic, { name: n.topic, role: 'source', internal: false });
      else if (n.type === 'sink') topics.set(n.topic, { name: n.topic, role: 'sink', internal: false });
    }
    for (const t of work.topics) if (!topics.has(t.name)) topics.set(t.name, t);
    if (doc.errorPolicy === 'dlq' && !topics.has(doc.dlqTopic)) topics.set(doc.dlqTopic, { name: doc.dlqTopic, role: 'dlq', internal: false });

    const nodes: GraphNode[] = work.nodes.map(({ rekeyed: _r, stepIndex: _s, ...n }) => n);
    const definitions: DefinitionInfo[] = doc.order.map((name) => {
      const def = doc.definitions.get(name)!;
      const out = byId.get(work.outputs.get(name)!)!;
      const store = work.tableStores.get(name);
      return {
        name,
        kind: def.kind!,
        windowed: def.windowed ?? false,
        node: out.id,
        ...(store && def.kind === 'table' ? { store } : {}),
        keySerde: out.keySerde,
        valueSerde: out.valueSerde,
      };
    });
    const graph: TopologyGraph = {
      version: 1,
      name: doc.name,
      ...(doc.kafka ? { kafka: doc.kafka } : {}),
      processing: { guarantee: doc.guarantee, commitIntervalMs: doc.commitIntervalMs, standbyReplicas: doc.standbyReplicas, maxTaskIdleMs: doc.maxTaskIdleMs },
      errors: { policy: doc.errorPolicy, topic: doc.dlqTopic },
      definitions,
      nodes,
      topics: [...topics.values()],
      stores: work.stores,
      subtopologies: work.subtopologies,
      copartitionGroups: work.copartitionGroups,
    };
    return { ...state, graph };
  },
};
