/**
 * Records of a task's several partitions in timestamp order on the real broker: a stream-table
 * join over topics filled before it starts, the table's rows written after the stream's records
 * but with earlier timestamps, joins every record (as Kafka Streams does); and a task whose table
 * partition is empty is not held up by it (its end is looked up, since kafkajs reports no empty fetch).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { compileTopology } from '../../engine/compiler/index.js';
import { Engine } from '../../engine/runtime/engine.js';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { brokerTest, connectBroker, Fixture, unique, until } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('duality-partition-order-test');
const fixture = new Fixture(broker);
const dirs: string[] = [];
after(async () => {
  await fixture.cleanup();
  await broker?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PARTITIONS = 2;
/** Recent, for the broker's time retention. */
const BASE = Date.now() - 3_600_000;

function topology(name: string, clicks: string, users: string, output: string): TopologyGraph {
  const r = compileTopology(
    't.yaml',
    `version: 1
name: ${name}
streams:
  clicks: {topic: ${clicks}, key: string, value: json}
  enriched:
    from: clicks
    steps:
      - join: {with: users, value: '{"page": left.page, "region": right.region}'}
    to: ${output}
tables:
  users: {topic: ${users}, key: string, value: json}
`,
    { env: {} },
  );
  assert.deepEqual(r.diagnostics, []);
  for (const t of r.graph!.topics) fixture.track(t.name);
  fixture.trackGroup(name);
  return r.graph!;
}

async function write(topic: string, records: [key: string, value: unknown, at: number][]): Promise<void> {
  const p = broker!.log.producer();
  try {
    p.send(records.map(([key, value, at]) => ({ topic, key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)), timestamp: BASE + at })));
    await p.flush();
  } finally {
    await p.close();
  }
}

async function readAll(topic: string): Promise<string[]> {
  const out: string[] = [];
  for (const [partition, end] of (await broker!.log.endOffsets(topic)).entries()) {
    for (let offset = 0; offset < end; ) {
      const batch = await broker!.log.read({ topic, partition }, offset, 1000);
      if (batch.length === 0) break;
      for (const r of batch) out.push(`${r.key}=${r.value}`);
      offset = batch.at(-1)!.offset + 1;
    }
  }
  return out.sort();
}

/** Runs the join until it has processed `records` input records, then stops it. */
async function runUntilProcessed(graph: TopologyGraph, records: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'duality-order-kafka-'));
  dirs.push(dir);
  const engine = new Engine({ graph, log: broker!.log, stateDir: dir, cacheMaxBytes: 0, logger: () => undefined });
  await engine.start();
  const running = engine.run();
  running.catch(() => undefined);
  try {
    await until(() => engine.processed >= records, () => `${records} records processed (${engine.processed} so far)`, 60_000);
  } finally {
    engine.requestStop();
    await running.catch(() => undefined);
    await engine.stop();
  }
}

const N = 2000;

brokerTest(
  missing,
  'a stream-table join over pre-filled topics joins every click: the users, written after the clicks, have earlier timestamps',
  async () => {
    const [clicks, users, output] = await Promise.all([fixture.topic('order-clicks', PARTITIONS), fixture.topic('order-users', PARTITIONS), Promise.resolve(unique('order-enriched'))]);
    await write(clicks, Array.from({ length: N }, (_, i) => [`u${i}`, { page: `/p${i}` }, N + i]));
    await write(users, Array.from({ length: N }, (_, i) => [`u${i}`, { region: `r${i}` }, i]));
    await runUntilProcessed(topology(unique('order-join'), clicks, users, output), 2 * N);
    const got = await readAll(output);
    assert.deepEqual(got, Array.from({ length: N }, (_, i) => `u${i}={"page":"/p${i}","region":"r${i}"}`).sort());
  },
  120_000,
);

brokerTest(
  missing,
  'an empty table topic holds no click back: each goes through, finding no user',
  async () => {
    const [clicks, users, output] = await Promise.all([fixture.topic('order-clicks-alone', PARTITIONS), fixture.topic('order-users-none', PARTITIONS), Promise.resolve(unique('order-enriched-none'))]);
    await write(clicks, Array.from({ length: 100 }, (_, i) => [`u${i}`, { page: `/p${i}` }, i]));
    await runUntilProcessed(topology(unique('order-alone'), clicks, users, output), 100);
    assert.deepEqual(await readAll(output), []);
  },
  120_000,
);
