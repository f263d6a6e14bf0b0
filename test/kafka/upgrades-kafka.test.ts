/**
 * Topology upgrades on Kafka (docs/upgrades.md): the record of what the state holds is in the
 * broker, so a new instance with an empty state directory is refused as a restarted one would be.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { cli, logLines, tableValue, tempDir, until, withRun } from '../engine/runtime/cli-harness.js';
import { base, CASES, upgraded } from '../engine/upgrades/upgrade-cases.js';
import { brokerTest, BROKERS, connectBroker, RUN } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('duality-upgrades-kafka-test');
const brokers = ['--brokers', BROKERS.join(',')];
const apps: string[] = [];

function app(what: string): { name: string; dir: string; write: (file: string, yaml: string) => string } {
  const name = `upgrades-${what}-${RUN}`;
  apps.push(name);
  const dir = tempDir();
  return {
    name,
    dir,
    write: (file, yaml) => {
      writeFileSync(join(dir, file), yaml);
      return join(dir, file);
    },
  };
}

async function finished(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = cli(args);
  const code = await c.exit(40_000);
  return { code, stdout: c.stdout, stderr: c.stderr };
}

const caseNamed = (prefix: string): (typeof CASES)[number] => CASES.find((c) => c.name.startsWith(prefix))!;

describe('topology upgrades on Kafka', { timeout: 180_000 }, () => {
  after(async () => {
    if (!broker) return;
    const topics = (await broker.admin.listTopics()).filter((t) => apps.some((a) => t.startsWith(`${a}-`)));
    await broker.log.deleteTopics(topics).catch(() => undefined);
    await broker.admin.deleteGroups(apps).catch(() => undefined);
    await broker.close();
  });

  brokerTest(missing, 'sum changed to aggregate over the same store: refused with exit 2 by a restarted instance and by a new one, changing nothing', async () => {
    const a = app('sum');
    const v1 = a.write('v1.yaml', base(a.name));
    const state = join(a.dir, 'state');
    await withRun(v1, state, brokers, async (url) => {
      const body = JSON.stringify([{ key: 'ann', value: { customer: 'ann', qty: 2 } }, { key: 'ann', value: { customer: 'ann', qty: 5 } }]);
      assert.equal((await fetch(`${url}/topics/${a.name}-orders/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, 200);
      await until('ann totalled', async () => ((await tableValue(url, 'totals', 'ann')) === 7 ? true : undefined));
    });
    const { yaml, says } = upgraded(caseNamed('sum changed to aggregate'), a.name);
    const v2 = a.write('v2.yaml', yaml);
    const topicsBefore = (await broker!.admin.listTopics()).filter((t) => t.startsWith(`${a.name}-`)).sort();
    for (const dir of [state, join(a.dir, 'new-instance')]) {
      const refused = await finished(['run', v2, '--port', '0', '--state-dir', dir, ...brokers]);
      assert.equal(refused.code, 2, refused.stderr);
      const lines = logLines(refused.stderr).map((l) => l.msg);
      assert.ok(lines.includes(`duality: refusing to start ${a.name} over the state its last version left (recorded in ${a.name}-topology); nothing was changed`), refused.stderr);
      for (const line of says) assert.ok(lines.includes(`duality: ${line}`), `${line}\nnot in\n${refused.stderr}`);
    }
    assert.deepEqual((await broker!.admin.listTopics()).filter((t) => t.startsWith(`${a.name}-`)).sort(), topicsBefore, 'no topic created or deleted');
    // The old version still runs over its state.
    await withRun(v1, state, brokers, async (url) => {
      assert.equal(await tableValue(url, 'totals', 'ann'), 7);
    });
  });

  brokerTest(missing, 'a new table: a new instance starts, saying what it adds; the next start has nothing to say', async () => {
    const a = app('new');
    const v1 = a.write('v1.yaml', base(a.name));
    await withRun(v1, join(a.dir, 'state'), brokers, async () => undefined);
    const { yaml, says } = upgraded(caseNamed('new table'), a.name);
    const v2 = a.write('v2.yaml', yaml);
    await withRun(v2, join(a.dir, 'new-instance'), brokers, async (_url, run) => {
      await until('the change said', () => (run.stderr.includes(`duality: ${a.name} changed since its last start, compatibly:`) ? true : undefined));
      const said = logLines(run.stderr).map((l) => l.msg);
      for (const line of says.filter((l) => !l.startsWith('compatible'))) assert.ok(said.includes(`duality: ${line}`), `${line}\nnot in\n${run.stderr}`);
    });
    await withRun(v2, join(a.dir, 'state'), brokers, async (_url, run) => {
      assert.ok(!run.stderr.includes('changed since'), run.stderr);
    });
  });
});
