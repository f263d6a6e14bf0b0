import { STEP_BY_NAME } from '../../operators/index.js';
import type { TopicInfo } from '../api/topology-graph.js';
import type { Pass, WorkNode } from './model.js';
import { atRest } from '../serde/schema-format.js';

/** Nodes that need records with equal keys on the same partition: aggregations, joins and toTable. */
function partitionSensitive(node: WorkNode): boolean {
  return STEP_BY_NAME.get(node.type)?.aggregates === true || node.type === 'join' || node.type === 'toTable';
}

/** The `repartition` step repartitions whether or not the key changed, with its own partition count if it says one. */
const explicit = (node: WorkNode): boolean => node.type === 'repartition';

/**
 * Where a key-changing step (map, selectKey, flatMap, groupBy) feeds a node that needs records
 * partitioned by key, and before every `repartition` step, routes the records through an internal
 * repartition topic, as Kafka Streams does. Topic names derive from the definition: `<app>-<definition>-repartition` for its first
 * repartition point, `<app>-<definition>-<step>-repartition` for later ones, `-other-` for the right
 * side of a join; so adding steps or definitions elsewhere never renames a topic.
 */
export const insertRepartitions: Pass = {
  name: 'insertRepartitions',
  run(state) {
    const doc = state.doc!;
    const work = state.work!;
    const byId = new Map(work.nodes.map((n) => [n.id, n]));
    const out: WorkNode[] = [];
    const used = new Set<string>();
    for (const node of work.nodes) {
      if (partitionSensitive(node) || explicit(node)) {
        node.inputs = node.inputs.map((inputId, side) => {
          const input = byId.get(inputId)!;
          if (!input.rekeyed && !explicit(node)) return inputId;
          const first = !used.has(node.definition);
          used.add(node.definition);
          const other = side === 1 ? 'other-' : '';
          const topic = `${doc.name}-${node.definition}${first ? '' : `-${node.stepIndex}`}-${other}repartition`;
          const common = {
            definition: node.definition,
            pointer: node.pointer,
            kind: input.kind,
            windowed: input.windowed,
            keySerde: atRest(input.keySerde),
            valueSerde: atRest(input.valueSerde),
            args: {},
            stores: [],
            topic,
            rekeyed: false,
            stepIndex: node.stepIndex,
          };
          const prefix = `${node.definition}.${node.stepIndex}.${other}repartition`;
          out.push({ ...common, id: `${prefix}-sink`, type: 'repartition-sink', inputs: [inputId] });
          out.push({ ...common, id: `${prefix}-source`, type: 'repartition-source', inputs: [] });
          const partitions = explicit(node) && node.args.partitions !== undefined ? { partitions: Number(node.args.partitions) } : {};
          work.topics.push({ name: topic, role: 'repartition', internal: true, cleanupPolicy: 'delete', ...partitions } satisfies TopicInfo);
          return `${prefix}-source`;
        });
      }
      out.push(node);
    }
    work.nodes = out;
    return state;
  },
};
