/**
 * `duality reset` on Kafka, as a user runs it: `duality run --brokers`, stop, reset, run again over
 * the same input; and a reset refused while an instance is in the group.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { ROOT } from '../root.js';
import { cli, recordsIn, tableValue, tempDir, until, untilRecordsIn, withRun } from '../engine/runtime/cli-harness.js';
import { brokerTest, BROKERS, connectBroker, RUN } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('duality-reset-kafka-test');
const app = `reset-${RUN}`;
const [lines, counts] = [`reset-lines-${RUN}`, `reset-counts-${RUN}`];
const [repartition, changelog] = [`${app}-word-counts-repartition`, `${app}-word-counts-changelog`];
const file = join(tempDir(), 'wordcount.yaml');
writeFileSync(
  file,
  readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8').replace(/^name: .*$/m, `name: ${app}`).replace('TextLinesTopic', lines).replace('WordsWithCountsTopic', counts),
);
const brokers = ['--brokers', BROKERS.join(',')];
const count = (url: string, word: string): Promise<unknown> => tableValue(url, 'word-counts', word);

async function reset(state: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = cli(['reset', file, '--state-dir', state, ...brokers]);
  const code = await r.exit(40_000);
  return { code, stdout: r.stdout, stderr: r.stderr };
}

async function committed(topic: string): Promise<string[]> {
  const [offsets] = await broker!.admin.fetchOffsets({ groupId: app, topics: [topic] });
  return offsets!.partitions.map((p) => p.offset);
}

describe('duality reset on Kafka', { timeout: 120_000 }, () => {
  after(async () => {
    if (!broker) return;
    await broker.admin.deleteGroups([app]).catch(() => undefined);
    await broker.log.deleteTopics([lines, counts, `${app}-dlq`, repartition, changelog, `${app}-topology`]).catch(() => undefined);
    await broker.close();
  });

  brokerTest(missing, 'reset, then run again over the same input: the counts equal one pass, not two', async () => {
    const state = join(tempDir(), 'state');
    await withRun(file, state, brokers, async (url) => {
      const posted = await fetch(`${url}/topics/${lines}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ value: 'hello kafka hello' }, { value: 'reset kafka' }]) });
      assert.equal(posted.status, 200);
      await until('kafka counted twice', async () => ((await count(url, 'kafka')) === 2 ? true : undefined));
    });
    assert.deepEqual(await committed(lines), ['2']);

    const done = await reset(state);
    assert.equal(done.code, 0, done.stderr);
    // The deletion's progress, in the records the internal topics held.
    const progress = (l: string): boolean => l.startsWith('duality: deleting internal topics: ');
    const said = done.stdout.split('\n');
    assert.match(said.find(progress) ?? '', /^duality: deleting internal topics: ([\d,]+) of \1 records \(100 %\), [\d,]+ records\/s, done in \d+\.\d s$/);
    assert.equal(
      said.filter((l) => !progress(l)).join('\n'),
      [
        `duality: resetting ${app} on kafka (${BROKERS.join(',')})`,
        `rewound group ${app} on ${lines} to the start: partition 0 at offset 0`,
        `deleted internal topic ${repartition}`,
        `deleted internal topic ${changelog}`,
        `deleted internal topic ${app}-topology`,
        `deleted local state ${join(state, app)} (1_0)`,
        `duality: ${app} is reset; its next run processes its input from the start`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(await committed(lines), ['0']);
    assert.equal(await broker!.log.partitions(repartition), undefined);
    assert.equal(await broker!.log.partitions(changelog), undefined);
    assert.equal(await broker!.log.partitions(counts), 1, 'output topics stay');

    const again = await reset(state);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`internal topic ${changelog} does not exist: nothing to delete\\n`));

    await withRun(file, state, brokers, async (url) => {
      await untilRecordsIn(url, 'word-counts.3.count', 5);
      assert.equal(await recordsIn(url, 'lines.source'), 2);
      assert.equal(await count(url, 'hello'), 2);
      assert.equal(await count(url, 'kafka'), 2);
      assert.equal(await count(url, 'reset'), 1);
    });
  });

  brokerTest(missing, 'refuses with exit 1 while an instance (on another state directory) is in the group, changing nothing', async () => {
    await withRun(file, join(tempDir(), 'state'), brokers, async () => {
      const refused = await reset(join(tempDir(), 'state'));
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stderr, new RegExp(`duality: cannot reset ${app}: its consumer group "${app}" has 1 live member; stop every instance`));
      assert.doesNotMatch(refused.stdout, /rewound|deleted/);
      assert.equal(await broker!.log.partitions(changelog), 1);
      assert.equal(await broker!.log.partitions(repartition), 1);
    });
  });
});
