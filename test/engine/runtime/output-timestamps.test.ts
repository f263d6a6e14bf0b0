import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { openLevel } from '../../../engine/state/leveldb-store.js';
import { CHANGELOG_OFFSET_KEY, decodeOffset, tableKey } from '../../../engine/state/stored-keys.js';
import { countTopology } from '../../count-topology.js';
import { graphOf } from '../../graph-of.js';

const COUNT = graphOf(countTopology({ name: 'ts', input: 'events', output: 'counts' }));

const JOIN = graphOf(`version: 1
name: tj
tables:
  users:
    topic: users
  credits:
    topic: credits
  users-with-credit:
    from: users
    steps:
      - join: {with: credits, value: '{"name": left.name, "eur": right.eur}'}
    to: users-with-credit
`);

async function send(log: EmbeddedLog, records: [topic: string, value: string, timestamp: number][]): Promise<void> {
  const p = log.producer();
  for (const [topic, value, timestamp] of records) {
    p.send([{ topic, key: Buffer.from('k'), value: Buffer.from(value), timestamp }]);
    await p.flush();
  }
  await p.close();
}

/** Runs `graph` over `records` with the cache off (every update goes out); the timestamps of what `output` got. */
async function run(graph: TopologyGraph, dir: string, records: [string, string, number][], output: string, log?: EmbeddedLog): Promise<number[]> {
  const own = log ?? (await EmbeddedLog.open(join(dir, 'log')));
  const engine = new Engine({ graph, log: own, stateDir: join(dir, 'state'), cacheMaxBytes: 0, logger: () => undefined });
  await engine.start();
  const before = (await own.endOffsets(output).catch(() => [0]))[0] ?? 0;
  await send(own, records);
  await engine.runUntilIdle();
  await engine.stop();
  const out = await own.read({ topic: output, partition: 0 }, before, 1000);
  if (!log) await own.close();
  return out.map((r) => r.timestamp);
}

test('an aggregation\'s result carries the later of its previous timestamp and the record\'s', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-ts-'));
  assert.deepEqual(await run(COUNT, dir, [['events', 'a', 5000], ['events', 'b', 1000], ['events', 'c', 7000]], 'counts'), [5000, 5000, 7000]);
});

test('a table-table join\'s result carries the later of its two sides\' timestamps', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-ts-'));
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: 'users', partitions: 1 }, { name: 'credits', partitions: 1 }]);
  const got = await run(JOIN, dir, [['users', '{"name": "Ada"}', 5000], ['credits', '{"eur": 3}', 3000], ['users', '{"name": "Ada L."}', 4000]], 'users-with-credit', log);
  assert.deepEqual(got, [5000, 4000]);
});

test('timestamps survive a restore from the changelog, and a store written without them is rebuilt from it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-ts-'));
  assert.deepEqual(await run(COUNT, dir, [['events', 'a', 5000]], 'counts'), [5000]);
  // The store as an older Duality left it: plain values, its offset recorded under its old name.
  const [storeDir] = readdirSync(join(dir, 'state', 'ts', '0_0')).filter((f) => !f.startsWith('.'));
  const db = await openLevel(join(dir, 'state', 'ts', '0_0', storeDir!), 'counts');
  const offset = decodeOffset(db.getSync(CHANGELOG_OFFSET_KEY))!;
  for await (const [k, v] of db.iterator()) if (tableKey(k) !== undefined) await db.put(k, v.subarray(8));
  await db.del(CHANGELOG_OFFSET_KEY);
  await db.put(Buffer.from([0xff, 0x00, ...Buffer.from('changelog-offset')]), Buffer.from(JSON.stringify({ changelogOffset: offset })));
  await db.close();
  assert.deepEqual(await run(COUNT, dir, [['events', 'b', 1000]], 'counts'), [5000]);
});
