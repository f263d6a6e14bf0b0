/**
 * The real Engine on the real broker: topologies/wordcount.yaml and retail-inventory.yaml fed the
 * inputs of their .test.yaml files must give the same output topics and tables as on the embedded
 * log; a restart keeps the counts, and a restart without local state restores them from the
 * changelog. Each run uses its own application name and topics (deleted at the end).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { epochMs } from '../../engine/api/time.js';
import { compileTopology } from '../../engine/compiler/index.js';
import { Engine } from '../../engine/runtime/engine.js';
import { readTable } from '../../engine/runtime/queries.js';
import { serdeFor } from '../../engine/serde/index.js';
import { loadTestFile, type TestCase, type TestInput } from '../../engine/test-file/validate.js';
import { ROOT } from '../root.js';
import { brokerTest, connectBroker, RUN, until } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('duality-wordcount-kafka-test');
const topics = new Set<string>();
const groups = new Set<string>();
const dirs: string[] = [];
const lines: string[] = [];
let apps = 0;

/** The topology and its test cases, renamed so that this run's application and topics are its own. */
function prepare(name: string, guarantee = 'at_least_once'): { graph: TopologyGraph; cases: TestCase[]; rename: (topic: string) => string } {
  const { test } = loadTestFile(join(ROOT, 'topologies', `${name}.test.yaml`));
  assert.ok(test, `${name}.test.yaml loads`);
  const suffix = `${RUN}-${++apps}`;
  const rename = (topic: string): string => `${topic}-${suffix}`;
  let text = readFileSync(test.topologyFile, 'utf8').replace(/^name: .*$/m, `name: ${name}-${suffix}\nprocessing:\n  guarantee: ${guarantee}`);
  for (const t of test.graph.topics.filter((t) => !t.internal)) {
    text = text.replace(new RegExp(`^(\\s*(?:topic|to):[ \\t]*)${t.name}[ \\t]*$`, 'gm'), `$1${rename(t.name)}`);
  }
  const { graph, diagnostics } = compileTopology(test.topologyFile, text);
  assert.ok(graph, diagnostics.map((d) => d.message).join('\n'));
  for (const t of graph.topics) topics.add(t.name);
  groups.add(graph.name);
  return { graph, cases: test.cases, rename };
}

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'duality-kafka-'));
  dirs.push(dir);
  return dir;
}

async function startEngine(graph: TopologyGraph, dir: string): Promise<{ engine: Engine; running: Promise<void> }> {
  // No cache: every update reaches the output, as in the topology test runner.
  const engine = new Engine({ graph, log: broker!.log, stateDir: dir, cacheMaxBytes: 0, logger: (l) => lines.push(l) });
  await engine.start();
  const running = engine.run();
  running.catch(() => undefined);
  return { engine, running };
}

/**
 * Writes the inputs one at a time, each processed before the next (records of different topics
 * have no order between them on Kafka; the test file's order is the one that counts).
 */
async function feed(graph: TopologyGraph, inputs: readonly TestInput[], rename: (t: string) => string, running: Promise<void>): Promise<void> {
  const producer = broker!.log.producer();
  let timestamp = 0;
  try {
    for (const input of inputs) {
      const source = graph.nodes.find((n) => n.type === 'source' && n.topic === rename(input.topic))!;
      timestamp = input.timestamp === undefined ? timestamp : epochMs(input.timestamp)!;
      producer.send([{ topic: rename(input.topic), key: serdeFor(source.keySerde).serialize(input.key ?? null), value: serdeFor(source.valueSerde).serialize(input.value ?? null), timestamp }]);
      await producer.flush();
      await processed(graph, running);
    }
  } finally {
    await producer.close();
  }
}

/** Every topic the application reads (repartition topics too) is committed up to its last record. */
async function processed(graph: TopologyGraph, running: Promise<void>): Promise<void> {
  let failure: unknown;
  void running.catch((e: unknown) => (failure = e));
  const read = [...new Set(graph.subtopologies.flatMap((s) => s.sourceTopics))];
  let lag = '';
  await until(async () => {
    if (failure) throw failure;
    const committed = await broker!.admin.fetchOffsets({ groupId: graph.name, topics: read });
    const behind: string[] = [];
    for (const t of read) {
      const ends = await broker!.log.endOffsets(t);
      const offs = committed.find((c) => c.topic === t)?.partitions ?? [];
      for (const [p, end] of ends.entries()) {
        const at = Math.max(0, Number(offs.find((o) => o.partition === p)?.offset ?? 0));
        // Committed up to the end: under exactly_once past the transaction marker after the last record too.
        if (at < end) behind.push(`${t}:${p} at ${at} of ${end}`);
      }
    }
    lag = behind.join(', ');
    return behind.length === 0;
  }, () => `the engine to process everything (${lag}); engine said: ${lines.slice(-5).join(' | ')}`);
}

