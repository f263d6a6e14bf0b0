import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tpKey } from '../../../engine/api/log.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { partitionForKey } from '../../../engine/log/partitioner.js';
import { buf, rec, recordingListener, values } from './helpers.js';

// Every behaviour holds for both variants: the test runner's in-memory log and the persisted one.
const variants: [string, () => Promise<EmbeddedLog>][] = [['in memory', async () => EmbeddedLog.inMemory()]];
let root = '';
let n = 0;
variants.push(['persisted', async () => EmbeddedLog.open(join(root, `log-${n++}`))]);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'duality-log-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A promise, and whether it has settled yet. */
function watch<T>(promise: Promise<T>): { promise: Promise<T>; settled: boolean } {
  const w = { promise, settled: false };
  promise.then(
    () => (w.settled = true),
    () => (w.settled = true),
  );
  return w;
}

/** Lets every callback already due run: promise reactions, and I/O callbacks that have arrived. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

for (const [variant, make] of variants) {
  describe(`EmbeddedLog (${variant})`, () => {
    async function withLog(fn: (log: EmbeddedLog) => Promise<void>, topics = [{ name: 't', partitions: 1 }]): Promise<void> {
      const log = await make();
      try {
        await log.createTopics(topics);
        await fn(log);
      } finally {
        await log.close();
      }
    }

    it('shows records only once they are flushed, in send order', () =>
      withLog(async (log) => {
        const producer = log.producer();
        producer.send([rec('t', 'a', '1'), rec('t', 'b', '2')]);
        producer.send([rec('t', 'c', '3', { headers: { h: buf('x') }, timestamp: 42 })]);
        assert.deepEqual(await log.read({ topic: 't', partition: 0 }, 0, 10), []);
        assert.deepEqual(await log.endOffsets('t'), [0]);
        const acked = await producer.flush();
        assert.deepEqual(acked.map((a) => a.offset), [0, 1, 2]);
        const records = await log.read({ topic: 't', partition: 0 }, 0, 10);
        assert.deepEqual(values(records), ['1', '2', '3']);
        assert.deepEqual(records.map((r) => r.offset), [0, 1, 2]);
        assert.equal(records[2]?.timestamp, 42);
        assert.equal(records[2]?.headers.h?.toString(), 'x');
        assert.deepEqual(await log.endOffsets('t'), [3]);
        assert.deepEqual(values(await log.read({ topic: 't', partition: 0 }, 1, 1)), ['2']);
      }));

    it('partitions keyed records as Kafka does and keyless ones round-robin', () =>
      withLog(
        async (log) => {
          const producer = log.producer();
          const keys = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
          producer.send(keys.map((k) => rec('t4', k, k)));
          producer.send([rec('t4', null, 'n0'), rec('t4', null, 'n1'), rec('t4', 'alice', 'explicit', { partition: 3 })]);
          const acked = await producer.flush();
          keys.forEach((k, i) => assert.equal(acked[i]?.partition, partitionForKey(buf(k), 4), k));
          assert.deepEqual(acked.slice(6).map((a) => a.partition), [0, 1, 3]);
          for (let p = 0; p < 4; p++) {
            const here = keys.filter((k) => partitionForKey(buf(k), 4) === p);
            const got = values(await log.read({ topic: 't4', partition: p }, 0, 100)).filter((v) => here.includes(v ?? ''));
            assert.deepEqual(got, here, `partition ${p} keeps send order`);
          }
        },
        [{ name: 't4', partitions: 4 }],
      ));

    it('refuses to produce to a topic that does not exist, naming it', () =>
      withLog(async (log) => {
        const producer = log.producer();
        assert.throws(() => producer.send([rec('t', 'a', 'ok'), rec('nope', 'a', 'b')]), /cannot produce to topic "nope": it does not exist/);
        assert.throws(() => producer.send([rec('t', 'a', 'b', { partition: 5 })]), /partition 5 of topic "t": it has partitions 0\.\.0/);
        assert.deepEqual(await producer.flush(), [], 'a refused batch leaves nothing behind');
        await assert.rejects(log.read({ topic: 'nope', partition: 0 }, 0, 1), /topic "nope": it does not exist/);
        await assert.rejects(log.endOffsets('nope'), /"nope"/);
      }));

    it('creates topics once, reports partitions, deletes them', () =>
      withLog(async (log) => {
        await log.createTopics([{ name: 'x', partitions: 3 }, { name: 'x', partitions: 3 }, { name: 't', partitions: 9 }]);
        assert.equal(await log.partitions('x'), 3);
        assert.equal(await log.partitions('t'), 1, 'an existing topic is left as it is');
        assert.equal(await log.partitions('missing'), undefined);
        await assert.rejects(log.createTopics([{ name: '../evil', partitions: 1 }]), /not a valid topic name/);
        await assert.rejects(log.createTopics([{ name: 'zero', partitions: 0 }]), /positive whole number of partitions/);
        const producer = log.producer();
        producer.send([rec('x', 'k', 'old')]);
        await producer.flush();
        await log.deleteTopics(['x', 'never-existed']);
        assert.equal(await log.partitions('x'), undefined);
        await log.createTopics([{ name: 'x', partitions: 2 }]);
        assert.deepEqual(await log.endOffsets('x'), [0, 0], 'a re-created topic starts empty');
      }));

    it('gives the one consumer of a group every partition, starting at the committed offset', () =>
      withLog(
        async (log) => {
          const producer = log.producer();
          producer.send([0, 1, 2, 3, 4].map((i) => rec('t2', null, `v${i}`)));
          await producer.flush();
          const listener = recordingListener();
          const consumer = log.consumer('app');
          await consumer.subscribe(['t2'], listener);
          assert.deepEqual(listener.assigned, [[{ topic: 't2', partition: 0 }, { topic: 't2', partition: 1 }]]);
          assert.deepEqual(values(await consumer.poll(100, 0)).sort(), ['v0', 'v1', 'v2', 'v3', 'v4']);
          assert.deepEqual(await consumer.poll(100, 0), []);
          await consumer.commit(new Map([['t2:0', 2], ['t2:1', 1]]));
          assert.equal(await consumer.committed({ topic: 't2', partition: 0 }), 2);
          await consumer.close();
          assert.deepEqual(listener.revoked, listener.assigned, 'close revokes the assignment');

          const again = log.consumer('app');
          await again.subscribe(['t2'], recordingListener());
          // Round-robin put v0, v2, v4 in partition 0 and v1, v3 in partition 1.
          assert.deepEqual(values(await again.poll(100, 0)).sort(), ['v3', 'v4']);
          const other = log.consumer('other-app');
          await other.subscribe(['t2'], recordingListener());
          assert.equal((await other.poll(100, 0)).length, 5, 'another group reads from the start');
          await assert.rejects(log.consumer('app').subscribe(['t2'], recordingListener()), /already has a consumer/);
          await again.close();
          await other.close();
        },
        [{ name: 't2', partitions: 2 }],
      ));

    it('polls fairly across partitions, in offset order within each', () =>
      withLog(
        async (log) => {
          const producer = log.producer();
          for (let i = 0; i < 30; i++) producer.send([rec('t3', null, `p${i % 3}-${Math.floor(i / 3)}`, { partition: i % 3 })]);
          await producer.flush();
          const consumer = log.consumer('g');
          await consumer.subscribe(['t3'], recordingListener());
          const first = await consumer.poll(6, 0);
          assert.equal(first.length, 6);
          assert.deepEqual(new Set(first.map((r) => r.partition)), new Set([0, 1, 2]), 'every partition gets a share');
          const all = [...first];
          for (let batch = await consumer.poll(7, 0); batch.length > 0; batch = await consumer.poll(7, 0)) all.push(...batch);
          for (let p = 0; p < 3; p++) {
            assert.deepEqual(all.filter((r) => r.partition === p).map((r) => r.offset), [...Array(10).keys()]);
          }
          await consumer.close();
        },
        [{ name: 't3', partitions: 3 }],
      ));

    it('waits in poll until a flush makes records visible; other topics\' flushes do not end the wait', () =>
      withLog(
        async (log) => {
          const consumer = log.consumer('g');
          await consumer.subscribe(['t'], recordingListener());
          // A timeout no run of this test reaches: the poll must end because of what happens to the log.
          const polled = watch(consumer.poll(10, 600_000));
          const producer = log.producer();
          producer.send([rec('t', 'k', 'late')]);
          await settle();
          assert.equal(polled.settled, false, 'a record sent but not flushed is not visible');
          const another = log.producer();
          another.send([rec('other', 'k', 'elsewhere')]);
          await another.flush();
          await settle();
          assert.equal(polled.settled, false, 'a flush that holds nothing for the poll wakes it only to wait again');
          await producer.flush();
          await settle();
          assert.equal(polled.settled, true, 'the flush ended the wait');
          assert.deepEqual(values(await polled.promise), ['late']);
          assert.deepEqual(await consumer.poll(10, 50), [], 'an empty poll ends at its timeout, with nothing');
          const waiting = watch(consumer.poll(10, 600_000));
          await consumer.close();
          await settle();
          assert.equal(waiting.settled, true, 'closing ends a waiting poll');
          assert.deepEqual(await waiting.promise, []);
        },
        [{ name: 't', partitions: 1 }, { name: 'other', partitions: 1 }],
      ));

    it('pauses, resumes and seeks partitions', () =>
      withLog(
        async (log) => {
          const producer = log.producer();
          producer.send([rec('t2', null, 'a0', { partition: 0 }), rec('t2', null, 'b0', { partition: 1 }), rec('t2', null, 'a1', { partition: 0 })]);
          await producer.flush();
          const consumer = log.consumer('g');
          await consumer.subscribe(['t2'], recordingListener());
          consumer.pause([{ topic: 't2', partition: 0 }]);
          assert.deepEqual(values(await consumer.poll(10, 0)), ['b0']);
          consumer.resume([{ topic: 't2', partition: 0 }]);
          assert.deepEqual(values(await consumer.poll(10, 0)), ['a0', 'a1']);
          consumer.seek({ topic: 't2', partition: 0 }, 1);
          assert.deepEqual(values(await consumer.poll(10, 0)), ['a1']);
          assert.throws(() => consumer.seek({ topic: 'other', partition: 0 }, 0), /other:0: it is not assigned/);
          assert.deepEqual(consumer.assignment().map(tpKey), ['t2:0', 't2:1']);
          await consumer.close();
        },
        [{ name: 't2', partitions: 2 }],
      ));

    it('commits a transaction\'s records and offsets together, and aborts drop the records', () =>
      withLog(async (log) => {
        await log.createTopics([{ name: 'out', partitions: 1 }]);
        const producer = log.producer({ transactionalId: 'app-0' });
        producer.send([rec('out', 'k', 'dropped')]);
        await producer.abortTransaction();
        producer.send([rec('out', 'k', 'kept')]);
        assert.deepEqual(await producer.flush(), [], 'flush inside a transaction publishes nothing');
        assert.deepEqual(await log.endOffsets('out'), [0]);
        await producer.commitTransaction('app', new Map([['t:0', 7]]));
        assert.deepEqual(values(await log.read({ topic: 'out', partition: 0 }, 0, 10)), ['kept']);
        assert.equal(await log.consumer('app').committed({ topic: 't', partition: 0 }), 7);

        producer.send([rec('out', 'k', 'never')]);
        await assert.rejects(producer.commitTransaction('app', new Map([['missing:0', 1]])), /no such topic partition/);
        assert.deepEqual(await log.endOffsets('out'), [1], 'a failed commit publishes none of its records');
        assert.equal(await log.consumer('app').committed({ topic: 't', partition: 0 }), 7);

        const zombie = producer;
        const successor = log.producer({ transactionalId: 'app-0' });
        zombie.send([rec('out', 'k', 'zombie')]);
        await assert.rejects(zombie.commitTransaction('app', new Map([['t:0', 8]])), {
          message: 'embedded log: producer "app-0" was fenced off by a newer producer with the same transactionalId; its transaction is aborted',
        });
        assert.deepEqual(await log.endOffsets('out'), [1], 'the fenced transaction publishes none of its records');
        assert.equal(await log.consumer('app').committed({ topic: 't', partition: 0 }), 7, 'nor its offsets');
        successor.send([rec('out', 'k', 'successor')]);
        await successor.commitTransaction('app', new Map([['t:0', 8]]));
        assert.deepEqual(values(await log.read({ topic: 'out', partition: 0 }, 0, 10)), ['kept', 'successor']);
      }));

    it('serialises concurrent flushes of several producers', () =>
      withLog(async (log) => {
        const producers = [log.producer(), log.producer(), log.producer()];
        const flushes = producers.map((p, i) => {
          p.send([...Array(100).keys()].map((j) => rec('t', null, `${i}-${j}`)));
          return p.flush();
        });
        const acked = await Promise.all(flushes);
        const offsets = acked.flat().map((a) => a.offset).sort((a, b) => a - b);
        assert.deepEqual(offsets, [...Array(300).keys()], 'no offset given twice');
        const records = values(await log.read({ topic: 't', partition: 0 }, 0, 1000));
        acked.forEach((list, i) => list.forEach((a, j) => assert.equal(records[a.offset], `${i}-${j}`)));
        assert.deepEqual(records.slice(0, 100), [...Array(100).keys()].map((j) => `0-${j}`), 'flushes land whole, in call order');
      }));

    it('is unusable after close', async () => {
      const log = await make();
      await log.close();
      await assert.rejects(log.createTopics([{ name: 'x', partitions: 1 }]), /is closed/);
      assert.throws(() => log.producer(), /is closed/);
    });
  });
}
