import type { Definition, StepUse, WorkGraph, WorkNode } from './model.js';
import { atRest } from '../serde/schema-format.js';

type Add = (n: Omit<WorkNode, 'stores' | 'args' | 'stepIndex'> & Partial<WorkNode>) => WorkNode;

/**
 * The nodes of a foreign-key table-table join (operators/foreign-key-join.ts): on the left side a
 * `subscribe` node writing `<app>-<table>-<step>-subscription`, on the right side (the sub-topology
 * of the `with` table, sharing its store) `subscription` and `foreign` nodes writing
 * `<app>-<table>-<step>-response`, and back on the left the `response` node whose output is the
 * joined table. Internal nodes carry streams of messages, never a table's value.
 */
export function addForeignKeyJoin(app: string, def: Definition, step: StepUse, args: Record<string, unknown>, left: WorkNode, right: WorkNode, work: WorkGraph, add: Add): WorkNode {
  const id = `${def.name}.${step.index}.join`;
  const stem = `${def.name}-${step.index}-join`;
  const subscriptionTopic = `${app}-${def.name}-${step.index}-subscription`;
  const responseTopic = `${app}-${def.name}-${step.index}-response`;
  for (const name of [subscriptionTopic, responseTopic]) work.topics.push({ name, role: 'repartition', internal: true, cleanupPolicy: 'delete' });
  const joined = { ...args, type: args.type ?? 'inner', value: args.value ?? '{"left": left, "right": right}', leftValuesStore: `${stem}-left`, subscriptionStore: `${stem}-subscriptions` };
  const common = { type: 'join', definition: def.name, pointer: step.pointer, kind: 'stream' as const, windowed: false, rekeyed: false, stepIndex: step.index };
  const wire = (from: WorkNode, topic: string, keySerde: WorkNode['keySerde'], name: string): WorkNode => {
    const at = { ...common, keySerde, valueSerde: 'json' as const, topic };
    add({ ...at, id: `${id}-${name}-sink`, type: 'repartition-sink', inputs: [from.id] });
    return add({ ...at, id: `${id}-${name}-source`, type: 'repartition-source', inputs: [] });
  };
  const subscribe = add({ ...common, id: `${id}-subscribe`, inputs: [left.id], keySerde: atRest(right.keySerde), valueSerde: 'json', args: { ...joined, role: 'subscribe' } });
  const subscriptions = wire(subscribe, subscriptionTopic, atRest(right.keySerde), 'subscription');
  const answers = { ...common, keySerde: atRest(left.keySerde), valueSerde: 'json' as const };
  const subscription = add({ ...answers, id: `${id}-subscription`, inputs: [subscriptions.id], args: { ...joined, role: 'subscription' } });
  const foreign = add({ ...answers, id: `${id}-foreign`, inputs: [right.id], args: { ...joined, role: 'foreign' } });
  const at = { ...answers, topic: responseTopic };
  add({ ...at, id: `${id}-response-sink`, type: 'repartition-sink', inputs: [subscription.id, foreign.id] });
  const responses = add({ ...at, id: `${id}-response-source`, type: 'repartition-source', inputs: [] });
  return add({ ...common, id, kind: 'table', inputs: [responses.id], keySerde: left.keySerde, valueSerde: 'json', args: { ...joined, role: 'response' } });
}

/**
 * Its stores: the left rows' values (owned by `subscribe`, read by `response`), the subscriptions
 * (owned by `subscription`, read by `foreign`), and the `with` table's store, read by `subscription`.
 */
export function assignForeignKeyJoinStores(node: WorkNode, byId: ReadonlyMap<string, WorkNode>, rightStore: (table: string) => string, create: (node: WorkNode, name: string, extra: { keySerde: WorkNode['keySerde']; valueSerde: WorkNode['valueSerde'] }) => void): void {
  const left = node.args.leftValuesStore as string;
  const subscriptions = node.args.subscriptionStore as string;
  switch (node.args.role) {
    case 'subscribe': {
      const input = byId.get(node.inputs[0]!)!;
      create(node, left, { keySerde: input.keySerde, valueSerde: input.valueSerde });
      break;
    }
    case 'subscription': {
      create(node, subscriptions, { keySerde: 'string', valueSerde: 'json' });
      const right = rightStore(node.args.with as string);
      node.stores.push(right);
      node.args.rightStore = right;
      break;
    }
    case 'foreign':
      node.stores.push(subscriptions);
      break;
    case 'response':
      node.stores.push(left);
  }
}
