import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../../engine/runtime/facade.js';
import { decodePartitionTime, encodePartitionTime } from '../../../engine/runtime/stream-time.js';
import { createMetrics } from '../../../server/metrics.js';
import { countTopology } from '../../count-topology.js';
import { graphOf } from '../../graph-of.js';

const steps = (window: string): string => countTopology({ name: 'late', input: 'events', output: 'counts', window });

async function post(log: EmbeddedLog, timestamps: number[]): Promise<void> {
  const p = log.producer();
  p.send(timestamps.map((timestamp) => ({ topic: 'events', key: Buffer.from('k'), value: Buffer.from('v'), timestamp })));
  await p.flush();
  await p.close();
}

/** Runs the topology once over the records at `timestamps` on a persisted log and state, then stops: a restart per call. */
async function runOnce(graph: TopologyGraph, dir: string, timestamps: number[]): Promise<{ outputs: number; dropped: string; lines: string[] }> {
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const lines: string[] = [];
  const engine = new Engine({ graph, log, stateDir: join(dir, 'state'), logger: (l) => lines.push(l) });
  await engine.start();
  const before = (await log.endOffsets('counts'))[0] ?? 0;
  await post(log, timestamps);
  await engine.runUntilIdle();
  const metrics = await createMetrics(new LocalEngineFacade(engine, log)).render();
  const dropped = metrics.split('\n').filter((l) => l.startsWith('duality_dropped_records_total{')).join('\n');
  await engine.stop();
  const outputs = ((await log.endOffsets('counts'))[0] ?? 0) - before;
  await log.close();
  return { outputs, dropped, lines: lines.filter((l) => l.includes('record dropped')) };
}

test('stream time survives a restart: a record late before the restart is late after it (dropped, counted, logged)', async () => {
  const graph = graphOf(steps('{type: tumbling, size: 10s, grace: 5s}'));
  const dir = mkdtempSync(join(tmpdir(), 'duality-stream-time-'));
  // 16,000 closes [0, 10,000) (end 10,000 + grace 5,000 <= 16,000): 2,000 is late.
  const first = await runOnce(graph, dir, [1000, 16_000, 2000]);
  assert.equal(first.outputs, 2);
  assert.match(first.dropped, /^duality_dropped_records_total\{node="[^"]+",reason="late"\} 1$/);
  assert.equal(first.lines.length, 1);
  assert.match(first.lines[0]!, /^late record dropped: node \S+, task 0_0, events:0 offset 2, timestamp 2000: its window closed at stream time 16000 \(grace 5000 ms\) \(1 since the last line\)$/);
  // After the restart the task's stream time is 16,000 again: 3,000 is just as late.
  const second = await runOnce(graph, dir, [3000]);
  assert.equal(second.outputs, 0, 'a window closed before the restart was updated after it');
  assert.match(second.dropped, /reason="late"\} 1$/);
  // Its window still open, 12,000 counts.
  const third = await runOnce(graph, dir, [12_000]);
  assert.equal(third.outputs, 1);
  assert.equal(third.dropped, '');
});

test('the stream time is committed with the input offset, in Kafka Streams\' offset-metadata format', async () => {
  const graph = graphOf(steps('{type: tumbling, size: 10s}'));
  const dir = mkdtempSync(join(tmpdir(), 'duality-stream-time-'));
  await runOnce(graph, dir, [5000, 42_000, 7000]);
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const committed = log.committedWithMetadata('late', { topic: 'events', partition: 0 });
  // `duality reset` rewinds the group: its stream time starts again too, as after Kafka's reset tool.
  await log.rewindGroup('late', ['events']);
  assert.deepEqual(log.committedWithMetadata('late', { topic: 'events', partition: 0 }), { offset: 0, metadata: '' });
  await log.close();
  assert.equal(committed?.offset, 3);
  // Kafka Streams' TopicPartitionMetadata: version byte 1, the time as a big-endian long, base64.
  assert.equal(committed?.metadata, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0xa4, 0x10]).toString('base64'));
  assert.equal(decodePartitionTime(committed?.metadata), 42_000);
  // Version 2 (with processor metadata after the time) reads the same; anything else is no time.
  assert.equal(decodePartitionTime(Buffer.from([2, 0, 0, 0, 0, 0, 0, 0xa4, 0x10, 0, 0, 0, 0]).toString('base64')), 42_000);
  assert.equal(decodePartitionTime('not ours'), undefined);
  assert.equal(decodePartitionTime(encodePartitionTime(0)), 0);
});
