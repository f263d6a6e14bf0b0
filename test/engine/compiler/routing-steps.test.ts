/** What `branch`, `peek` and `repartition` compile to: the nodes and topics `duality describe` shows. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { compileTopology } from '../../../engine/compiler/index.js';
import { renderText } from '../../../engine/describe/text.js';
import { ROOT } from '../../root.js';

function compile(text: string): TopologyGraph {
  const r = compileTopology('t.yaml', text, { env: {} });
  assert.deepEqual(r.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`), []);
  return r.graph!;
}

const routing = compile(readFileSync(`${ROOT}test/topologies/routing.yaml`, 'utf8'));

test('each branch is a stream <definition>-<branch> with a node of its own; the branching definition is the stream before the split', () => {
  const streams = routing.definitions.filter((d) => d.name.startsWith('by-size')).map((d) => [d.name, d.kind, d.node]);
  assert.deepEqual(streams, [
    ['by-size', 'stream', 'by-size.1.filter'],
    ['by-size-large', 'stream', 'by-size.2.branch-large'],
    ['by-size-small', 'stream', 'by-size.2.branch-small'],
    ['by-size-tiny', 'stream', 'by-size.2.branch-tiny'],
  ]);
  const text = renderText(routing);
  assert.match(text, /by-size\.1\.filter: filter: value\.qty > 0 {2}--> by-size\.2\.branch-large, by-size\.2\.branch-small, by-size\.2\.branch-tiny, all-orders\.sink/);
  assert.match(text, /by-size\.2\.branch-large: branch: value\.qty >= 100 {2}--> large-orders\.sink, large-per-user\.0\.groupBy/);
  assert.match(text, /by-size\.2\.branch-tiny: branch: default \(no predicate true\) {2}--> tiny-orders\.sink/);
  assert.match(text, /small-orders\.0\.peek: peek small every 2: value\.qty/);
});

test('repartition: its topic, with its partition count, separates two sub-topologies; the aggregation after it does not repartition again', () => {
  const text = renderText(routing);
  assert.match(text, /routing-by-user-repartition \(repartition, internal, cleanup\.policy=delete, 4 partitions\)/);
  assert.deepEqual(routing.topics.filter((t) => t.role === 'repartition').map((t) => t.name).sort(), ['routing-by-user-repartition', 'routing-large-per-user-repartition']);
  const reader = routing.subtopologies.find((s) => s.sourceTopics.includes('routing-by-user-repartition'))!;
  assert.deepEqual(reader.nodes, ['by-user.1.repartition-source', 'by-user.1.repartition', 'orders-per-user.1.count']);
});

test('a branch of a re-keyed stream is re-keyed: grouping it by key repartitions first', () => {
  const g = compile(`version: 1
name: shop
streams:
  orders:
    topic: orders
  by-user:
    from: orders
    steps:
      - selectKey: value.user
      - peek
      - branch: {big: value.qty > 10}
tables:
  big-per-user:
    from: by-user-big
    steps:
      - groupByKey
      - count
`);
  assert.deepEqual(g.topics.filter((t) => t.role === 'repartition').map((t) => t.name), ['shop-big-per-user-repartition']);
});
