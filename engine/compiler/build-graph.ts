import type { Serde } from '../api/topology-graph.js';
import { windowMs } from './check-durations.js';
import { addForeignKeyJoin } from './foreign-key-join.js';
import { parseDuration } from './duration.js';
import type { Definition, Pass, WorkGraph, WorkNode } from './model.js';

/** Serde of a key after a step that computes it: keep string keys as strings, anything else as JSON. */
const computedKey = (input: Serde): Serde => (input === 'string' ? 'string' : 'json');

/**
 * Turns each definition into nodes: a source, table source or merge, one node per step that
 * processes records (groupByKey and window only shape the aggregation that follows), and a sink.
 */
export const buildGraph: Pass = {
  name: 'buildGraph',
  run(state) {
    const doc = state.doc!;
    const work: WorkGraph = { nodes: [], outputs: new Map(), tableStores: new Map(), stores: [], topics: [], subtopologies: [], copartitionGroups: [] };
    const byId = new Map<string, WorkNode>();
    const add = (node: Omit<WorkNode, 'stores' | 'args' | 'stepIndex'> & Partial<WorkNode>): WorkNode => {
      const full: WorkNode = { stores: [], args: {}, stepIndex: -1, ...node };
      work.nodes.push(full);
      byId.set(full.id, full);
      return full;
    };
    for (const name of doc.order) {
      const def = doc.definitions.get(name)!;
      let cur = startOf(def, work, byId, add);
      if (def.branch) cur = add(branchNode(def, def.branch, cur));
      let window: Record<string, string> | undefined;
      // A table's groupBy: it and the aggregation after it deal in changes ({old, new}) of rows.
      let ofTable = false;
      for (const step of def.steps) {
        // A branch step makes no node in its own definition: each branch is a definition (expandBranches).
        if (step.name === 'groupByKey' || step.name === 'branch') continue;
        if (step.name === 'window') {
          window = step.args as Record<string, string>;
          continue;
        }
        const args = stepArgs(step.name, step.args);
        if (step.name === 'join' && args.foreignKey !== undefined) {
          cur = addForeignKeyJoin(doc.name, def, step, args, cur, byId.get(work.outputs.get(args.with as string)!)!, work, add);
          continue;
        }
        const spec = step.spec;
        const kind = spec.transitions[step.input!.kind]!;
        let keySerde = cur.keySerde;
        let valueSerde = cur.valueSerde;
        if (spec.changesKey) keySerde = computedKey(cur.keySerde);
        if (spec.expressions.length > 0 && step.name !== 'filter' && step.name !== 'selectKey' && !(step.name === 'groupBy' && args.value === undefined) && step.name !== 'peek') valueSerde = 'json';
        if (step.name === 'count') valueSerde = 'long';
        const inputs = [cur.id];
        if (step.name === 'groupBy' && step.input!.kind === 'table') {
          ofTable = true;
          valueSerde = 'json';
          args.ofTable = true;
        } else if (spec.aggregates && ofTable) {
          args.ofTable = true;
          ofTable = false;
        }
        if (spec.aggregates) {
          if (window) args.window = { type: window.type, ...windowMs(window) };
          if (def.emit === 'final' && window) args.emit = 'final';
          window = undefined;
        }
        if (step.name === 'join') {
          const other = byId.get(work.outputs.get(args.with as string)!)!;
          args.otherKind = other.kind;
          // Stream-stream and table-table joins react to records on both sides; stream-table looks the table up.
          if (other.kind === cur.kind) inputs.push(other.id);
          if (typeof args.within === 'string') args.withinMs = parseDuration(args.within);
          if (typeof args.grace === 'string') args.graceMs = parseDuration(args.grace);
          args.type ??= 'inner';
          args.value ??= '{"left": left, "right": right}';
        }
        cur = add({
          id: `${def.name}.${step.index}.${step.name}`,
          type: step.name,
          definition: def.name,
          pointer: step.pointer,
          inputs,
          kind,
          windowed: kind === 'grouped' ? false : step.input!.windowed,
          keySerde,
          valueSerde,
          args,
          rekeyed: spec.changesKey === true || (!spec.aggregates && step.name !== 'join' && step.name !== 'toTable' && step.name !== 'repartition' && cur.rekeyed),
          stepIndex: step.index,
        });
      }
      work.outputs.set(def.name, cur.id);
      if (def.to) {
        add({
          id: `${def.name}.sink`,
          type: 'sink',
          definition: def.name,
          pointer: def.to.pointer,
          inputs: [cur.id],
          kind: cur.kind,
          windowed: cur.windowed,
          // A windowed key is written as JSON {key, start, end} (docs/language.md, Serdes).
          keySerde: cur.windowed ? 'json' : (def.to.keySerde ?? cur.keySerde),
          valueSerde: def.to.valueSerde ?? cur.valueSerde,
          ...(!cur.windowed && def.to.keySchema && { keySchema: def.to.keySchema }),
          ...(def.to.valueSchema && { valueSchema: def.to.valueSchema }),
          args: { emit: def.emit },
          topic: def.to.topic,
          rekeyed: false,
        });
      }
    }
    return { ...state, work };
  },
};

