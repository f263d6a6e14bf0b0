/**
 * Stream time across a SIGKILL on the real broker, under exactly_once: a tumbling window with
 * `emit: final`, `duality run` killed after a window's end and before its close. After the restart
 * the task's stream time is where it was committed (the offset commit's metadata, sent with the
 * transaction), so the final results come out once each, read_committed, and a record that was
 * late before the kill is late after it: dropped and counted.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { decodePartitionTime } from '../../engine/runtime/stream-time.js';
import type { CommittedOffset } from '../../engine/api/log.js';
import { compileTopology } from '../../engine/compiler/index.js';
import { Engine } from '../../engine/runtime/engine.js';
import { ROOT } from '../root.js';
import { countTopology } from '../count-topology.js';
import { BROKERS, brokerTest, connectBroker, RUN, until } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('duality-stream-time-test');
const name = `stream-time-${RUN}`;
const [input, output] = [`${name}-events`, `${name}-final`];
const dir = mkdtempSync(join(tmpdir(), 'duality-stream-time-'));
const children: ChildProcess[] = [];

const TOPOLOGY = countTopology({ name, input, output, window: '{type: tumbling, size: 10s, grace: 5s}', emit: 'final', exactlyOnce: true });

/** Windows are aligned to the epoch: a base on a minute keeps the test's windows whole, and its timestamps recent (the broker's time retention). */
const BASE = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;

interface Run {
  readonly child: ChildProcess;
  readonly url: Promise<string>;
  readonly stderr: string[];
}

function start(): Run {
  const file = join(dir, 'topology.yaml');
  writeFileSync(file, TOPOLOGY);
  const args = ['run', file, '--brokers', BROKERS.join(','), '--port', '0', '--state-dir', join(dir, 'state')];
  const child = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(...d.toString().split('\n').filter(Boolean)));
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running on .*, (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`duality run exited (${code}): ${stderr.slice(-5).join(' | ')}`)));
  });
  url.catch(() => undefined);
  return { child, url, stderr };
}

async function send(records: [key: string, at: number][], topic = input): Promise<void> {
  const producer = broker!.log.producer();
  try {
    producer.send(records.map(([key, at]) => ({ topic, partition: 0, key: Buffer.from(key), value: Buffer.from('x'), timestamp: BASE + at })));
    await producer.flush();
  } finally {
    await producer.close();
  }
}

/** The output, read_committed: each record's key bytes (the windowed key) with its count. */
async function finals(): Promise<{ key: string; count: number }[]> {
  if ((await broker!.log.partitions(output)) === undefined) return [];
  const out: { key: string; count: number }[] = [];
  for (const [partition, end] of (await broker!.log.endOffsets(output)).entries()) {
    for (let offset = 0; offset < end; ) {
      const batch = await broker!.log.read({ topic: output, partition }, offset, 1000);
      if (batch.length === 0) break;
      for (const r of batch) out.push({ key: r.key!.toString('latin1'), count: Number(r.value!.readBigInt64BE()) });
      offset = batch.at(-1)!.offset + 1;
    }
  }
  return out;
}

async function committed(): Promise<{ offset: number; time: number | undefined } | undefined> {
  const group = broker!.log.consumer(name);
  try {
    const c = await group.committedWithMetadata({ topic: input, partition: 0 });
    return c && { offset: c.offset, time: decodePartitionTime(c.metadata) };
  } finally {
    await group.close();
  }
}

async function lateDropped(run: Run): Promise<number> {
  const text = await (await fetch(`${await run.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('duality_dropped_records_total{') && l.includes('reason="late"'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

describe('stream time on Kafka under exactly_once', { timeout: 240_000 }, () => {
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (broker) {
      await broker.admin.deleteGroups([name]).catch(() => undefined);
      const topics = (await broker.admin.listTopics()).filter((t) => t.includes(name));
      await broker.log.deleteTopics(topics).catch(() => undefined);
      await broker.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  brokerTest(missing, 'under at_least_once the stream time goes with the consumer\'s offset commit', async () => {
    const alo = `${name}-alo`;
    const graph = compileTopology('t.yaml', countTopology({ name: alo, input: `${alo}-events`, output: `${alo}-out`, window: '{type: tumbling, size: 10s}' })).graph!;
    const engine = new Engine({ graph, log: broker!.log, stateDir: join(dir, 'alo'), logger: () => undefined });
    const committedHere = async (): Promise<CommittedOffset | undefined> => {
      const group = broker!.log.consumer(alo);
      return group.committedWithMetadata({ topic: `${alo}-events`, partition: 0 }).finally(() => group.close());
    };
    try {
      await broker!.log.createTopics([{ name: `${alo}-events`, partitions: 1 }]);
      await send([['C', 7000], ['C', 5000]], `${alo}-events`);
      await engine.start();
      let c: CommittedOffset | undefined;
      await until(async () => {
        await engine.runOnce(500, 100);
        await engine.commit();
        return (c = await committedHere())?.offset === 2;
      }, () => `the offsets committed, have ${JSON.stringify(c)}`);
      assert.equal(decodePartitionTime(c?.metadata), BASE + 7000);
    } finally {
      await engine.stop();
      await broker!.admin.deleteGroups([alo]).catch(() => undefined);
    }
  });

  brokerTest(missing, 'killed between a window\'s end and its close: each final result once, read_committed; a record late before the kill is late after it', async () => {
    await broker!.log.createTopics([{ name: input, partitions: 1 }]);
    const first = start();
    // 16,000 closes [0, 10,000) (end + grace 5,000): its final result goes out; 3,000 comes late.
    // 21,000 ends [10,000, 20,000), which closes only at 25,000.
    await send([['A', 1000], ['A', 4000], ['A', 12_000], ['A', 16_000], ['A', 3000], ['A', 21_000]]);
    await until(async () => (await committed())?.offset === 6, () => `the first run to commit its input (stderr: ${first.stderr.slice(-5).join(' | ')})`, 60_000);
    assert.deepEqual(await committed(), { offset: 6, time: BASE + 21_000 });
    assert.equal(await lateDropped(first), 1);
    // Its stderr is no terminal: each line is JSON, the message in `msg`.
    const messages = first.stderr.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.ok(messages.some((m) => /^late record dropped: .* timestamp \d+: its window closed at stream time \d+ \(grace 5000 ms\) \(1 since the last line\)$/.test(m)), first.stderr.join('\n'));
    assert.equal((await finals()).length, 1);
    // A record for the open window, and the kill, perhaps mid-transaction.
    await send([['B', 13_000]]);
    const exited = new Promise((r) => first.child.on('exit', r));
    first.child.kill('SIGKILL');
    await exited;

    const second = start();
    // First after the restart: 2,500, late as 3,000 was, though nothing after the restart moved stream time yet.
    await send([['A', 2500], ['A', 26_000]]);
    await until(async () => (await committed())?.offset === 9, () => `the second run to commit its input (stderr: ${second.stderr.slice(-5).join(' | ')})`, 60_000);
    let out = await finals();
    await until(async () => (out = await finals()).length >= 3, () => `three final results, have ${JSON.stringify(out)}`, 30_000);
    assert.equal(await lateDropped(second), 1, 'the record late before the restart was not dropped after it');
    out = await finals();
    const once = new Map<string, number[]>();
    for (const f of out) once.set(f.key, [...(once.get(f.key) ?? []), f.count]);
    assert.deepEqual([...once.values()].map((c) => c.join(',')).sort(), ['1', '2', '2'], `each window's final count once: ${JSON.stringify(out)}`);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.on('exit', r));
  });
});
