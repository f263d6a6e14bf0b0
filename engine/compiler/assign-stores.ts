import { STEP_BY_NAME } from '../../operators/index.js';
import type { StoreInfo } from '../api/topology-graph.js';
import { assignForeignKeyJoinStores } from './foreign-key-join.js';
import type { Pass, WorkNode } from './model.js';
import { atRest } from '../serde/schema-format.js';

/**
 * Gives every stateful node its state store and changelog topic. A definition's first store is
 * named after it (`word-counts`, changelog `<app>-word-counts-changelog`); later ones add the
 * step (`<table>-<step>-<name>`), so adding steps after it or definitions elsewhere never renames
 * a store. Every table's current value is in a store, queryable by the table's name.
 */
export const assignStores: Pass = {
  name: 'assignStores',
  run(state) {
    const doc = state.doc!;
    const work = state.work!;
    const byId = new Map(work.nodes.map((n) => [n.id, n]));
    const used = new Set<string>();
    const storeOf = new Map<string, string>(); // node id → the store holding its table

    /** The name stem for a node's stores: the definition's name for its first stateful node. */
    const stem = (node: WorkNode): string => {
      const first = !used.has(node.definition);
      used.add(node.definition);
      return first ? node.definition : `${node.definition}-${node.stepIndex}-${node.type}`;
    };
    const create = (node: WorkNode, name: string, type: StoreInfo['type'], extra: Partial<StoreInfo> = {}): string => {
      const changelogTopic = `${doc.name}-${name}-changelog`;
      work.stores.push({ name, type, node: node.id, changelogTopic, keySerde: atRest(node.keySerde), valueSerde: atRest(node.valueSerde), ...extra, ...(extra.keySerde && { keySerde: atRest(extra.keySerde) }), ...(extra.valueSerde && { valueSerde: atRest(extra.valueSerde) }) });
      work.topics.push({ name: changelogTopic, role: 'changelog', internal: true, cleanupPolicy: type === 'key-value' ? 'compact' : 'compact,delete' });
      node.stores.push(name);
      return name;
    };

    // Table nodes whose values a later node must look up: the left side of a table-table join.
    const lookedUp = new Set<string>();
    for (const n of work.nodes) if (n.type === 'join' && n.kind === 'table' && n.args.role === undefined) lookedUp.add(n.inputs[0]!);
    const outputs = new Set(work.outputs.values());

    for (const node of work.nodes) {
      const window = node.args.window as { type: string; retentionMs: number } | undefined;
      if (node.type === 'join' && node.args.role !== undefined && node.args.role !== 'response') {
        // The right table's store is assigned already: definitions come in dependency order.
        const rightStore = (table: string): string => storeOf.get(work.outputs.get(table)!)!;
        assignForeignKeyJoinStores(node, byId, rightStore, (n, name, extra) => create(n, name, 'key-value', extra));
      } else if (STEP_BY_NAME.get(node.type)?.aggregates) {
        const type = window ? (window.type === 'session' ? 'session' : 'window') : 'key-value';
        storeOf.set(node.id, create(node, stem(node), type, window ? { retentionMs: window.retentionMs } : {}));
      } else if (node.type === 'groupBy' && node.args.ofTable) {
        // Each row's last value, to send what a change takes out of its group: named so that the
        // aggregation after it keeps the definition's name.
        const input = byId.get(node.inputs[0]!)!;
        const name = create(node, `${node.definition}-${node.stepIndex}-groupBy`, 'key-value', { keySerde: input.keySerde, valueSerde: input.valueSerde });
        node.args.previousStore = name;
      } else if (node.type === 'join' && node.kind === 'stream' && node.args.otherKind === 'stream') {
        // Both sides are buffered for `within` (+ grace); left and outer joins also hold the unmatched.
        const retentionMs = (node.args.withinMs as number) * 2 + ((node.args.graceMs as number | undefined) ?? 0);
        const base = stem(node);
        for (const suffix of ['this', 'other', ...(node.args.type === 'inner' ? [] : ['outer'])]) {
          create(node, `${base}-join-${suffix}`, 'window', { retentionMs });
        }
      } else if (node.kind === 'table' && node.args.role === 'response') {
        assignForeignKeyJoinStores(node, byId, () => '', () => undefined);
        // Always kept: a delete goes on only for a key that has a result (see respond()).
        const result = create(node, stem(node), 'key-value');
        storeOf.set(node.id, result);
        node.args.resultStore = result;
      } else if (node.kind === 'table' && (node.type === 'table-source' || node.type === 'toTable' || outputs.has(node.id) || lookedUp.has(node.id))) {
        storeOf.set(node.id, create(node, stem(node), 'key-value'));
      }
    }

    // Joins read the stores of their table sides.
    for (const node of work.nodes) {
      if (node.type !== 'join' || node.args.otherKind !== 'table' || node.args.role !== undefined) continue;
      const right = storeOf.get(work.outputs.get(node.args.with as string)!)!;
      node.stores.push(right);
      node.args.rightStore = right;
      if (node.kind === 'table') {
        const left = storeOf.get(node.inputs[0]!)!;
        node.stores.push(left);
        node.args.leftStore = left;
      }
    }
    for (const [def, nodeId] of work.outputs) {
      const store = storeOf.get(nodeId);
      if (store) work.tableStores.set(def, store);
    }
    // A store is queryable under the name of the table whose value it holds.
    work.stores = work.stores.map((s) => {
      const def = byId.get(s.node)!.definition;
      return work.tableStores.get(def) === s.name ? { ...s, queryable: def } : s;
    });
    return state;
  },
};
