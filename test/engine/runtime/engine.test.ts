import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../../engine/runtime/facade.js';
import { readTable } from '../../../engine/runtime/queries.js';
import { taskDir } from '../../../engine/state/state-dir.js';
import { ROOT } from '../../root.js';
import { graphOf } from '../../graph-of.js';

const wordcount = graphOf(readFileSync(`${ROOT}topologies/wordcount.yaml`, 'utf8'));

async function post(log: EmbeddedLog, topic: string, values: string[]): Promise<void> {
  const p = log.producer();
  p.send(values.map((v) => ({ topic, key: null, value: Buffer.from(v), timestamp: 0 })));
  await p.flush();
  await p.close();
}

/** Starts WordCount on a persisted log and state directory, runs it over `lines`, stops it. */
async function countOnce(dir: string, lines: string[]): Promise<{ table: unknown; restored: number }> {
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const engine = new Engine({ graph: wordcount, log, stateDir: join(dir, 'state'), logger: () => undefined });
  await engine.start();
  if (lines.length > 0) await post(log, 'TextLinesTopic', lines);
  await engine.runUntilIdle();
  const table = await readTable(engine, 'word-counts');
  const restored = engine.restoredRecords;
  await engine.stop();
  await log.close();
  return { table, restored };
}

test('a restart keeps its state: the checkpoint means nothing is replayed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-engine-'));
  const first = await countOnce(dir, ['a b', 'b c']);
  assert.deepEqual(first.table, { a: 1, b: 2, c: 1 });
  const second = await countOnce(dir, ['c d']);
  assert.deepEqual(second.table, { a: 1, b: 2, c: 2, d: 1 });
  assert.equal(second.restored, 0);
});

test('stores deleted from the state directory are restored from their changelog', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-engine-'));
  await countOnce(dir, ['x y y', 'z z z']);
  rmSync(join(dir, 'state', 'wordcount'), { recursive: true });
  const after = await countOnce(dir, ['x']);
  assert.deepEqual(after.table, { x: 2, y: 2, z: 3 });
  assert.ok(after.restored >= 3, `restored ${after.restored} records`);
});

test('a commit takes the checkpoint once the changelog has moved on by 10,000 records; a clean stop takes it always', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-engine-'));
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const engine = new Engine({ graph: wordcount, log, stateDir: join(dir, 'state'), logger: () => undefined });
  const checkpoints = (): number[] =>
    [0].map((p) => JSON.parse(readFileSync(join(taskDir(join(dir, 'state'), 'wordcount', `1_${p}`), '.checkpoint'), 'utf8'))['word-counts'] as number);
  const changelogEnd = async (): Promise<number[]> => log.endOffsets('wordcount-word-counts-changelog');
  await engine.start();
  await post(log, 'TextLinesTopic', ['a b', 'b c']);
  await engine.runUntilIdle();
  assert.ok((await changelogEnd())[0]! >= 3);
  assert.deepEqual(checkpoints(), [0], 'three changelog records: the checkpoint stays');
  // 10,000 distinct words: 10,000 more changelog records at the next commit.
  await post(log, 'TextLinesTopic', Array.from({ length: 1000 }, (_, i) => Array.from({ length: 10 }, (_, j) => `w${i * 10 + j}`).join(' ')));
  await engine.runUntilIdle();
  const [end] = await changelogEnd();
  assert.ok(end! >= 10_003, `changelog at ${end}`);
  await engine.commit();
  assert.ok(checkpoints()[0]! >= 10_000, `checkpoint ${checkpoints()[0]} once 10,000 records were written`);
  await post(log, 'TextLinesTopic', ['a']);
  await engine.runUntilIdle();
  await engine.stop();
  assert.deepEqual(checkpoints(), await changelogEnd(), 'a clean stop checkpoints the end');
  await log.close();
});

