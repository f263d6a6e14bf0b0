/**
 * The run-time side of `peek` and `repartition` on a real embedded log: what a peek writes to the
 * engine's log, and how many partitions an explicit repartition topic gets and what that means for
 * co-partitioning.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { partitionForKey } from '../../../engine/log/partitioner.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { readTable } from '../../../engine/runtime/queries.js';
import { PeekLimiter } from '../../../operators/peek.js';
import { graphOf } from '../../graph-of.js';
import { tempDir } from './cli-harness.js';

/** Runs `graph` over `orders` records (key, JSON value) on a fresh log whose source topics have the given partitions. */
async function runOver(graph: TopologyGraph, records: [string, unknown][], topics: Record<string, number> = {}): Promise<{ log: EmbeddedLog; engine: Engine; said: string[] }> {
  const log = EmbeddedLog.inMemory();
  await log.createTopics(Object.entries(topics).map(([name, partitions]) => ({ name, partitions })));
  const said: string[] = [];
  const engine = new Engine({ graph, log, stateDir: tempDir(), cacheMaxBytes: 0, logger: (l) => said.push(l) });
  await engine.start();
  const p = log.producer();
  p.send(records.map(([key, value], i) => ({ topic: 'orders', key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)), timestamp: 1000 * (i + 1), headers: {} })));
  await p.flush();
  await engine.runUntilIdle();
  return { log, engine, said };
}

const ORDERS = `version: 1
name: shop
streams:
  orders:
    topic: orders
`;

test('peek logs each record it samples, with its label, and passes every record on unchanged', async () => {
  const graph = graphOf(`${ORDERS}  seen:
    from: orders
    steps:
      - peek
      - peek: {label: sampled, every: 2, log: value.qty * 10}
    to: seen
`);
  const records: [string, unknown][] = [['o1', { qty: 1 }], ['o2', { qty: 2 }], ['o3', { qty: 3 }]];
  const { log, engine, said } = await runOver(graph, records);
  const peeks = said.filter((l) => l.includes(' peek '));
  assert.deepEqual(peeks, [
    'duality: peek seen.0.peek [task 0_0]: orders-0@0 timestamp=1000 key="o1" value={"qty":1}',
    'duality: peek sampled [task 0_0]: orders-0@0 timestamp=1000 key="o1" log=10',
    'duality: peek seen.0.peek [task 0_0]: orders-0@1 timestamp=2000 key="o2" value={"qty":2}',
    'duality: peek seen.0.peek [task 0_0]: orders-0@2 timestamp=3000 key="o3" value={"qty":3}',
    'duality: peek sampled [task 0_0]: orders-0@2 timestamp=3000 key="o3" log=30',
  ]);
  const out = await log.read({ topic: 'seen', partition: 0 }, 0, 100);
  assert.deepEqual(out.map((r) => [String(r.key), JSON.parse(String(r.value)), r.timestamp]), records.map(([k, v], i) => [k, v, 1000 * (i + 1)]));
  await engine.stop();
  await log.close();
});

