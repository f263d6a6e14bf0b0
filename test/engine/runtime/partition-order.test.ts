import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { compileTopology } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';

/** An inner stream-table join: a click with no user yet is dropped. */
const topology = (processing = ''): TopologyGraph => {
  const r = compileTopology(
    't.yaml',
    `version: 1
name: order
${processing}
streams:
  clicks: {topic: clicks, key: string, value: json}
  enriched:
    from: clicks
    steps:
      - join: {with: users, value: '{"page": left.page, "region": right.region}'}
    to: enriched
tables:
  users: {topic: users, key: string, value: json}
`,
    { env: {} },
  );
  assert.deepEqual(r.diagnostics, []);
  return r.graph!;
};

type Input = [topic: string, key: string, value: unknown, timestamp: number];

async function write(log: EmbeddedLog, records: readonly Input[]): Promise<void> {
  const p = log.producer();
  p.send(records.map(([topic, key, value, timestamp]) => ({ topic, key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)), timestamp })));
  await p.flush();
  await p.close();
}

/** Users u0..u(n-1) at t=0..n-1; a click of each at t=n..2n-1. */
const users = (n: number): Input[] => Array.from({ length: n }, (_, i) => ['users', `u${i}`, { region: `r${i}` }, i]);
const clicks = (n: number): Input[] => Array.from({ length: n }, (_, i) => ['clicks', `u${i}`, { page: `/p${i}` }, n + i]);

async function output(log: EmbeddedLog, partitions: number): Promise<string[]> {
  const out: string[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    for (const r of await log.read({ topic: 'enriched', partition }, 0, 100_000)) out.push(`${r.key}=${r.value}`);
  }
  return out.sort();
}

const joined = (n: number): string[] => Array.from({ length: n }, (_, i) => `u${i}={"page":"/p${i}","region":"r${i}"}`).sort();

async function engineOn(log: EmbeddedLog, graph: TopologyGraph): Promise<Engine> {
  const engine = new Engine({ graph, log, stateDir: mkdtempSync(join(tmpdir(), 'duality-order-')), cacheMaxBytes: 0, logger: () => undefined });
  await engine.start();
  return engine;
}

test('a stream-table join over topics written before it starts takes the table rows first: their timestamps are earlier, though the clicks were written first', async () => {
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: 'clicks', partitions: 1 }, { name: 'users', partitions: 1 }]);
  await write(log, clicks(10));
  await write(log, users(10));
  const engine = await engineOn(log, topology());
  await engine.runUntilIdle();
  await engine.stop();
  assert.deepEqual(await output(log, 1), joined(10));
});

test('the run loop orders the records of each task by time, over several partitions, fetches of 500 records and a paused partition', async () => {
  const log = EmbeddedLog.inMemory();
  const partitions = 2;
  await log.createTopics([{ name: 'clicks', partitions }, { name: 'users', partitions }]);
  // 12,000 users a partition: the clicks wait behind them in their buffer, beyond MAX_BUFFERED.
  await write(log, clicks(24_000));
  await write(log, users(24_000));
  const engine = await engineOn(log, topology());
  const running = engine.run();
  // Until the group has committed every input record.
  const ends = [...(await log.endOffsets('clicks')), ...(await log.endOffsets('users'))];
  const tps = ['clicks', 'users'].flatMap((topic) => Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
  for (;;) {
    const committed = tps.map((tp) => log.committedOffset('order', tp) ?? 0);
    if (committed.every((c, i) => c === ends[i])) break;
    await new Promise((r) => setImmediate(r));
  }
  engine.requestStop();
  await running;
  await engine.stop();
  assert.deepEqual(await output(log, partitions), joined(24_000));
});

test('a partition at its end holds nothing up by default: clicks with no table rows anywhere go through (and find no user)', async () => {
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: 'clicks', partitions: 1 }, { name: 'users', partitions: 1 }]);
  await write(log, clicks(5));
  const engine = await engineOn(log, topology());
  assert.equal(await engine.runOnce(), 5);
  assert.equal(engine.processed, 5, 'the empty users partition is at its end: the clicks are processed at once');
  await write(log, users(5));
  await engine.runUntilIdle();
  await engine.stop();
  assert.deepEqual(await output(log, 1), []);
});

test('processing.maxTaskIdle: a task waits that long for a partition at its end, so table rows written meanwhile are joined', async () => {
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: 'clicks', partitions: 1 }, { name: 'users', partitions: 1 }]);
  await write(log, clicks(5));
  const engine = await engineOn(log, topology('processing: {maxTaskIdle: 1h}'));
  assert.equal(await engine.runOnce(), 5);
  assert.equal(engine.processed, 0, 'the clicks wait for the users partition');
  await write(log, users(5));
  await engine.runUntilIdle();
  await engine.stop();
  assert.deepEqual(await output(log, 1), joined(5));
});

test('processing.maxTaskIdle is a duration or "disabled"', () => {
  assert.equal(topology().processing.maxTaskIdleMs, 0);
  assert.equal(topology('processing: {maxTaskIdle: 500ms}').processing.maxTaskIdleMs, 500);
  assert.equal(topology('processing: {maxTaskIdle: disabled}').processing.maxTaskIdleMs, -1);
  const r = compileTopology('t.yaml', 'version: 1\nname: x\nprocessing: {maxTaskIdle: soon}\nstreams: {a: {topic: a, to: b}}\n', { env: {} });
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`),
    ['3:27 must be a duration like "0s", "500ms" or "5s", or "disabled"; got "soon"'],
  );
});

test('records a task holds back are not committed as consumed: after a restart they are processed', async () => {
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: 'clicks', partitions: 1 }, { name: 'users', partitions: 1 }]);
  await write(log, [['users', 'u0', { region: 'r0' }, 0], ['users', 'u1', { region: 'r1' }, 10]]);
  await write(log, [['clicks', 'u0', { page: '/a' }, 5], ['clicks', 'u1', { page: '/b' }, 15], ['clicks', 'u1', { page: '/c' }, 16]]);
  const waiting = await engineOn(log, topology('processing: {maxTaskIdle: 1h}'));
  // u0, the click at 5, u1; then the clicks at 15 and 16 wait: the users partition is at its end.
  while (waiting.processed < 3) await waiting.runOnce();
  await waiting.commit();
  // What a crash now would leave: the clicks at 15 and 16 still to read.
  assert.equal(log.committedOffset('order', { topic: 'clicks', partition: 0 }), 1);
  await waiting.stop();
  const again = await engineOn(log, topology());
  await again.runUntilIdle();
  await again.stop();
  assert.deepEqual(await output(log, 1), ['u0={"page":"/a","region":"r0"}', 'u1={"page":"/b","region":"r1"}', 'u1={"page":"/c","region":"r1"}']);
});
