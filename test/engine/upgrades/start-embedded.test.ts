/**
 * On start over the state an earlier version left on the embedded log: each upgrade case of
 * docs/upgrades.md refused (changing nothing) or started, saying what changed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compileTopology } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { IncompatibleUpgradeError, readRecorded } from '../../../engine/upgrades/recorded.js';
import { base, CASES, upgraded } from './upgrade-cases.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Starts `yaml` on the log and state in `dir`, gives it `orders`, runs them through and stops; resolves with what it said. */
async function runVersion(dir: string, yaml: string, orders: { customer: string; qty: number }[] = []): Promise<string[]> {
  const compiled = compileTopology('t.yaml', yaml, { env: {} });
  assert.deepEqual(compiled.diagnostics, []);
  const said: string[] = [];
  const log = await EmbeddedLog.open(join(dir, 'log'));
  try {
    const engine = new Engine({ graph: compiled.graph!, log, stateDir: join(dir, 'state'), cacheMaxBytes: 0, checkUpgrade: true, logger: (l) => said.push(l) });
    try {
      await engine.start();
      if (orders.length > 0) {
        const p = log.producer();
        p.send(orders.map((o, i) => ({ topic: 'shop-orders', key: Buffer.from(`k${i % 3}`), value: Buffer.from(JSON.stringify(o)), timestamp: 1_000 + i })));
        await p.flush();
        await p.close();
        await engine.runUntilIdle();
      }
    } finally {
      await engine.stop();
    }
  } finally {
    await log.close();
  }
  return said;
}

async function recorded(dir: string): Promise<unknown> {
  const log = await EmbeddedLog.open(join(dir, 'log'));
  try {
    return await readRecorded(log, 'shop');
  } finally {
    await log.close();
  }
}

async function topics(dir: string): Promise<(number | undefined)[]> {
  const log = await EmbeddedLog.open(join(dir, 'log'));
  try {
    return await Promise.all(['shop-biggest-changelog', 'shop-orders-by-customer-repartition', 'shop-order-totals-changelog'].map((t) => log.partitions(t)));
  } finally {
    await log.close();
  }
}

const orders = [{ customer: 'ann', qty: 2 }, { customer: 'bob', qty: 3 }, { customer: 'ann', qty: 5 }];

for (const c of CASES) {
  test(`on start, embedded log: ${c.name}: ${c.compatible ? 'starts, saying what changed' : 'refused, changing nothing'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duality-upgrade-'));
    dirs.push(dir);
    const first = await runVersion(dir, base(), orders);
    assert.ok(first.some((l) => l.includes('recorded what shop\'s stores and internal topics hold in shop-topology')), first.join('\n'));
    const before = await recorded(dir);
    const { yaml, says } = upgraded(c);
    if (!c.compatible) {
      const topicsBefore = await topics(dir);
      const refused = await runVersion(dir, yaml).then(
        () => assert.fail('the new version started'),
        (e: unknown) => e,
      );
      assert.ok(refused instanceof IncompatibleUpgradeError, String(refused));
      assert.match(refused.lines[0]!, /^refusing to start shop over the state its last version left \(recorded in shop-topology\); nothing was changed$/);
      for (const line of says) assert.ok(refused.lines.includes(line), `${line}\nnot in\n${refused.lines.join('\n')}`);
      assert.deepEqual(await recorded(dir), before, 'the record is as it was');
      assert.deepEqual(await topics(dir), topicsBefore, 'no topic was created');
      // The old version goes on as before.
      assert.deepEqual((await runVersion(dir, base(), orders)).filter((l) => l.includes('changed since')), []);
      return;
    }
    const said = await runVersion(dir, yaml, orders);
    const changes = says.filter((l) => !l.startsWith('compatible'));
    if (changes.length === 0) assert.deepEqual(said.filter((l) => l.includes('changed since')), []);
    else {
      assert.ok(said.includes('duality: shop changed since its last start, compatibly:'), said.join('\n'));
      for (const line of changes) assert.ok(said.includes(`duality: ${line}`), `${line}\nnot in\n${said.join('\n')}`);
    }
    // Recorded: the next start of the same version has nothing to say.
    assert.deepEqual((await runVersion(dir, yaml)).filter((l) => l.includes('changed since') || l.includes('recorded')), []);
  });
}

test('on start, embedded log: a table removed and later added back with other contents is refused: its old changelog is still there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-upgrade-'));
  dirs.push(dir);
  await runVersion(dir, base(), orders);
  const removed = CASES.find((c) => c.name.startsWith('table removed'))!;
  await runVersion(dir, upgraded(removed).yaml, orders);
  const back = base().replace('{type: session, gap: 5m}', '{type: session, gap: 10m}');
  const refused = await runVersion(dir, back).then(
    () => assert.fail('started'),
    (e: unknown) => e as IncompatibleUpgradeError,
  );
  assert.ok(
    refused.lines.includes('  ✗ store visits: used again, but shop-visits-changelog still holds what an earlier version wrote (layout session gap 5m → session gap 10m): its stored values and its changelog would be misread'),
    refused.lines.join('\n'),
  );
  // Back as it was: it goes on from what the changelog kept.
  const said = await runVersion(dir, base());
  assert.ok(said.includes('duality:     store visits: used again: it goes on from what shop-visits-changelog kept since an earlier version used it'), said.join('\n'));
});
