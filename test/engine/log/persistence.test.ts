import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { buf, rec, recordingListener, values, withTempDir } from './helpers.js';

const segment = (dir: string, topic: string, partition: number): string => join(dir, 'topics', topic, `${partition}.log`);

async function fill(dir: string, vals: string[]): Promise<void> {
  const log = await EmbeddedLog.open(dir);
  await log.createTopics([{ name: 't', partitions: 1 }]);
  const producer = log.producer();
  producer.send(vals.map((v) => rec('t', 'k', v)));
  await producer.flush();
  await log.close();
}

async function readAll(dir: string, topic = 't'): Promise<(string | null)[]> {
  const log = await EmbeddedLog.open(dir);
  try {
    return values(await log.read({ topic, partition: 0 }, 0, 1_000_000));
  } finally {
    await log.close();
  }
}

describe('EmbeddedLog persistence', () => {
  it('keeps topics, records and committed offsets across close and reopen', () =>
    withTempDir(async (dir) => {
      const log = await EmbeddedLog.open(dir);
      await log.createTopics([{ name: 'orders', partitions: 2, cleanupPolicy: 'compact' }]);
      const producer = log.producer();
      producer.send([
        rec('orders', 'a', '1', { partition: 0, headers: { source: buf('web') }, timestamp: 1700000000000 }),
        rec('orders', null, null, { partition: 1 }),
      ]);
      await producer.flush();
      const consumer = log.consumer('app');
      await consumer.subscribe(['orders'], recordingListener());
      await consumer.commit(new Map([['orders:0', 1]]));
      await consumer.close();
      await log.close();

      const again = await EmbeddedLog.open(dir);
      assert.equal(again.description, `embedded (${dir})`);
      assert.equal(await again.partitions('orders'), 2);
      const [r] = await again.read({ topic: 'orders', partition: 0 }, 0, 10);
      assert.equal(r?.key?.toString(), 'a');
      assert.equal(r?.timestamp, 1700000000000);
      assert.equal(r?.headers.source?.toString(), 'web');
      const [tombstone] = await again.read({ topic: 'orders', partition: 1 }, 0, 10);
      assert.equal(tombstone?.value, null);
      const resumed = again.consumer('app');
      assert.equal(await resumed.committed({ topic: 'orders', partition: 0 }), 1);
      await resumed.subscribe(['orders'], recordingListener());
      assert.deepEqual((await resumed.poll(10, 0)).map((x) => x.partition), [1], 'reading resumes at the committed offset');
      // Appending after a reopen continues the same files.
      const producer2 = again.producer();
      producer2.send([rec('orders', 'b', '2', { partition: 0 })]);
      assert.deepEqual(await producer2.flush(), [{ topic: 'orders', partition: 0, offset: 1 }]);
      await again.close();
      assert.equal((await EmbeddedLog.open(dir).then(async (l) => [await l.endOffsets('orders'), await l.close()]))[0]?.toString(), '2,1');
    }));

  it('cuts off bytes appended after the last manifest (a crash before the commit point)', () =>
    withTempDir(async (dir) => {
      await fill(dir, ['one', 'two']);
      const committed = (await stat(segment(dir, 't', 0))).size;
      await appendFile(segment(dir, 't', 0), Buffer.from([0, 0, 0, 40, 1, 2, 3]));
      assert.deepEqual(await readAll(dir), ['one', 'two']);
      assert.equal((await stat(segment(dir, 't', 0))).size, committed, 'the partial record is gone from the file');
      await fill(dir, ['three']);
      assert.deepEqual(await readAll(dir), ['one', 'two', 'three']);
    }));

  it('forgets a whole flush, records and offsets, whose manifest never landed', () =>
    withTempDir(async (dir) => {
      await fill(dir, ['kept']);
      const before = await readFile(join(dir, 'manifest.json'));
      // Everything of the next transaction reaches the disk except the manifest replacement.
      const log = await EmbeddedLog.open(dir);
      const producer = log.producer({ transactionalId: 'x' });
      producer.send([rec('t', 'k', 'lost-1'), rec('t', 'k', 'lost-2')]);
      await producer.commitTransaction('app', new Map([['t:0', 1]]));
      await log.close();
      await writeFile(join(dir, 'manifest.json'), before);

      const again = await EmbeddedLog.open(dir);
      assert.deepEqual(values(await again.read({ topic: 't', partition: 0 }, 0, 10)), ['kept']);
      assert.equal(await again.consumer('app').committed({ topic: 't', partition: 0 }), undefined);
      await again.close();
    }));

  it('refuses to open when the disk lost committed bytes', () =>
    withTempDir(async (dir) => {
      await fill(dir, ['one', 'two']);
      await truncate(segment(dir, 't', 0), 5);
      await assert.rejects(EmbeddedLog.open(dir), /holds 5 bytes but \d+ bytes were committed; the disk lost acknowledged data; nothing was changed\. To recover, /);
      await assert.rejects(EmbeddedLog.open(dir), /holds 5 bytes/, 'the failed open released its lock');
      await rm(segment(dir, 't', 0));
      await assert.rejects(EmbeddedLog.open(dir), /0\.log is missing but \d+ bytes were committed/);
    }));

  it('refuses records the manifest does not list (an older manifest put back), and changes nothing', () =>
    withTempDir(async (dir) => {
      await fill(dir, ['one']);
      const older = await readFile(join(dir, 'manifest.json'));
      const log = await EmbeddedLog.open(dir);
      await log.createTopics([{ name: 'later', partitions: 1 }]);
      const producer = log.producer();
      producer.send([rec('later', 'k', 'kept'), rec('t', 'k', 'two')]);
      await producer.flush();
      await log.close();
      const before = await Promise.all([segment(dir, 't', 0), segment(dir, 'later', 0)].map((f) => readFile(f)));
      await writeFile(join(dir, 'manifest.json'), older);

      await assert.rejects(EmbeddedLog.open(dir), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'DAMAGED');
        assert.match(e.message, /manifest\.json does not list records on disk \(topics\/later\/0\.log: \d+ bytes, topic "later" is not in it\).*nothing was changed\. To recover, put back the manifest\.json that lists them/);
        return true;
      });
      assert.deepEqual(await Promise.all([segment(dir, 't', 0), segment(dir, 'later', 0)].map((f) => readFile(f))), before);
    }));

  it('finishes a delete a crash cut short: the deleted topic\'s files go, and nothing of it comes back', () =>
    withTempDir(async (dir) => {
      await fill(dir, ['gone']);
      const kept = await readFile(segment(dir, 't', 0));
      const log = await EmbeddedLog.open(dir);
      await log.deleteTopics(['t']);
      await log.close();
      // The manifest without the topic landed; the process died before its files were removed.
      await mkdir(join(dir, 'topics', 't'));
      await writeFile(segment(dir, 't', 0), kept);

      const again = await EmbeddedLog.open(dir);
      assert.equal(await again.partitions('t'), undefined);
      await assert.rejects(stat(join(dir, 'topics', 't')), /ENOENT/);
      await again.createTopics([{ name: 't', partitions: 1 }]);
      assert.deepEqual(await again.endOffsets('t'), [0]);
      await again.close();
    }));

  it('starts empty in a directory with no manifest and only empty segment files (a first start cut short)', () =>
    withTempDir(async (dir) => {
      await mkdir(join(dir, 'topics', 't'), { recursive: true });
      await writeFile(segment(dir, 't', 0), '');
      const log = await EmbeddedLog.open(dir);
      assert.equal(await log.partitions('t'), undefined);
      await log.createTopics([{ name: 't', partitions: 1 }]);
      await log.close();
      assert.deepEqual(await readAll(dir), []);
    }));

  it('keeps a deleted topic deleted, with its offsets', () =>
    withTempDir(async (dir) => {
      await fill(dir, ['x']);
      const log = await EmbeddedLog.open(dir);
      await log.consumer('app').commit(new Map([['t:0', 1]]));
      await log.deleteTopics(['t']);
      await log.close();
      const again = await EmbeddedLog.open(dir);
      assert.equal(await again.partitions('t'), undefined);
      await again.createTopics([{ name: 't', partitions: 1 }]);
      assert.deepEqual(await again.endOffsets('t'), [0]);
      assert.equal(await again.consumer('app').committed({ topic: 't', partition: 0 }), undefined);
      await again.close();
    }));
});
