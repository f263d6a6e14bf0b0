/**
 * Exactly-once on the real broker, where it is hard: a task's producer fenced by a newer one of its
 * id, a second instance joining while records flow, and the process killed with SIGKILL five times
 * while a producer writes. Every case checks its output with assertExactlyOnce (eos-helpers.ts).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import kafkajs from '../../engine/kafka/kafkajs.js';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { KafkaLog } from '../../engine/kafka/kafka-log.js';
import { Engine } from '../../engine/runtime/engine.js';
import { readTable } from '../../engine/runtime/queries.js';
import { ROOT } from '../root.js';
import { assertExactlyOnce, countsSeen, eosWordcount, expectedCounts, updatesSeen, WORDS, writeLines, type EosApp } from './eos-helpers.js';
import { BROKERS, brokerTest, connectBroker, until } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('duality-exactly-once-test');
const dirs: string[] = [];
const apps: TopologyGraph[] = [];
const closers: (() => Promise<unknown>)[] = [];
const said: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'duality-eos-'));
  dirs.push(dir);
  return dir;
}

async function app(what: string, partitions: number): Promise<EosApp> {
  const made = await eosWordcount(broker!.log, what, partitions);
  apps.push(made.graph);
  return made;
}

async function startEngine(graph: TopologyGraph, log = broker!.log, endpoint?: string): Promise<{ engine: Engine; running: Promise<void> }> {
  const engine = new Engine({ graph, log, stateDir: tempDir(), cacheMaxBytes: 0, logger: (l) => said.push(l), ...(endpoint !== undefined && { endpoint }) });
  closers.push(() => engine.stop());
  await engine.start();
  const running = engine.run();
  running.catch(() => undefined);
  return { engine, running };
}

describe('exactly-once on Kafka', { timeout: 300_000 }, () => {
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (broker) {
      await broker.admin.deleteGroups(apps.map((g) => g.name)).catch(() => undefined);
      await broker.log.deleteTopics(apps.flatMap((g) => g.topics.map((t) => t.name))).catch(() => undefined);
      await broker.close();
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  brokerTest(missing, 'a task whose producer is fenced by a newer one of its id closes without committing, restores, and goes on: counts exact', async () => {
    const made = await app('fenced', 2);
    const { graph, input, output } = made;
    const { engine, running } = await startEngine(graph);
    const writer = writeLines(broker!.log, input, 200);
    await until(async () => ((await countsSeen(broker!.log, output)).size > 0), () => 'first output');
    // What a task's new owner does: a producer with the task's transactional id. The engine's
    // producer of that task is fenced; its next commit fails, and the engine must recover.
    const kafka = new kafkajs.Kafka({ clientId: 'fencer', brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING });
    const fencer = kafka.producer({ transactionalId: `${graph.name}-1_0`, idempotent: true, maxInFlightRequests: 1 });
    await fencer.connect();
    await (await fencer.transaction()).abort();
    await fencer.disconnect();
    // The engine says what happened (not a lost broker), then recovers. Which it meets first is a
    // race: its producer fenced (its commit comes after the fencer's InitProducerId completed), or
    // the broker still aborting the transaction that InitProducerId cut off (CONCURRENT_TRANSACTIONS).
    const told = (l: string): boolean => l.includes(`"${graph.name}-1_0" was fenced`) || l.includes(`still completing the last transaction of "${graph.name}-1_0"`);
    await until(() => said.some(told), () => `the engine to say its producer was fenced: ${said.join(' | ')}`);
    assert.ok(!said.some((l) => l.includes('lost kafka')), `the broker was never lost: ${said.join(' | ')}`);
    const lines = await writer.stop();
    await assertExactlyOnce(broker!.log, made, lines, () => said.slice(-6).join(' | '));
    await until(() => engine.state === 'running', () => `state running, is ${engine.state}`);
    const table = await readTable(engine, 'word-counts');
    assert.deepEqual(table, Object.fromEntries([...expectedCounts(lines)].sort()));
    void running;
  }, 120_000);

  brokerTest(missing, "another producer's open transaction holds the output back: the engine says so (no lost broker), and once it ends goes on: counts exact", async () => {
    const made = await app('held', 1);
    const { graph, input } = made;
    // What a stopped instance leaves behind: a transaction left open on a topic the engine writes.
    // Until it ends, read_committed readers see nothing written after it began.
    const repartition = graph.topics.find((t) => t.role === 'repartition')!.name;
    const kafka = new kafkajs.Kafka({ clientId: 'holder', brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING });
    const holder = kafka.producer({ transactionalId: `holder-${graph.name}`, idempotent: true, maxInFlightRequests: 1 });
    await holder.connect();
    closers.push(() => holder.disconnect());
    const { engine } = await startEngine(graph);
    const open = await holder.transaction();
    await open.send({ topic: repartition, messages: [{ key: 'never', value: 'seen' }] });
    const writer = writeLines(broker!.log, input, 100);
    // /readyz shows the state and the problem: not ready, and why.
    const heldBack = new RegExp(`records in ${repartition} are still held back .* by another producer's open transaction`);
    await until(() => engine.state === 'recovering' && heldBack.test(engine.problem ?? ''), () => `the engine to say what holds it back: ${said.slice(-6).join(' | ')}`, 60_000);
    assert.ok(said.some((l) => heldBack.test(l)), said.join(' | '));
    assert.ok(!said.some((l) => l.includes('lost kafka')), `the broker was never lost: ${said.join(' | ')}`);
    await open.abort();
    const lines = await writer.stop();
    await assertExactlyOnce(broker!.log, made, lines, () => said.slice(-6).join(' | '));
  }, 150_000);

  brokerTest(missing, 'a second instance joins while records flow: tasks move, both run, counts exact; either says which one holds a key', async () => {
    const made = await app('join', 4);
    const { graph, input, output } = made;
    const a = await startEngine(graph, broker!.log, 'instance-a:8001');
    const writer = writeLines(broker!.log, input, 300);
    await until(async () => ((await countsSeen(broker!.log, output)).size > 0), () => 'first output');
    const second = await KafkaLog.connect({ brokers: BROKERS, clientId: 'second-instance', logger: (l) => said.push(l) });
    closers.push(() => second.close());
    const b = await startEngine(graph, second, 'instance-b:8002');
    // Records still flow while the tasks move: the writer stops only once both instances run tasks
    // and the output has grown since.
    const ids = (e: Engine): string[] => [...e.handles()].map((h) => h.task.id).sort();
    await until(
      () => a.engine.state === 'running' && b.engine.state === 'running' && ids(a.engine).length > 0 && ids(b.engine).length > 0,
      () => `both running tasks: ${a.engine.state} ${ids(a.engine)}, ${b.engine.state} ${ids(b.engine)}`,
      60_000,
    );
    const shared = await updatesSeen(broker!.log, output);
    await until(async () => (await updatesSeen(broker!.log, output)) > shared, () => 'output once both run', 60_000);
    const lines = await writer.stop();
    await assertExactlyOnce(broker!.log, made, lines, () => said.slice(-6).join(' | '));
    await until(() => a.engine.state === 'running' && b.engine.state === 'running', () => `both running: ${a.engine.state}, ${b.engine.state}`);
    assert.ok(ids(a.engine).length > 0 && ids(b.engine).length > 0, `both own tasks: ${ids(a.engine)} / ${ids(b.engine)}`);
    assert.deepEqual([...ids(a.engine), ...ids(b.engine)].sort(), ['0_0', '0_1', '0_2', '0_3', '1_0', '1_1', '1_2', '1_3']);
    // Each instance holds the words of its tasks; together, every word.
    const [tableA, tableB] = [await readTable(a.engine, 'word-counts'), await readTable(b.engine, 'word-counts')];
    const merged = { ...tableA, ...tableB };
    assert.deepEqual(Object.fromEntries(Object.entries(merged).sort()), Object.fromEntries([...expectedCounts(lines)].sort()));
    // Key ownership from the group's metadata: both instances name the one whose table has the word.
    for (const word of WORDS) {
      const holder = word in tableA ? 'instance-a:8001' : 'instance-b:8002';
      for (const e of [a.engine, b.engine]) {
        const owner = await e.ownerOf('word-counts', word);
        assert.equal(owner?.endpoint, holder, `${word}: owner ${JSON.stringify(owner)}`);
        assert.equal(owner?.local, (e === a.engine) === (holder === 'instance-a:8001'));
      }
    }
    assert.equal(await a.engine.ownerOf('no-such-table', 'x'), undefined);
  }, 120_000);

  brokerTest(missing, 'duality run killed with SIGKILL five times while a producer writes: the output equals a recomputation exactly', async () => {
    const killed = await app('kill', 2);
    const { text, input, output } = killed;
    const dir = tempDir();
    const file = join(dir, 'wordcount.yaml');
    writeFileSync(file, text);
    const start = (): { child: ChildProcess; stderr: string[] } => {
      // Without the record cache every count update is output, so the check sees each one.
      const args = ['run', file, '--brokers', BROKERS.join(','), '--port', '0', '--state-dir', join(dir, 'state'), '--cache-max-bytes', '0'];
      const child = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      const stderr: string[] = [];
      child.stderr!.on('data', (d: Buffer) => stderr.push(...d.toString().split('\n').filter(Boolean)));
      closers.push(async () => child.exitCode === null && child.kill('SIGKILL'));
      return { child, stderr };
    };
    const writer = writeLines(broker!.log, input, 200);
    // A seeded sequence of moments, so that a failure can be run again the same way.
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let kill = 1; kill <= 5; kill++) {
      const run = start();
      // Killed at a random moment once it has output something of its own, mid-transaction or not.
      const before = await updatesSeen(broker!.log, output);
      await until(async () => (await updatesSeen(broker!.log, output)) > before, () => `output from run ${kill} (stderr: ${run.stderr.slice(-5).join(' | ')})`, 60_000);
      await new Promise((r) => setTimeout(r, 200 + random() * 1500));
      const exited = new Promise((r) => run.child.on('exit', r));
      run.child.kill('SIGKILL');
      await exited;
    }
    const lines = await writer.stop();
    const last = start();
    await assertExactlyOnce(broker!.log, killed, lines, () => said.slice(-6).join(' | '));
    last.child.kill('SIGTERM');
    said.push(...last.stderr);
  }, 240_000);
});