test('output becomes visible only when the engine commits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-engine-'));
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const engine = new Engine({ graph: wordcount, log, stateDir: join(dir, 'state'), logger: () => undefined });
  await engine.start();
  await post(log, 'TextLinesTopic', ['one']);
  await engine.runOnce(10, 1000);
  assert.deepEqual(await log.endOffsets('wordcount-word-counts-repartition'), [0]);
  await engine.commit();
  assert.deepEqual(await log.endOffsets('wordcount-word-counts-repartition'), [1]);
  await engine.stop();
  await log.close();
});

test('a second engine on the same state directory gets a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-engine-'));
  const log = EmbeddedLog.inMemory();
  const a = new Engine({ graph: wordcount, log, stateDir: dir, logger: () => undefined });
  await a.start();
  const b = new Engine({ graph: wordcount, log: EmbeddedLog.inMemory(), stateDir: dir, logger: () => undefined });
  await assert.rejects(b.start(), /in use/);
  await a.stop();
});

const orders = (policy: string): TopologyGraph =>
  graphOf(`version: 1\nname: orders\nerrors: {policy: ${policy}}\nstreams:\n  orders: {topic: orders, value: json}\ntables:\n  totals:\n    from: orders\n    steps: [groupByKey, {sum: value.qty}]\n`);

test('errors.policy fail stops with the position of the record; skip counts and goes on', async () => {
  for (const policy of ['fail', 'skip']) {
    const log = EmbeddedLog.inMemory();
    const engine = new Engine({ graph: orders(policy), log, stateDir: mkdtempSync(join(tmpdir(), 'duality-engine-')), logger: () => undefined });
    await engine.start();
    const p = log.producer();
    p.send([
      { topic: 'orders', key: Buffer.from('a'), value: Buffer.from('{"qty": 1}'), timestamp: 0 },
      { topic: 'orders', key: Buffer.from('a'), value: Buffer.from('{"qty": "x"}'), timestamp: 0 },
      { topic: 'orders', key: Buffer.from('a'), value: Buffer.from('{"qty": 2}'), timestamp: 0 },
    ]);
    await p.flush();
    if (policy === 'fail') {
      await assert.rejects(engine.runUntilIdle(), /sum needs a number.*record orders-0@1/);
    } else {
      await engine.runUntilIdle();
      assert.deepEqual(await readTable(engine, 'totals'), { a: 3 });
      assert.equal(engine.policy.counters.errors, 1);
      assert.equal(engine.policy.counters.dlq, 0);
      await engine.stop();
    }
  }
});

test('latency samples kept between /metrics scrapes are bounded (a long run nobody scrapes must not break the next scrape)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-engine-'));
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const engine = new Engine({ graph: wordcount, log, stateDir: join(dir, 'state'), logger: () => undefined });
  await engine.start();
  // 100,000 lines of one word: 200,000 records through the tasks, one in 16 timed.
  await post(log, 'TextLinesTopic', Array.from({ length: 100_000 }, (_, i) => `w${i % 50}`));
  const started = performance.now();
  while ((await engine.runOnce(5000, 0)) > 0) await engine.commit();
  await engine.runUntilIdle();
  const elapsed = (performance.now() - started) / 1000;
  const samples = [...engine.handles()].map((h) => h.task.drainLatencies());
  assert.ok(samples.every((s) => s.length > 0 && s.length <= 4096), `samples per task: ${samples.map((s) => s.length)}`);
  assert.ok(samples.some((s) => s.length === 4096), `one task saw more than 4096 samples: ${samples.map((s) => s.length)}`);
  // In seconds, as the histogram's name says: each sample times one record, records are processed
  // one after another, so the samples add up to at most the seconds all of it took.
  const sum = samples.flat().reduce((a, b) => a + b, 0);
  assert.ok(samples.flat().every((s) => s >= 0));
  assert.ok(sum <= elapsed, `the samples add up to ${sum}, more than the ${elapsed} s the processing took`);
  assert.deepEqual([...engine.handles()].map((h) => h.task.drainLatencies().length), [0, 0], 'drained');
  await engine.stop();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Processes in batches, committing after each, as `run` does, until nothing more arrives. */