/** A topic's records, decoded with the serdes of the sink that writes it. */
async function readTopic(graph: TopologyGraph, topic: string): Promise<{ key: unknown; value: unknown }[]> {
  const sink = graph.nodes.find((n) => n.type === 'sink' && n.topic === topic);
  const [keys, values] = [serdeFor(sink?.keySerde ?? 'string'), serdeFor(sink?.valueSerde ?? 'string')];
  const out: { key: unknown; value: unknown }[] = [];
  const ends = await broker!.log.endOffsets(topic);
  for (const [partition, end] of ends.entries()) {
    for (let offset = 0; offset < end; ) {
      const batch = await broker!.log.read({ topic, partition }, offset, 1000);
      if (batch.length === 0) break;
      for (const r of batch) out.push({ key: keys.deserialize(r.key), value: values.deserialize(r.value) });
      offset = batch.at(-1)!.offset + 1;
    }
  }
  return out;
}

async function expectCase(engine: Engine, graph: TopologyGraph, c: TestCase, rename: (t: string) => string): Promise<void> {
  for (const [topic, expected] of Object.entries(c.expect.topics ?? {})) {
    assert.deepEqual(await readTopic(graph, rename(topic)), expected.map((r) => ({ key: r.key ?? null, value: r.value ?? null })), `${c.name}: topic ${topic}`);
  }
  for (const [table, expected] of Object.entries(c.expect.tables ?? {})) {
    assert.deepEqual(await readTable(engine, table), expected, `${c.name}: table ${table}`);
  }
}

describe('the engine on Kafka', { timeout: 120_000 }, () => {
  after(async () => {
    if (broker) {
      // Groups first: kafkajs's admin fails on topics it knew that are gone.
      await broker.admin.deleteGroups([...groups]).catch(() => undefined);
      await broker.log.deleteTopics([...topics]).catch(() => undefined);
      await broker.close();
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const [name, guarantee] of [['wordcount', 'at_least_once'], ['retail-inventory', 'at_least_once'], ['wordcount', 'exactly_once']] as const) {
    brokerTest(missing, `${name}, ${guarantee}: every case of ${name}.test.yaml gives the expected topics and tables`, async () => {
      const first = prepare(name, guarantee);
      for (const [i, c] of first.cases.entries()) {
        // Each case from empty topics and state, as the test runner runs it.
        const { graph, rename } = i === 0 ? first : prepare(name, guarantee);
        const { engine, running } = await startEngine(graph, stateDir());
        try {
          await feed(graph, c.input, rename, running);
          await expectCase(engine, graph, c, rename);
        } finally {
          await engine.stop();
        }
      }
    });
  }

  for (const guarantee of ['at_least_once', 'exactly_once'] as const) brokerTest(missing, `wordcount, ${guarantee}: a restart keeps the counts; without local state they are restored from the changelog`, async () => {
    const { graph, cases, rename } = prepare('wordcount', guarantee);
    const dir = stateDir();
    const first = await startEngine(graph, dir);
    await feed(graph, cases[0]!.input, rename, first.running);
    await first.engine.stop();

    const second = await startEngine(graph, dir);
    await feed(graph, [{ topic: 'TextLinesTopic', value: 'Hello' }], rename, second.running);
    assert.deepEqual(await readTable(second.engine, 'word-counts'), { hello: 3, world: 1, again: 1 });
    assert.deepEqual((await readTopic(graph, rename('WordsWithCountsTopic'))).at(-1), { key: 'hello', value: 3 });
    await second.engine.stop();

    rmSync(dir, { recursive: true, force: true });
    const third = await startEngine(graph, dir);
    try {
      assert.ok(third.engine.restoredRecords >= 3, `restored ${third.engine.restoredRecords} changelog records`);
      assert.deepEqual(await readTable(third.engine, 'word-counts'), { hello: 3, world: 1, again: 1 });
      await feed(graph, [{ topic: 'TextLinesTopic', value: 'world' }], rename, third.running);
      assert.deepEqual(await readTable(third.engine, 'word-counts'), { hello: 3, world: 2, again: 1 });
    } finally {
      await third.engine.stop();
    }
  });
});
