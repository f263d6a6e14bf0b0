import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { compileTopology } from '../../../engine/compiler/index.js';
import { ROOT } from '../../root.js';

function compile(text: string): TopologyGraph {
  const r = compileTopology('t.yaml', text, { env: {} });
  assert.deepEqual(r.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`), []);
  return r.graph!;
}

const example = (name: string): string => readFileSync(`${ROOT}topologies/${name}.yaml`, 'utf8');
const topicsOf = (g: TopologyGraph, role: string): string[] => g.topics.filter((t) => t.role === role).map((t) => t.name);

test('every example compiles to plain JSON data', () => {
  for (const f of readdirSync(`${ROOT}topologies`).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'))) {
    const g = compile(readFileSync(`${ROOT}topologies/${f}`, 'utf8'));
    assert.deepEqual(JSON.parse(JSON.stringify(g)), g, f);
  }
});

test('wordcount: groupBy repartitions into a second sub-topology that counts into a changelogged store', () => {
  const g = compile(example('wordcount'));
  assert.deepEqual(topicsOf(g, 'repartition'), ['wordcount-word-counts-repartition']);
  assert.deepEqual(topicsOf(g, 'changelog'), ['wordcount-word-counts-changelog']);
  assert.equal(g.subtopologies.length, 2);
  assert.deepEqual(g.subtopologies[0]!.sourceTopics, ['TextLinesTopic']);
  assert.deepEqual(g.subtopologies[0]!.sinkTopics, ['wordcount-word-counts-repartition']);
  assert.deepEqual(g.subtopologies[1]!.sourceTopics, ['wordcount-word-counts-repartition']);
  assert.deepEqual(g.subtopologies[1]!.sinkTopics, ['WordsWithCountsTopic']);
  const store = g.stores.find((s) => s.name === 'word-counts')!;
  assert.equal(store.queryable, 'word-counts');
  assert.equal(store.changelogTopic, 'wordcount-word-counts-changelog');
  const table = g.definitions.find((d) => d.name === 'word-counts')!;
  assert.deepEqual([table.kind, table.store, table.keySerde, table.valueSerde], ['table', 'word-counts', 'string', 'long']);
  const sink = g.nodes.find((n) => n.type === 'sink')!;
  assert.deepEqual([sink.topic, sink.keySerde, sink.valueSerde], ['WordsWithCountsTopic', 'string', 'long']);
  // Every node comes after its inputs.
  const seen = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) assert.ok(seen.has(i), `${n.id} before ${i}`);
    seen.add(n.id);
  }
});

/** All internal topic and store names of a graph. */
const names = (g: TopologyGraph): string[] => [...g.topics.filter((t) => t.internal).map((t) => t.name), ...g.stores.map((s) => s.name)];

test('internal names are stable: adding steps or tables elsewhere renames no store or topic', () => {
  const base = example('ad-attribution');
  const before = names(compile(base));
  const variants = {
    'a table defined before the others': base.replace('\ntables:\n', '\ntables:\n  per-user:\n    from: impressions\n    steps:\n      - groupBy: value.user\n      - count\n'),
    'a step before the grouping': base.replace('      - groupBy: value.ad', '      - filter: value.ad != ""\n      - groupBy: value.ad'),
    'a step after the aggregation': base.replace("'{\"impressions\": agg.impressions + 1, \"clicks\": agg.clicks + (value.clicked ? 1 : 0)}'", "'{\"impressions\": agg.impressions + 1, \"clicks\": agg.clicks + (value.clicked ? 1 : 0)}'\n      - mapValues: value.clicks"),
    'a new table and sink': base + '  ad-totals:\n    from: click-through\n    steps:\n      - toStream\n      - groupBy: string(value.clicks)\n      - count\n    to: totals\n',
  };
  for (const [what, text] of Object.entries(variants)) {
    assert.notEqual(text, base, what);
    const after = names(compile(text));
    for (const n of before) assert.ok(after.includes(n), `${what}: "${n}" was renamed (now ${after.join(', ')})`);
    assert.ok(after.length > before.length || what === 'a step before the grouping', `${what}: nothing was added`);
  }
});

const topology = (body: string): string => `version: 1\nname: app\nstreams:\n  clicks:\n    topic: clicks\n  users-stream:\n    topic: users-in\ntables:\n  users:\n    topic: users\n${body}`;

test('repartition points follow Kafka Streams: only after a key change, before grouping, joining or toTable', () => {
  const cases: [string, string, string[]][] = [
    ['groupByKey keeps the partitioning', '  per-key:\n    from: clicks\n    steps: [groupByKey, count]\n', []],
    ['selectKey then groupByKey repartitions', '  per-page:\n    from: clicks\n    steps: [{selectKey: value.page}, groupByKey, count]\n', ['app-per-page-repartition']],
    ['map then a stream-table join repartitions the stream', '  enriched:\n    from: clicks\n    steps: [{map: {key: value.user, value: value}}, {join: {with: users}}, toTable]\n', ['app-enriched-repartition']],
    ['toTable after flatMap repartitions', '  latest:\n    from: clicks\n    steps: [{flatMap: "[{\\"key\\": value.a, \\"value\\": 1}]"}, toTable]\n', ['app-latest-repartition']],
    ['two groupings in one definition get distinct topics', '  twice:\n    from: clicks\n    steps: [{groupBy: value.a}, count, toStream, {groupBy: value}, count]\n', ['app-twice-repartition', 'app-twice-4-repartition']],
    ['mapValues after a stream filter keeps the partitioning', '  kept:\n    from: clicks\n    steps: [{filter: value.ok}, {mapValues: value.n}, groupByKey, {sum: value}]\n', []],
  ];
  for (const [what, body, expected] of cases) {
    assert.deepEqual(topicsOf(compile(topology(body)), 'repartition'), expected, what);
  }
});

test('a merged stream with a re-keyed input repartitions before its aggregation', () => {
  const g = compile('version: 1\nname: app\nstreams:\n  a:\n    topic: a\n  b:\n    topic: b\n  rekeyed:\n    from: a\n    steps: [{selectKey: value.user}]\ntables:\n  both:\n    from: [rekeyed, b]\n    steps: [groupByKey, count]\n');
  assert.deepEqual(topicsOf(g, 'repartition'), ['app-both-repartition']);
});

test('a stream-table join shares a sub-topology with the table and records co-partitioned topics', () => {
  const g = compile(example('click-enrichment'));
  const sub = g.subtopologies.find((s) => s.sourceTopics.includes('clicks'))!;
  assert.ok(sub.sourceTopics.includes('users'));
  assert.ok(sub.stores.includes('users'));
  assert.ok(g.copartitionGroups.some((grp) => grp.includes('clicks') && grp.includes('users')));
  const join = g.nodes.find((n) => n.id === 'enriched-clicks.0.join')!;
  assert.deepEqual(join.stores, ['users']);
  assert.deepEqual(join.inputs, ['clicks.source']);
});

test('windows: window and session stores with retention; emit final on the aggregation', () => {
  const g = compile(example('sales-per-product'));
  const tumbling = g.stores.find((s) => s.name === 'sales-per-product-10m')!;
  assert.deepEqual([tumbling.type, tumbling.retentionMs], ['window', 86_400_000]);
  const hourly = g.nodes.find((n) => n.definition === 'units-per-product-hourly' && n.type === 'sum')!;
  assert.deepEqual(hourly.args.window, { type: 'hopping', sizeMs: 3_600_000, advanceMs: 600_000, graceMs: 300_000, retentionMs: 86_400_000 });
  assert.equal(hourly.args.emit, 'final');
  assert.equal(g.definitions.find((d) => d.name === 'units-per-product-hourly')!.windowed, true);
  const sessions = compile(example('user-sessions'));
  assert.equal(sessions.stores[0]!.type, 'session');
});

test('a stream-stream join buffers both sides in window stores; a left join also keeps the unmatched', () => {
  const g = compile(example('ad-attribution'));
  const join = g.nodes.find((n) => n.type === 'join')!;
  assert.deepEqual(join.inputs, ['impressions.source', 'clicks.source']);
  assert.deepEqual(join.stores, ['attributed-join-this', 'attributed-join-other', 'attributed-join-outer']);
  assert.equal(join.args.withinMs, 600_000);
  assert.equal(join.args.graceMs, 60_000);
  assert.deepEqual(g.copartitionGroups, [['impressions', 'ad-clicks']]);
});

test('defaults: guarantee, commit interval, task idling, DLQ topic', () => {
  const g = compile(example('wordcount'));
  assert.deepEqual(g.processing, { guarantee: 'at_least_once', commitIntervalMs: 1000, standbyReplicas: 0, maxTaskIdleMs: 0 });
  assert.deepEqual(g.errors, { policy: 'dlq', topic: 'wordcount-dlq' });
  assert.equal(compile(example('ad-attribution')).processing.commitIntervalMs, 100);
});

test('a source timestamp of `record` is the default: the record\'s own timestamp', () => {
  const text = (ts: string): string => `version: 1\nname: ts\nstreams:\n  clicks:\n    topic: clicks\n${ts}    to: out\n`;
  const explicit = compileTopology('t.yaml', text('    timestamp: record\n'), { env: {} });
  assert.deepEqual(explicit.diagnostics, []);
  assert.deepEqual(explicit.graph, compileTopology('t.yaml', text(''), { env: {} }).graph);
});
