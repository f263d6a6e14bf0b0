import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { openTaskStores } from '../../../engine/runtime/task-stores.js';
import { CacheBudget } from '../../../engine/state/cache-budget.js';
import { storeDir } from '../../../engine/state/state-dir.js';
import { graphOf } from '../../graph-of.js';
import { ROOT } from '../../root.js';
import { fullDiskAhead, tempDir } from '../state/helpers.js';

const wordcount = graphOf(readFileSync(`${ROOT}topologies/wordcount.yaml`, 'utf8'));

test('writes that fail on a full disk reject `landed`, which the engine may await later, without an unhandled rejection meanwhile', async (t) => {
  const dir = await tempDir(t);
  const log = await EmbeddedLog.open(join(dir, 'log'));
  t.after(() => log.close());
  await log.createTopics([{ name: wordcount.stores.find((s) => s.name === 'word-counts')!.changelogTopic, partitions: 1 }]);
  const sub = wordcount.subtopologies.find((s) => s.stores.includes('word-counts'))!;
  const taskId = `${sub.id}_0`;
  const stateDir = join(dir, 'state');
  const stores = await openTaskStores({ graph: wordcount, sub, partition: 0, taskId, log, stateDir, collector: { send: () => undefined }, cache: new CacheBudget(0), say: () => undefined });
  t.after(() => stores.close(false).catch(() => undefined));
  fullDiskAhead(storeDir(stateDir, wordcount.name, taskId, 'word-counts'));

  // The engine takes every task's `landed` only once all their persist() calls have resolved, and
  // one of them may wait for the log (its changelog's end, for a checkpoint) meanwhile.
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const counts = stores.typed.get('word-counts')!;
  let failure: Error | undefined;
  for (let i = 0; i < 200 && failure === undefined; i++) {
    counts.put(`${i}-${'w'.repeat(64 << 10)}`, i);
    stores.flush();
    const { landed } = await stores.persist();
    await new Promise((r) => setTimeout(r, 50));
    failure = await landed.then(() => undefined, (e: unknown) => e as Error);
  }
  assert.ok(failure, 'the writes should have failed on the full disk');
  assert.match(failure.message, /No space left on device/);
  assert.deepEqual(unhandled, []);
});