async function runBatches(engine: Engine): Promise<void> {
  while ((await engine.runOnce(10_000, 0)) > 0) await engine.commit();
  await engine.commit();
}

/** Each output record of WordCount as `word=count`, in log order. */
async function counts(log: EmbeddedLog): Promise<string[]> {
  const out = await log.read({ topic: 'WordsWithCountsTopic', partition: 0 }, 0, 1_000_000);
  return out.map((r) => `${r.key!.toString()}=${r.value!.readBigInt64BE()}`);
}

test('with caching on, a table holds its updates until the commit: each key\'s latest value goes out once per commit', async () => {
  const log = EmbeddedLog.inMemory();
  const engine = new Engine({ graph: wordcount, log, stateDir: mkdtempSync(join(tmpdir(), 'duality-engine-')), logger: () => undefined });
  await engine.start();
  await post(log, 'TextLinesTopic', ['a b a', 'b a']);
  await runBatches(engine);
  await post(log, 'TextLinesTopic', ['b']);
  await runBatches(engine);
  // Kafka Streams' record cache: a=1, a=2, a=3 fold into a=3 (in order of last update); the second commit has b=3 only.
  assert.deepEqual(await counts(log), ['b=2', 'a=3', 'b=3']);
  await engine.stop();
});

test('with caching off (cacheMaxBytes 0, as topology tests run) every update goes out; a cache too small for one update lets each go at once', async () => {
  for (const [cacheMaxBytes, expected] of [
    [0, ['a=1', 'b=1', 'a=2', 'b=2', 'a=3']],
    [1, ['a=1', 'b=1', 'a=2', 'b=2', 'a=3']],
    [1 << 20, ['b=2', 'a=3']],
  ] as const) {
    const log = EmbeddedLog.inMemory();
    const engine = new Engine({ graph: wordcount, log, stateDir: mkdtempSync(join(tmpdir(), 'duality-engine-')), cacheMaxBytes, logger: () => undefined });
    await engine.start();
    await post(log, 'TextLinesTopic', ['a b a', 'b a']);
    await runBatches(engine);
    assert.deepEqual(await counts(log), expected, `cacheMaxBytes ${cacheMaxBytes}`);
    await engine.stop();
  }
});