test('a peek writes at most 10 lines a second; the next line says how many were not logged', () => {
  const limiter = new PeekLimiter();
  const admitted = Array.from({ length: 13 }, (_, i) => limiter.admit(`r${i}`, 5_000 + i));
  assert.deepEqual(admitted.filter((l) => l !== undefined), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
  assert.equal(limiter.admit('r13', 5_999), undefined);
  assert.equal(limiter.admit('r14', 6_000), 'r14 (4 records not logged before it: at most 10 lines a second)');
  assert.equal(limiter.admit('r15', 6_001), 'r15');
});

const BY_USER = (partitions: string): string => `${ORDERS}  by-user:
    from: orders
    steps:
      - selectKey: value.user
      - repartition${partitions}
tables:
  orders-per-user:
    from: by-user
    steps:
      - groupByKey
      - count
`;

test('repartition {partitions: 4} creates its topic with 4 partitions, each key in the partition of its hash, and runs 4 tasks after it', async () => {
  const graph = graphOf(BY_USER(': {partitions: 4}'));
  const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u1'];
  const { log, engine, said } = await runOver(graph, users.map((u, i) => [`o${i}`, { user: u }]));
  assert.ok(said.includes('duality: created repartition topic shop-by-user-repartition with 4 partitions'), said.join('\n'));
  assert.ok(said.some((l) => l.includes('tasks 0_0, 1_0, 1_1, 1_2, 1_3 started')), said.join('\n'));
  for (let p = 0; p < 4; p++) {
    for (const r of await log.read({ topic: 'shop-by-user-repartition', partition: p }, 0, 100)) assert.equal(partitionForKey(r.key!, 4), p, `key ${String(r.key)} in partition ${p}`);
  }
  assert.deepEqual(await readTable(engine, 'orders-per-user'), { u1: 2, u2: 1, u3: 1, u4: 1, u5: 1, u6: 1 });
  await engine.stop();
  await log.close();
});

test('a bare repartition takes the partitions of the topic it comes from', async () => {
  const { log, engine, said } = await runOver(graphOf(BY_USER('')), [['o1', { user: 'u1' }]], { orders: 3 });
  assert.ok(said.includes('duality: created repartition topic shop-by-user-repartition with 3 partitions'), said.join('\n'));
  await engine.stop();
  await log.close();
});

const JOINED = (partitions: number): string => `${ORDERS}  by-user:
    from: orders
    steps:
      - selectKey: value.user
      - repartition: {partitions: ${partitions}}
      - join: {with: users}
tables:
  users:
    topic: users
`;

test('a repartition topic with a set partition count is checked against the topic it is joined with, as Kafka Streams does', async () => {
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: 'users', partitions: 3 }]);
  const engine = new Engine({ graph: graphOf(JOINED(2)), log, stateDir: tempDir(), logger: () => undefined });
  await assert.rejects(engine.start(), /topics shop-by-user-repartition \(2 partitions\) and users \(3 partitions\) are joined but not co-partitioned|topics users \(3 partitions\) and shop-by-user-repartition \(2 partitions\) are joined but not co-partitioned/);
  await engine.stop().catch(() => undefined);
  const said: string[] = [];
  const ok = new Engine({ graph: graphOf(JOINED(3)), log, stateDir: tempDir(), logger: (l) => said.push(l) });
  await ok.start();
  assert.ok(said.includes('duality: created repartition topic shop-by-user-repartition with 3 partitions'), said.join('\n'));
  await ok.stop();
  await log.close();
});

test('a repartition topic left with other partitions than its step now asks for stops the start, as in Kafka Streams', async () => {
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: 'shop-by-user-repartition', partitions: 4 }]);
  const engine = new Engine({ graph: graphOf(BY_USER(': {partitions: 6}')), log, stateDir: tempDir(), logger: () => undefined });
  await assert.rejects(engine.start(), /repartition topic shop-by-user-repartition exists with 4 partitions, but its `repartition` step asks for 6; reset the application/);
  await engine.stop().catch(() => undefined);
  await log.close();
});

for (const [step, steps, kept, node] of [
  ['filter', '[{filter: value.big}]\n    to: kept', [['kept', ['o1']]], 'routed.0.filter'],
  ['branch', '\n      - branch: {flagged: value.big, rest: "true"}\n  flagged: {from: routed-flagged, to: kept}\n  rest: {from: routed-rest, to: rest}', [['kept', ['o1']], ['rest', ['o2', 'o4']]], 'routed.0.branch-flagged'],
] as const) {
  test(`a ${step} predicate that gives neither true nor false sends the record to the dead-letter topic; null counts as false`, async () => {
    const graph = graphOf(`${ORDERS}  routed:\n    from: orders\n    steps: ${steps}\n`);
    // A boolean, a null, and a field that holds a string (a typo of the field meant, say).
    const records: [string, unknown][] = [['o1', { big: true }], ['o2', { big: null }], ['o3', { big: 'yes' }], ['o4', { big: false }]];
    const { log, engine } = await runOver(graph, records);
    for (const [topic, keys] of kept) assert.deepEqual((await log.read({ topic, partition: 0 }, 0, 100)).map((r) => String(r.key)), keys, topic);
    const dead = await log.read({ topic: 'shop-dlq', partition: 0 }, 0, 100);
    assert.deepEqual(
      dead.map((r) => [String(r.key), r.headers['__streams.errors.exception']?.toString(), r.headers['__streams.errors.message']?.toString(), r.headers['__duality.errors.node']?.toString()]),
      [['o3', 'EXPRESSION', 'a predicate must give true or false, not the string "yes"', node]],
    );
    await engine.stop();
  });
}
