/**
 * Records a join cannot use are counted in duality_dropped_records_total, as Kafka Streams counts
 * its skipped records: a stream-table join's null value, a stream-stream join's record too old
 * to join anything.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileTopology } from '../../engine/compiler/index.js';
import { EmbeddedLog } from '../../engine/log/embedded-log.js';
import { Engine } from '../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../engine/runtime/facade.js';
import { createMetrics } from '../../server/metrics.js';

interface Input {
  readonly topic: string;
  readonly key: string;
  readonly value: unknown;
  readonly timestamp: number;
}

/**
 * Runs `topology` over `input`, each record processed before the next is written (with all
 * written first, a task of two topics would take them in timestamp order instead): the out
 * topic's values and the dropped-records lines of /metrics.
 */
async function run(topology: string, input: readonly Input[]): Promise<{ out: unknown[]; dropped: string[] }> {
  const compiled = compileTopology('t.yaml', topology, { env: {} });
  assert.deepEqual(compiled.diagnostics, []);
  const log = EmbeddedLog.inMemory();
  const dir = mkdtempSync(join(tmpdir(), 'duality-join-drops-'));
  const engine = new Engine({ graph: compiled.graph!, log, stateDir: dir, cacheMaxBytes: 0, logger: () => undefined });
  try {
    await engine.start();
    const p = log.producer();
    for (const r of input) {
      p.send([{ topic: r.topic, key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(JSON.stringify(r.value)), timestamp: r.timestamp, headers: {} }]);
      await p.flush();
      await engine.runUntilIdle();
    }
    const metrics = await createMetrics(new LocalEngineFacade(engine, log)).render();
    const out = (await log.read({ topic: 'out', partition: 0 }, 0, Number.MAX_SAFE_INTEGER)).map((r) => (r.value === null ? null : JSON.parse(r.value.toString())));
    return { out, dropped: metrics.split('\n').filter((l) => l.startsWith('duality_dropped_records_total{')) };
  } finally {
    await engine.stop().catch(() => undefined);
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a stream-table join drops a stream record with a null value, and counts it', async () => {
  const topology = `version: 1
name: drops
streams:
  clicks: {topic: clicks}
  enriched:
    from: clicks
    steps:
      - join: {with: users, type: left}
    to: out
tables:
  users: {topic: users}
`;
  const { out, dropped } = await run(topology, [
    { topic: 'users', key: 'u1', value: { name: 'Ann' }, timestamp: 1000 },
    { topic: 'clicks', key: 'u1', value: null, timestamp: 2000 },
    { topic: 'clicks', key: 'u1', value: { page: 'a' }, timestamp: 3000 },
  ]);
  assert.deepEqual(out, [{ left: { page: 'a' }, right: { name: 'Ann' } }]);
  assert.equal(dropped.length, 1);
  assert.match(dropped[0]!, /^duality_dropped_records_total\{node="[^"]+",reason="null-key-or-value"\} 1$/);
});

test('a left stream-stream join sends a late record of its left side at once; one too old to keep that joins nothing is counted as late', async () => {
  const topology = `version: 1
name: drops
streams:
  clicks: {topic: clicks}
  views: {topic: views}
  joined:
    from: clicks
    steps:
      - join: {with: views, type: left, within: 5s}
    to: out
`;
  const { out, dropped } = await run(topology, [
    { topic: 'clicks', key: 'u1', value: { c: 1 }, timestamp: 20_000 },
    // Late (1,000 + 5,000 < 20,000): out at once with a null partner, as Kafka Streams sends it.
    { topic: 'clicks', key: 'u2', value: { c: 2 }, timestamp: 1000 },
    // The right side keeps nothing unmatched: too old to join anything later, dropped.
    { topic: 'views', key: 'u3', value: { v: 3 }, timestamp: 1000 },
  ]);
  assert.deepEqual(out, [{ left: { c: 2 }, right: null }]);
  assert.equal(dropped.length, 1);
  assert.match(dropped[0]!, /reason="late"\} 1$/);
});
