import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileTopology } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { queryableTables } from '../../../engine/runtime/queries.js';
import { ACCEPTABLE_LAG, StandbyTasks } from '../../../engine/runtime/standby-tasks.js';
import { serdeFor } from '../../../engine/serde/index.js';
import { ROOT } from '../../root.js';
import { tempDir } from '../state/helpers.js';

test('a standby copy far behind its changelog answers no stale reads (it would say 404 for keys that exist); caught up, it answers every key', async (t) => {
  const { graph } = compileTopology('wordcount.yaml', readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8'));
  assert.ok(graph);
  const store = queryableTables(graph).find((d) => d.name === 'word-counts')!.store!;
  const info = graph.stores.find((s) => s.name === store)!;
  const task = `${graph.subtopologies.find((s) => s.stores.includes(store))!.id}_0`;
  const stateDir = await tempDir(t);
  const log = await EmbeddedLog.open(join(stateDir, 'log'));
  await log.createTopics([{ name: info.changelogTopic, partitions: 1, cleanupPolicy: 'compact' }]);
  // More than a copy replays when it opens (ROUND_RECORDS, 100,000): it opens well behind.
  const keys = 350_000;
  const [k, v] = [serdeFor('string'), serdeFor('long')];
  const producer = log.producer();
  for (let i = 0; i < keys; i += 50_000) {
    producer.send(Array.from({ length: 50_000 }, (_, j) => ({ topic: info.changelogTopic, partition: 0, key: k.serialize(`w${i + j}`), value: v.serialize(i + j + 1), timestamp: 0 })));
    await producer.flush();
  }
  await producer.close();

  const standbys = new StandbyTasks({ graph, log, stateDir, say: () => undefined, active: () => false });
  standbys.assign([0]);
  try {
    await catchUpWatched(standbys, task, store, keys);
  } finally {
    // Before the temporary directory goes: its after-hook runs first.
    await standbys.close();
    await log.close();
  }
});

/** Watches the copy catch up: while far behind it answers nothing; caught up, every key. */
async function catchUpWatched(standbys: StandbyTasks, task: string, store: string, keys: number): Promise<void> {
  let behind = 0;
  for (;;) {
    const lag = standbys.lag().find((l) => l.task === task)?.lag;
    const view = standbys.view(task, store);
    if (lag !== undefined && lag > ACCEPTABLE_LAG) {
      behind++;
      assert.equal(view, undefined, `a copy ${lag} records behind answers stale reads`);
    }
    if (lag === 0 && view) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(behind > 0, 'the copy was seen behind while it caught up');
  const view = standbys.view(task, store)!;
  for (const i of [0, 99_999, 100_000, 200_001, keys - 1]) assert.equal(await view.get(`w${i}`), i + 1, `w${i}`);
}
