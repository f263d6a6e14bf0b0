import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TopologyGraph } from '../../../engine/api/topology-graph.js';
import { compileTopology } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../../engine/runtime/facade.js';
import { RestoreTracker } from '../../../engine/runtime/restore-tracker.js';
import { restoreStore } from '../../../engine/state/restore.js';
import { countTopology } from '../../count-topology.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'duality-restore-progress-'));
  dirs.push(d);
  return d;
}

const graph: TopologyGraph = compileTopology('t.yaml', countTopology({ name: 'progress', input: 'events', output: 'counts-out' }), { env: {} }).graph!;
const store = graph.stores[0]!;
/** Three batches of the restore's 10,000. */
const RECORDS = 25_000;
/** `duality: restore: D of T records (P %), R records/s, about S left` while it goes on; `..., done in S` at the end. */
const LINE = /^duality: restore: [\d,]+ of [\d,]+ records \(\d+ %\), [\d,]+ records\/s, (about \d+(\.\d)? (s|min \d+ s|h \d+ min) left|time left unknown|done in \d+\.\d s)$/;

/** An embedded log whose store changelog holds RECORDS records, one per key, as a long count's. */
async function logWithChangelog(): Promise<EmbeddedLog> {
  const log = EmbeddedLog.inMemory();
  // The first engine creates the topics, as `duality run` does.
  const first = new Engine({ graph, log, stateDir: join(tempDir(), 'state'), logger: () => undefined });
  await first.start();
  await first.stop();
  const p = log.producer();
  const value = Buffer.alloc(8);
  value.writeBigInt64BE(1n);
  p.send(Array.from({ length: RECORDS }, (_, i) => ({ topic: store.changelogTopic, key: Buffer.from(`key-${i}`), value, timestamp: 0 })));
  await p.flush();
  await p.close();
  return log;
}

test('a restore says how far along it is, and at the end how many records it replayed, how fast, in how long; the metrics count them per store', async () => {
  const log = await logWithChangelog();
  const lines: string[] = [];
  const engine = new Engine({ graph, log, stateDir: join(tempDir(), 'state'), logger: (l) => lines.push(l) });
  await engine.start();
  const facade = new LocalEngineFacade(engine, log);
  try {
    const said = lines.filter((l) => l.startsWith('duality: restore:'));
    assert.ok(said.length >= 1, lines.join('\n'));
    for (const l of said) assert.match(l, LINE);
    assert.match(said.at(-1)!, /^duality: restore: 25,000 of 25,000 records \(100 %\), [\d,]+ records\/s, done in \d+\.\d s$/);
    assert.deepEqual(facade.metrics.restores, [{ store: store.name, task: '0_0', restored: RECORDS, remaining: 0 }]);
  } finally {
    await engine.stop();
    await facade.close();
    await log.close();
  }
});

test('while a restore goes on, its lines say records done of all, the rate and the time left', async () => {
  const log = await logWithChangelog();
  const lines: string[] = [];
  // A line after every batch, rather than every 5 s.
  const round = new RestoreTracker(0).round((l) => lines.push(l));
  const steps: number[] = [];
  const listener = round.listener('0_0', store.name);
  await restoreStore(log, store, 0, join(tempDir(), 'db'), undefined, undefined, undefined, (s) => {
    steps.push(s.remaining);
    listener(s);
  });
  round.finish();
  await log.close();
  assert.deepEqual(steps, [25_000, 15_000, 5_000, 0]);
  for (const l of lines) assert.match(l, LINE);
  assert.deepEqual(
    lines.map((l) => /^duality: restore: ([\d,]+ of [\d,]+ records \(\d+ %\))/.exec(l)![1]),
    ['10,000 of 25,000 records (40 %)', '20,000 of 25,000 records (80 %)', '25,000 of 25,000 records (100 %)'],
  );
  assert.match(lines[0]!, /records\/s, about \d+\.\d s left$/);
});
