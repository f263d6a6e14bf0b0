import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProducedRecord } from '../../../engine/api/log.js';
import { compileTopology } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { resetLog } from '../../../engine/runtime/reset.js';
import { ROOT } from '../../root.js';
import { cli, recordsIn, tableValue, tempDir, until, untilRecordsIn, withRun } from './cli-harness.js';

const count = (url: string, word: string): Promise<unknown> => tableValue(url, 'word-counts', word);

function wordcount(): { file: string; state: string } {
  const dir = tempDir();
  const file = join(dir, 'wordcount.yaml');
  copyFileSync(join(ROOT, 'topologies/wordcount.yaml'), file);
  return { file, state: join(dir, 'state') };
}

async function reset(file: string, state: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = cli(['reset', file, '--state-dir', state]);
  const code = await r.exit(20_000);
  return { code, stdout: r.stdout, stderr: r.stderr };
}

test('duality reset: the next run reprocesses the input from the start; the counts equal one pass, not two', async () => {
  const { file, state } = wordcount();
  await withRun(file, state, [], async (url) => {
    const posted = await fetch(`${url}/topics/TextLinesTopic/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ value: 'hello world' }, { value: 'hello duality' }]) });
    assert.equal(posted.status, 200);
    await until('hello counted twice', async () => ((await count(url, 'hello')) === 2 ? true : undefined));
  });
  assert.ok(existsSync(join(state, 'wordcount')));

  // What the internal topics hold (and the topology's record, docs/upgrades.md): the reset's progress counts them.
  const log = await EmbeddedLog.open(join(state, 'log'));
  let records = 0;
  for (const t of ['wordcount-word-counts-repartition', 'wordcount-word-counts-changelog', 'wordcount-topology']) records += (await log.endOffsets(t)).reduce((a, b) => a + b, 0);
  await log.close();
  assert.ok(records >= 4 + 3 + 1, `${records} records in the internal topics`);

  const done = await reset(file, state);
  assert.equal(done.code, 0, done.stderr);
  const n = records.toLocaleString('en');
  const progress = new RegExp(`^duality: deleting internal topics: ${n} of ${n} records \\(100 %\\), [\\d,]+ records/s, done in \\d+\\.\\d s$`);
  const lines = done.stdout.split('\n');
  assert.match(lines.find((l) => l.startsWith('duality: deleting'))!, progress);
  assert.equal(
    lines.filter((l) => !l.startsWith('duality: deleting')).join('\n'),
    [
      `duality: resetting wordcount on the embedded log (${join(state, 'log')})`,
      'rewound group wordcount on TextLinesTopic to the start: partition 0 at offset 0',
      'deleted internal topic wordcount-word-counts-repartition',
      'deleted internal topic wordcount-word-counts-changelog',
      'deleted internal topic wordcount-topology',
      `deleted local state ${join(state, 'wordcount')} (1_0)`,
      'duality: wordcount is reset; its next run processes its input from the start',
      '',
    ].join('\n'),
  );
  assert.equal(existsSync(join(state, 'wordcount')), false, 'the local state is gone');
  assert.ok(readdirSync(join(state, 'log')).length > 0, "the embedded log (the user's topics) stays");

  // Twice is fine: what is gone is said to be gone.
  const again = await reset(file, state);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /rewound group wordcount on TextLinesTopic to the start: partition 0 at offset 0\n/);
  assert.match(again.stdout, /internal topic wordcount-word-counts-repartition does not exist: nothing to delete\n/);
  assert.match(again.stdout, /internal topic wordcount-word-counts-changelog does not exist: nothing to delete\n/);
  assert.match(again.stdout, /internal topic wordcount-topology does not exist: nothing to delete\n/);
  assert.match(again.stdout, /no local state in .*wordcount\n/);
  assert.equal(existsSync(join(state, 'wordcount')), false);

  await withRun(file, state, [], async (url) => {
    // All four words of the two lines go through the count again, once.
    await untilRecordsIn(url, 'word-counts.3.count', 4);
    assert.equal(await recordsIn(url, 'lines.source'), 2);
    assert.equal(await count(url, 'hello'), 2);
    assert.equal(await count(url, 'world'), 1);
    assert.equal(await count(url, 'duality'), 1);
  });
});

test('duality reset: refuses with exit 1 while the topology runs on the state directory, and changes nothing', async () => {
  const { file, state } = wordcount();
  await withRun(file, state, [], async (url, run) => {
    await fetch(`${url}/topics/TextLinesTopic/records`, { method: 'POST', body: JSON.stringify({ value: 'still here' }) });
    await until('"still" counted', async () => ((await count(url, 'still')) === 1 ? true : undefined));

    const refused = await reset(file, state);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`^duality: cannot reset wordcount while it runs: state directory .*wordcount is in use by process ${run.child.pid}`));
    assert.equal(refused.stdout, '');
    assert.equal(await count(url, 'still'), 1);
    assert.ok(existsSync(join(state, 'wordcount', '1_0')));
  });
  // Still there after the stop: the refused reset deleted nothing.
  const log = await EmbeddedLog.open(join(state, 'log'));
  try {
    assert.equal(await log.partitions('wordcount-word-counts-changelog'), 1);
    assert.equal(log.committedOffset('wordcount', { topic: 'TextLinesTopic', partition: 0 }), 1);
  } finally {
    await log.close();
  }
});

test('duality reset: an invalid topology exits 1 with file:line:col; no FILE is a usage error', async () => {
  const bad = cli(['reset', join(ROOT, 'test/invalid/schema-bad-guarantee.yaml'), '--state-dir', join(tempDir(), 'state')]);
  assert.equal(await bad.exit(10_000), 1);
  assert.match(bad.stderr, /schema-bad-guarantee\.yaml:\d+:\d+: /);
  const none = cli(['reset']);
  assert.equal(await none.exit(10_000), 2);
  assert.match(none.stderr, /reset takes exactly one FILE/);
});

test('the embedded log: groupMembers counts the consumer of a group; rewindGroup sets the start offsets, refusing a live group', async () => {
  const log = EmbeddedLog.inMemory();
  await log.createTopics([{ name: 'in', partitions: 2 }]);
  const consumer = log.consumer('g');
  await consumer.subscribe(['in'], { onAssigned: async () => undefined, onRevoked: async () => undefined });
  await consumer.commit(new Map([['in:0', 3], ['in:1', 1]]));
  assert.equal(await log.groupMembers('g'), 1);
  assert.equal(await log.groupMembers('other'), 0);
  await assert.rejects(log.rewindGroup('g', ['in']), /cannot rewind group "g": it has a consumer in this process/);
  await consumer.close();
  assert.equal(await log.groupMembers('g'), 0);

  assert.equal(log.committedOffset('g', { topic: 'in', partition: 1 }), 1);
  assert.deepEqual(await log.rewindGroup('g', ['in', 'missing']), [
    { topic: 'in', partition: 0, offset: 0 },
    { topic: 'in', partition: 1, offset: 0 },
  ]);
  assert.equal(log.committedOffset('g', { topic: 'in', partition: 1 }), 0);
  await log.close();
});

test('duality reset says how far the deletion of the internal topics is, in records, with the rate and the time left', async () => {
  const graph = compileTopology('t.yaml', readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8'), { env: {} }).graph!;
  const log = EmbeddedLog.inMemory();
  const engine = new Engine({ graph, log, stateDir: join(tempDir(), 'state'), logger: () => undefined });
  await engine.start();
  await engine.stop();
  const p = log.producer();
  const record = (topic: string): ProducedRecord => ({ topic, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 0 });
  p.send([...Array.from({ length: 5 }, () => record('wordcount-word-counts-repartition')), ...Array.from({ length: 3 }, () => record('wordcount-word-counts-changelog'))]);
  await p.flush();
  await p.close();
  const lines: string[] = [];
  // A line after each topic, rather than every 5 s.
  await resetLog(graph, log, (l) => lines.push(l), 0);
  await log.close();
  const said = lines.filter((l) => l.startsWith('duality: deleting internal topics: '));
  assert.equal(said.length, 2, lines.join('\n'));
  assert.match(said[0]!, /^duality: deleting internal topics: 5 of 8 records \(62 %\), [\d,]+ records\/s, about \d+\.\d s left$/);
  assert.match(said[1]!, /^duality: deleting internal topics: 8 of 8 records \(100 %\), [\d,]+ records\/s, done in \d+\.\d s$/);
});
