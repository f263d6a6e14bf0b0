/** What the compiler makes of a table's groupBy and of a foreign-key join: their internal topics, stores and co-partition groups. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { compileTopology } from '../../../engine/compiler/index.js';
import { renderText } from '../../../engine/describe/text.js';
import { ROOT } from '../../root.js';

function compile(file: string): TopologyGraph {
  const r = compileTopology(file, readFileSync(`${ROOT}test/topologies/${file}`, 'utf8'), { env: {} });
  assert.deepEqual(r.diagnostics, []);
  return r.graph!;
}

const internal = (g: TopologyGraph, role: string): string[] => g.topics.filter((t) => t.role === role).map((t) => t.name);

test('a foreign-key join writes a subscription topic co-partitioned with the other table and a response topic with its own', () => {
  const g = compile('foreign-key-join.yaml');
  assert.deepEqual(internal(g, 'repartition'), ['fk-order-lines-0-subscription', 'fk-order-lines-0-response', 'fk-all-order-lines-0-subscription', 'fk-all-order-lines-0-response']);
  assert.deepEqual(g.copartitionGroups, [
    ['orders', 'fk-order-lines-0-response', 'fk-all-order-lines-0-response'],
    ['products', 'fk-order-lines-0-subscription', 'fk-all-order-lines-0-subscription'],
  ]);
  assert.deepEqual(g.stores.filter((s) => s.node.startsWith('order-lines.')).map((s) => [s.name, s.node, s.queryable ?? null]), [
    ['order-lines-0-join-left', 'order-lines.0.join-subscribe', null],
    ['order-lines-0-join-subscriptions', 'order-lines.0.join-subscription', null],
    ['order-lines', 'order-lines.0.join', 'order-lines'],
  ]);
  const text = renderText(g);
  for (const topic of ['fk-order-lines-0-subscription (repartition, internal', 'fk-order-lines-0-response (repartition, internal']) assert.ok(text.includes(topic), text);
});

test('a table\'s groupBy keeps its rows\' last values in a store of its own; the aggregation keeps the table\'s name', () => {
  const g = compile('table-groupby.yaml');
  assert.ok(internal(g, 'repartition').includes('regroup-products-per-category-repartition'));
  assert.deepEqual(g.stores.filter((s) => s.node.startsWith('products-per-category.')).map((s) => [s.name, s.keySerde, s.valueSerde, s.queryable ?? null]), [
    ['products-per-category-0-groupBy', 'string', 'json', null],
    ['products-per-category', 'string', 'long', 'products-per-category'],
  ]);
});
