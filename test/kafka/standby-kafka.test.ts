/**
 * Standby replicas on the real broker: with processing.standbyReplicas 1, an instance that does
 * not run a task keeps a copy of its stores from the changelog, answers stale reads from it, and,
 * when the active's process is killed with SIGKILL, takes the task over replaying only what its
 * copy lacks, not the whole changelog.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { compileTopology } from '../../engine/compiler/index.js';
import { Engine } from '../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../engine/runtime/facade.js';
import { createMetrics } from '../../server/metrics.js';
import { queryableTables } from '../../engine/runtime/queries.js';
import { readCheckpoint } from '../../engine/state/checkpoint.js';
import { taskDir } from '../../engine/state/state-dir.js';
import { ROOT } from '../root.js';
import { countsSeen, expectedCounts, writeBatch } from './eos-helpers.js';
import { BROKERS, brokerTest, connectBroker, RUN, until } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('standby-test');
const dirs: string[] = [];
const closers: (() => Promise<unknown>)[] = [];
const said: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'duality-standby-'));
  dirs.push(dir);
  return dir;
}

describe('standby replicas on Kafka', { timeout: 300_000 }, () => {
  let graph: TopologyGraph | undefined;
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (broker) {
      if (graph) {
        await broker.admin.deleteGroups([graph.name]).catch(() => undefined);
        await broker.log.deleteTopics(graph.topics.map((t) => t.name)).catch(() => undefined);
      }
      await broker.close();
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  brokerTest(missing, 'the standby answers stale reads while the active runs elsewhere; killed, the active is replaced by the standby, which restores only the tail', async () => {
    const name = `standby-${RUN}`;
    const [input, output] = [`${name}-lines`, `${name}-counts`];
    const text = readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')
      .replace(/^name: .*$/m, `name: ${name}\nprocessing:\n  guarantee: exactly_once\n  standbyReplicas: 1`)
      .replace('TextLinesTopic', input)
      .replace('WordsWithCountsTopic', output);
    const compiled = compileTopology('wordcount.yaml', text);
    assert.ok(compiled.graph, compiled.diagnostics.map((d) => d.message).join('\n'));
    graph = compiled.graph;
    const store = queryableTables(graph).find((d) => d.name === 'word-counts')!.store!;
    const changelog = graph.stores.find((s) => s.name === store)!.changelogTopic;
    const countTask = `${graph.subtopologies.find((s) => s.stores.includes(store))!.id}_0`;
    // One partition: one task per sub-topology, so the instance that runs it is known: the first.
    await broker!.log.createTopics([{ name: input, partitions: 1 }]);

    // A: a `duality run` process, the honest crash is its SIGKILL.
    const dir = tempDir();
    const file = join(dir, 'wordcount.yaml');
    writeFileSync(file, text);
    const args = ['run', file, '--brokers', BROKERS.join(','), '--port', '0', '--advertise', 'standby-a:1', '--state-dir', join(dir, 'state'), '--cache-max-bytes', '0'];
    const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const childSaid: string[] = [];
    child.stderr!.on('data', (d: Buffer) => childSaid.push(...d.toString().split('\n').filter(Boolean)));
    closers.push(async () => child.exitCode === null && child.kill('SIGKILL'));
    const lines = await writeBatch(broker!.log, input, 0, 1000);
    await until(async () => ((await countsSeen(broker!.log, output)).get('alpha')?.length ?? 0) > 0, () => `A's first output: ${childSaid.join(' | ')}`, 60_000);

    // B: an engine in this process; it joins second, so A keeps its task and B gets the standby.
    const stateB = tempDir();
    const b = new Engine({ graph, log: broker!.log, stateDir: stateB, cacheMaxBytes: 0, endpoint: 'standby-b:2', logger: (l) => said.push(l) });
    closers.push(() => b.stop());
    await b.start();
    b.run().catch(() => undefined);
    await until(async () => (await b.ownerOf('word-counts', 'alpha'))?.standbys.includes('standby-b:2') ?? false, () => `B to be the standby: ${JSON.stringify(said)}`, 60_000);
    assert.deepEqual([...b.handles()].map((h) => h.task.id), [], 'A keeps its tasks');
    lines.push(...(await writeBatch(broker!.log, input, 1000, 1000)));
    const expected = expectedCounts(lines);
    // A has counted everything: each word's last output is its full count.
    await until(
      async () => [...(await countsSeen(broker!.log, output))].every(([w, seen]) => seen[seen.length - 1] === expected.get(w)),
      () => `A to count every line: ${childSaid.slice(-5).join(' | ')}`,
      60_000,
    );

    // Stale reads from B's copy while A runs the task; B has no active store for it.
    const owner = await b.ownerOf('word-counts', 'alpha');
    assert.deepEqual({ endpoint: owner?.endpoint, local: owner?.local, standbys: owner?.standbys }, { endpoint: 'standby-a:1', local: false, standbys: ['standby-b:2'] });
    assert.equal(b.storeOf(store, 0), undefined, 'no active store on B');
    const end = (await broker!.log.endOffsets(changelog))[0]!;
    const checkpointed = async (): Promise<number> => (await readCheckpoint(taskDir(stateB, graph!.name, countTask)))?.[store] ?? -1;
    await until(async () => (await checkpointed()) >= end, () => `B's copy to reach the changelog's end, ${end}: at ${JSON.stringify(b.standbyLag())}`, 60_000);
    const copy = b.storeOf(store, 0, true);
    assert.equal(copy?.stale, true);
    for (const [word, n] of expected) assert.equal(await copy!.store.get(word), n, `stale read of ${word}`);
    assert.deepEqual(b.standbyLag(), [{ task: countTask, store, lag: 0 }]);
    // What Prometheus scrapes from B.
    const scraped = await createMetrics(new LocalEngineFacade(b, broker!.log)).render();
    assert.match(scraped, new RegExp(`^duality_standby_lag_records\\{store="${store}",task="${countTask}"\\} 0$`, 'm'));
    assert.throws(() => copy!.store.put('alpha', 1), /standby copy/);

    // A dies without a goodbye: B takes the task over once A's session expires.
    child.kill('SIGKILL');
    await until(() => [...b.handles()].some((h) => h.task.id === countTask), () => `B to take over ${countTask}: ${b.state} ${b.problem ?? ''} tasks ${[...b.handles()].map((h) => h.task.id)} lag ${JSON.stringify(b.standbyLag())}: ${said.slice(-5).join(' | ')}`, 60_000);
    // Without the standby, B would replay the whole changelog (`end` records, one per count update).
    assert.ok(b.restoredRecords < end / 10, `B replayed ${b.restoredRecords} of ${end} changelog records`);
    assert.equal(b.storeOf(store, 0, true)?.stale, false, 'the active store now');
    // And it goes on counting from where A's state was.
    lines.push(...(await writeBatch(broker!.log, input, 2000, 200)));
    const final = expectedCounts(lines);
    await until(
      async () => [...(await countsSeen(broker!.log, output))].every(([w, seen]) => seen[seen.length - 1] === final.get(w)),
      () => `B to count on: ${said.slice(-5).join(' | ')}`,
      60_000,
    );
    for (const [word, n] of final) assert.equal(await b.storeOf(store, 0)!.store.get(word), n, `count of ${word} after the failover`);
  }, 240_000);
});