test('the caches are bounded by bytes: updates of big keys go on before the commit, small ones wait for it', async () => {
  const graph = graphOf('version: 1\nname: sizes\nstreams:\n  xs: {topic: xs, key: string, value: string}\ntables:\n  per-key:\n    from: xs\n    steps: [groupByKey, count]\n    to: {topic: out, value: long}\n');
  const log = EmbeddedLog.inMemory();
  const dir = mkdtempSync(join(tmpdir(), 'duality-engine-'));
  const engine = new Engine({ graph, log, stateDir: dir, cacheMaxBytes: 64 * 1024, logger: () => undefined });
  await engine.start();
  const sent = async (): Promise<number> => {
    const sink = [...engine.handles()].flatMap((h) => h.task.nodeCounters()).find((n) => n.id === 'per-key.sink')!;
    return sink.recordsIn;
  };
  const p = log.producer();
  const send = async (keys: string[]): Promise<void> => {
    p.send(keys.map((k) => ({ topic: 'xs', key: Buffer.from(k), value: Buffer.from('v'), timestamp: 0 })));
    await p.flush();
    while ((await engine.runOnce(10_000, 0)) > 0);
  };
  // Small updates fit: they are held until the commit, as ever.
  await send(['a', 'b', 'a']);
  assert.equal(await sent(), 0);
  // Each of these is 40 KB in the store's cache and 40 KB held: more than 64 KiB together.
  const big = ['x', 'y', 'z'].map((c) => c.repeat(40_000));
  await send(big);
  assert.ok((await sent()) >= big.length, `${await sent()} updates went on before the commit`);
  await engine.commit();
  const out = await log.read({ topic: 'out', partition: 0 }, 0, 100);
  assert.deepEqual(out.map((r) => `${r.key!.toString().slice(0, 3)}=${r.value!.readBigInt64BE()}`).sort(), ['a=2', 'b=1', 'xxx=1', 'yyy=1', 'zzz=1']);
  const table = (await readTable(engine, 'per-key')) as Record<string, number>;
  assert.deepEqual(Object.values(table).sort(), [1, 1, 1, 1, 2]);
  await engine.stop();
  await p.close();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a held update that fails downstream at the commit goes to the dead-letter topic with the place of the input that made it', async () => {
  const graph = graphOf(
    'version: 1\nname: totals\nstreams:\n  xs: {topic: xs, value: json}\n  checked:\n    from: totals\n    steps: [toStream, {mapValues: "value == 3 ? int(\'not a number\') : value"}]\n    to: {topic: checked, value: json}\ntables:\n  totals:\n    from: xs\n    steps: [groupByKey, {sum: value.n}]\n',
  );
  const log = EmbeddedLog.inMemory();
  const engine = new Engine({ graph, log, stateDir: mkdtempSync(join(tmpdir(), 'duality-engine-')), logger: () => undefined });
  await engine.start();
  const p = log.producer();
  const rec = (key: string, n: number) => ({ topic: 'xs', key: Buffer.from(key), value: Buffer.from(JSON.stringify({ n })), timestamp: 0 });
  p.send([rec('a', 1), rec('b', 5), rec('a', 2)]);
  await p.flush();
  await runBatches(engine);
  const read = async (topic: string) => (await log.read({ topic, partition: 0 }, 0, 100)).map((r) => `${r.key}=${r.value}`);
  assert.deepEqual(await read('checked'), ['b=5']);
  // As in Kafka Streams, a cache does not keep raw input: null key and value, the input's place in the headers.
  const [dead] = await log.read({ topic: 'totals-dlq', partition: 0 }, 0, 100);
  assert.deepEqual([dead!.key, dead!.value, dead!.headers['__streams.errors.topic']?.toString(), dead!.headers['__streams.errors.offset']?.toString()], [null, null, 'xs', '2']);
  assert.equal((await log.read({ topic: 'totals-dlq', partition: 0 }, 0, 100)).length, 1);
  assert.deepEqual(await readTable(engine, 'totals'), { a: 3, b: 5 });
  await engine.stop();
});

test('a key asked while its task closes (a rebalance revokes it, a stop) finds the task gone, never its closed store (which answered 500)', async () => {
  const log = EmbeddedLog.inMemory();
  const engine = new Engine({ graph: wordcount, log, stateDir: mkdtempSync(join(tmpdir(), 'duality-engine-')), logger: () => undefined });
  await engine.start();
  await post(log, 'TextLinesTopic', ['a b a']);
  await runBatches(engine);
  const facade = new LocalEngineFacade(engine, log);
  const place = await facade.locate('word-counts', 'a');
  assert.deepEqual((await facade.readLocal('word-counts', place, {}, false))?.answer, { key: 'a', value: 2 });
  // Asked at every turn of the event loop while the stop revokes the task and closes its stores.
  let stopped = false;
  const stopping = engine.stop().finally(() => (stopped = true));
  const seen = new Set<string>();
  while (!stopped) {
    try {
      const held = await facade.readLocal('word-counts', place, {}, false);
      seen.add(held ? JSON.stringify(held.answer) : 'task gone');
    } catch (e) {
      seen.add(`failed: ${(e as Error).message}`);
    }
    await new Promise((r) => setImmediate(r));
  }
  await stopping;
  assert.deepEqual([...seen].filter((s) => s.startsWith('failed')), []);
  assert.deepEqual(await facade.readLocal('word-counts', place, {}, false), undefined);
});
