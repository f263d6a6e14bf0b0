/**
 * KafkaLog against the real broker (npm run kafka:start): the Log contract of engine/api/log.ts as
 * the engine relies on it: admin, produce, poll, read, transactions. Group behaviour (commits,
 * rebalances, pause and seek) is in kafka-group.test.ts. Topics are unique per run, deleted at the end.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import kafkajs from '../../engine/kafka/kafkajs.js';
import type { LogRecord, ProducedRecord } from '../../engine/api/log.js';
import { partitionForKey } from '../../engine/log/partitioner.js';
import { brokerTest, BROKERS, buf, connectBroker, Fixture, pollUntil, unique, until } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('duality-kafka-log-test');
const fx = new Fixture(broker);
const topic = (what: string, partitions: number): Promise<string> => fx.topic(what, partitions);
const subscribe = fx.subscribe.bind(fx);

describe('KafkaLog on the broker', { timeout: 120_000 }, () => {
  after(() => fx.cleanup());

  test("keyed records go where Kafka's Java client puts them: kafkajs's DefaultPartitioner, not the Legacy one", () => {
    const meta = [0, 1, 2, 3, 4, 5, 6].map((partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
    const pick = (p: ReturnType<typeof kafkajs.Partitioners.DefaultPartitioner>, key: string): number => p({ topic: 't', partitionMetadata: meta, message: { key, value: null } });
    const java = kafkajs.Partitioners.DefaultPartitioner();
    const legacy = kafkajs.Partitioners.LegacyPartitioner();
    const keys = ['21', 'foobar', 'abc', 'hello', 'sku-1', 'a-little-bit-long-string', 'zürich', '🙂'];
    for (const k of keys) assert.equal(pick(java, k), partitionForKey(buf(k), 7), k);
    assert.ok(keys.some((k) => pick(legacy, k) !== partitionForKey(buf(k), 7)), 'the legacy partitioner differs');
  });

  brokerTest(missing, 'createTopics creates only missing topics with their cleanup.policy; partitions, endOffsets, deleteTopics', async () => {
    const { log, admin } = broker!;
    const plain = unique('plain');
    const compacted = unique('compacted');
    const third = unique('third');
    for (const t of [plain, compacted, third]) fx.track(t);
    await log.createTopics([{ name: plain, partitions: 3 }, { name: compacted, partitions: 2, cleanupPolicy: 'compact' }]);
    assert.equal(await log.partitions(plain), 3);
    assert.equal(await log.partitions(compacted), 2);
    assert.equal(await log.partitions(unique('missing')), undefined);
    assert.deepEqual(await log.endOffsets(plain), [0, 0, 0]);
    await assert.rejects(log.endOffsets(unique('missing')), /does not exist/);

    // An existing topic is left as it is (no error, no new partitions); the missing one is created.
    await log.createTopics([{ name: plain, partitions: 5 }, { name: third, partitions: 1 }]);
    assert.equal(await log.partitions(plain), 3);
    assert.equal(await log.partitions(third), 1);

    const cfg = await admin.describeConfigs({ resources: [compacted, plain].map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })), includeSynonyms: false });
    const policy = (t: string): string | undefined => cfg.resources.find((r) => r.resourceName === t)?.configEntries[0]?.configValue;
    assert.equal(policy(compacted), 'compact');
    assert.equal(policy(plain), 'delete');

    await log.deleteTopics([third, unique('never-created')]);
    await until(async () => (await log.partitions(third)) === undefined, () => `${third} to be gone`);

    // A topic the log knew, deleted by someone else, must not break what the log does next.
    assert.deepEqual(await log.endOffsets(compacted), [0, 0]);
    await admin.deleteTopics({ topics: [compacted] });
    await until(async () => (await log.partitions(compacted)) === undefined, () => `${compacted} to be gone`);
    const fourth = unique('fourth');
    fx.track(fourth);
    await log.createTopics([{ name: fourth, partitions: 2 }]);
    assert.deepEqual(await log.endOffsets(fourth), [0, 0]);
    assert.deepEqual(await log.endOffsets(plain), [0, 0, 0]);
  });

  brokerTest(missing, 'flush answers each offset in send order; a group member polls every record with its key, value and place', async () => {
    const { log } = broker!;
    const t = await topic('flush', 3);
    const producer = log.producer();
    const records: ProducedRecord[] = Array.from({ length: 30 }, (_, i) => ({ topic: t, key: buf(`k${i % 7}`), value: buf(`v${i}`), timestamp: 1000 + i }));
    producer.send(records);
    const acks = await producer.flush();
    await producer.close();
    assert.equal(acks.length, 30);
    records.forEach((r, i) => assert.equal(acks[i]!.partition, partitionForKey(r.key!, 3), `record ${i} by its key's murmur2`));
    for (const p of [0, 1, 2]) {
      const offsets = acks.filter((a) => a.partition === p).map((a) => a.offset);
      assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${p}: consecutive offsets in send order`);
    }
    assert.equal((await log.endOffsets(t)).reduce((a, b) => a + b), 30);

    const events: string[] = [];
    const c = await subscribe(unique('flush-g'), [t], events);
    assert.deepEqual(events, [`assigned ${t}:0 ${t}:1 ${t}:2`], 'subscribe returns after onAssigned for every partition');
    const got = await pollUntil(c, 30, 7, 300);
    assert.equal(got.length, 30, 'each record once');
    for (const r of got) {
      const i = Number(r.value!.toString().slice(1));
      assert.deepEqual([r.partition, r.offset, r.key!.toString(), r.timestamp], [acks[i]!.partition, acks[i]!.offset, `k${i % 7}`, 1000 + i]);
    }
    await c.close();
    assert.deepEqual(events.at(-1), `revoked ${t}:0 ${t}:1 ${t}:2`, 'close revokes everything');
  });

  brokerTest(missing, 'records go out in the background in send order; once a send fails, none after it is written', async () => {
    const { log } = broker!;
    const t = await topic('early', 2);
    const producer = log.producer();
    // 2,500 records, one send each, in bursts: requests leave while later records are still being sent.
    const records: ProducedRecord[] = Array.from({ length: 2500 }, (_, i) => ({ topic: t, key: null, value: buf(`v${i}`), timestamp: i, partition: i % 2 }));
    for (const [i, r] of records.entries()) {
      producer.send([r]);
      if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
    const acks = await producer.flush();
    assert.deepEqual(acks.map((a) => `${a.partition}@${a.offset}`), records.map((_, i) => `${i % 2}@${Math.floor(i / 2)}`));

    // A send to a partition the topic lacks fails; what is sent after it must not overtake it.
    for (let i = 0; i < 10; i++) producer.send([{ topic: t, key: null, value: buf('bad'), timestamp: 0, partition: 9 }]);
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 1500; i++) producer.send([{ topic: t, key: null, value: buf('after'), timestamp: 0, partition: 0 }]);
    await assert.rejects(producer.flush(), /cannot produce to partition 9/);
    producer.send([{ topic: t, key: null, value: buf('later'), timestamp: 0, partition: 1 }]);
    await assert.rejects(producer.flush(), /cannot produce to partition 9/, 'the producer stays failed: the engine replaces it');
    await producer.close();
    assert.deepEqual(await log.endOffsets(t), [1250, 1250]);
  });

  brokerTest(missing, 'headers, timestamps (0 too), null and empty keys and values come back as sent, by poll and by read', async () => {
    const { log } = broker!;
    const t = await topic('shapes', 1);
    const sent: ProducedRecord[] = [
      { topic: t, key: null, value: buf('no key'), timestamp: 0, headers: { h: buf('x'), bin: Buffer.from([0, 255, 7]) } },
      { topic: t, key: buf('tombstone'), value: null, timestamp: 1_600_000_000_123 },
      { topic: t, key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: 5, headers: {} },
    ];
    const p = log.producer();
    p.send(sent);
    await p.flush();
    await p.close();
    const shape = (r: LogRecord): unknown => [r.key?.toString('hex') ?? null, r.value?.toString('hex') ?? null, r.timestamp, Object.entries(r.headers).map(([k, v]) => `${k}=${v.toString('hex')}`)];
    const expected = sent.map((r, offset) => shape({ ...r, partition: 0, offset, headers: r.headers ?? {} }));
    const c = await subscribe(unique('shapes-g'), [t]);
    assert.deepEqual((await pollUntil(c, 3)).map(shape), expected);
    assert.deepEqual((await log.read({ topic: t, partition: 0 }, 0, 10)).map(shape), expected);
  });

  brokerTest(missing, 'read: a partition from any offset; [] at its end; only committed transactions', async () => {
    const { log } = broker!;
    const t = await topic('read', 2);
    const p = log.producer();
    p.send(Array.from({ length: 100 }, (_, i) => ({ topic: t, partition: 1, key: null, value: buf(`${i}`), timestamp: i })));
    await p.flush();
    await p.close();
    const tp = { topic: t, partition: 1 };
    const offsets = (rs: LogRecord[]): number[] => rs.map((r) => r.offset);
    const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
    assert.deepEqual(offsets(await log.read(tp, 40, 25)), range(40, 65));
    assert.deepEqual(offsets(await log.read(tp, 65, 1000)), range(65, 100));
    // How fast these answer is measured by `npm run bench -- kafka-read`.
    assert.deepEqual(await log.read(tp, 100, 10), []);
    assert.deepEqual(await log.read({ topic: t, partition: 0 }, 0, 10), [], 'an empty partition');
    assert.deepEqual(offsets(await log.read(tp, 3, 4)), range(3, 7), 'going back opens a new reader');

    // Transactions written by kafkajs itself: committed, aborted (on the broker), committed.
    const tx = unique('read-tx');
    await log.createTopics([{ name: tx, partitions: 1 }]);
    fx.track(tx);
    const kp = new kafkajs.Kafka({ clientId: 'duality-test-tx', brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).producer({ transactionalId: unique('tx-id'), idempotent: true, maxInFlightRequests: 1 });
    await kp.connect();
    for (const [values, commit] of [[['c1', 'c2', 'c3'], true], [['a1', 'a2'], false], [['c4'], true]] as const) {
      const txn = await kp.transaction();
      await txn.send({ topic: tx, messages: values.map((value) => ({ value })) });
      await (commit ? txn.commit() : txn.abort());
    }
    await kp.disconnect();
    // As a restore reads: small batches from 0 until the end offset, or until nothing is left.
    const end = (await log.endOffsets(tx))[0]!;
    const values: string[] = [];
    for (let offset = 0; offset < end; ) {
      const batch = await log.read({ topic: tx, partition: 0 }, offset, 2);
      if (batch.length === 0) break;
      values.push(...batch.map((r) => r.value!.toString()));
      offset = batch.at(-1)!.offset + 1;
    }
    assert.deepEqual(values, ['c1', 'c2', 'c3', 'c4'], 'aborted records and transaction markers are skipped');
  });

  brokerTest(missing, 'exactly-once producer: records and the group offsets become visible together; an abort drops them', async () => {
    const { log, admin } = broker!;
    const t = await topic('eos', 1);
    const group = unique('eos-g');
    fx.trackGroup(group);
    const p = log.producer({ transactionalId: unique('eos-id') });
    p.send([{ topic: t, key: buf('k'), value: buf('dropped'), timestamp: 1 }]);
    await p.abortTransaction();
    p.send([{ topic: t, key: buf('k'), value: buf('kept'), timestamp: 2 }]);
    assert.deepEqual(await p.flush(), [], 'a transactional flush publishes nothing');
    await p.commitTransaction(group, new Map([[`${t}:0`, 7]]));
    await p.close();
    assert.deepEqual((await log.read({ topic: t, partition: 0 }, 0, 10)).map((r) => r.value!.toString()), ['kept']);
    // kafkajs's OffsetFetch does not ask for stable offsets: the commit shows a moment later.
    await until(async () => (await admin.fetchOffsets({ groupId: group, topics: [t] }))[0]?.partitions[0]?.offset === '7', () => 'the offset sent in the transaction');
  });

  brokerTest(missing, 'back-pressure: polling 10,000 records in small batches loses and reorders none', async () => {
    const { log } = broker!;
    const t = await topic('pressure', 4);
    const p = log.producer();
    p.send(Array.from({ length: 10_000 }, (_, i) => ({ topic: t, partition: i % 4, key: null, value: buf(`${i}`.repeat(20)), timestamp: i })));
    await p.flush();
    await p.close();
    const c = await subscribe(unique('pressure-g'), [t]);
    const got: LogRecord[] = [];
    for (let polls = 0; got.length < 10_000; polls++) {
      got.push(...(await c.poll(37, 200)));
      // A slow engine now and then: kafkajs must wait (heartbeating), not drop or run ahead.
      if (polls % 50 === 0) await new Promise((r) => setTimeout(r, 30));
      assert.ok(polls < 5000, `stuck at ${got.length} records`);
    }
    got.push(...(await c.poll(100, 300)));
    for (const part of [0, 1, 2, 3]) {
      const offsets = got.filter((r) => r.partition === part).map((r) => r.offset);
      assert.equal(offsets.length, 2500, `partition ${part}: every record exactly once`);
      assert.ok(offsets.every((o, i) => o === i), `partition ${part}: in offset order`);
    }
  });
  brokerTest(missing, "records past a topic's max.message.bytes: one too large alone is refused at send (RecordTooLargeError), one that fits alone gets a batch of its own", async () => {
    const { log } = broker!;
    const t = await topic('too-large', 1);
    await log.learnRecordLimits!([t]);
    const p = log.producer();
    try {
      // The broker's default limit is about 1 MB: 2 MB is refused at once, and nothing of it is sent.
      assert.throws(() => p.send([{ topic: t, key: buf('big'), value: Buffer.alloc(2_000_000), timestamp: 1 }]), (e: Error & { code?: string }) => e.code === 'RECORD_TOO_LARGE' && e.message.includes(t));
      // 200 KB leaves its batch open (batches close at 256 KB), then 900 KB: each fits alone, together
      // they would not, and the broker refused their one batch whole.
      p.send([200_000, 900_000].map((n, i) => ({ topic: t, key: buf(`part-${i}`), value: Buffer.alloc(n, i), timestamp: 2 })));
      await p.flush();
    } finally {
      await p.close();
    }
    const got: LogRecord[] = [];
    for (let batch: LogRecord[]; (batch = await log.read({ topic: t, partition: 0 }, got.length, 10)).length > 0; ) got.push(...batch);
    assert.deepEqual(got.map((r) => [r.key?.toString(), r.value?.length]), [['part-0', 200_000], ['part-1', 900_000]]);
  });
});