function startOf(def: Definition, work: WorkGraph, byId: Map<string, WorkNode>, add: (n: Omit<WorkNode, 'stores' | 'args' | 'stepIndex'> & Partial<WorkNode>) => WorkNode): WorkNode {
  if (def.source) {
    const table = def.section === 'tables';
    return add({
      id: `${def.name}.source`,
      type: table ? 'table-source' : 'source',
      definition: def.name,
      pointer: def.pointer,
      inputs: [],
      kind: table ? 'table' : 'stream',
      windowed: false,
      keySerde: def.source.keySerde,
      valueSerde: def.source.valueSerde,
      ...(def.source.keySchema && { keySchema: def.source.keySchema }),
      ...(def.source.valueSchema && { valueSchema: def.source.valueSchema }),
      args: def.source.timestamp !== undefined ? { timestamp: def.source.timestamp } : {},
      topic: def.source.topic,
      rekeyed: false,
    });
  }
  const inputs = def.from.map((n) => byId.get(work.outputs.get(n)!)!);
  if (!def.merged) return inputs[0]!;
  const serde = (pick: (n: WorkNode) => Serde): Serde => (inputs.every((n) => pick(n) === pick(inputs[0]!)) ? pick(inputs[0]!) : 'json');
  return add({
    id: `${def.name}.merge`,
    type: 'merge',
    definition: def.name,
    pointer: `${def.pointer}/from`,
    inputs: inputs.map((n) => n.id),
    kind: 'stream',
    windowed: inputs.some((n) => n.windowed),
    keySerde: serde((n) => n.keySerde),
    valueSerde: serde((n) => n.valueSerde),
    args: { sources: def.from },
    rekeyed: inputs.some((n) => n.rekeyed),
  });
}

/** The node of one branch: it passes the records whose first true predicate is its own. */
function branchNode(def: Definition, branch: NonNullable<Definition['branch']>, input: WorkNode): WorkNode {
  const from = def.from[0]!;
  return {
    id: `${from}.${branch.step.index}.branch-${def.name.slice(from.length + 1)}`,
    type: 'branch',
    definition: def.name,
    pointer: def.pointer,
    inputs: [input.id],
    kind: input.kind,
    windowed: input.windowed,
    keySerde: input.keySerde,
    valueSerde: input.valueSerde,
    args: { predicates: branch.predicates, position: branch.position },
    stores: [],
    rekeyed: input.rekeyed,
    stepIndex: branch.step.index,
  };
}

/** Step arguments as plain data: a bare expression becomes `{expression}`; maps are copied. */
function stepArgs(name: string, args: unknown): Record<string, unknown> {
  if (args === null || args === undefined) return {};
  if (typeof args !== 'object') return { expression: String(args) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args as Record<string, unknown>)) {
    out[k] = name === 'join' && k === 'with' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
  }
  return out;
}
