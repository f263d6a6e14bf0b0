/**
 * kafkajs 2.2.4 against the real broker of kafka/start.sh: every Kafka feature the engine relies
 * on, one test each, so that a broker upgrade that breaks the client shows up here by name.
 *
 * Needs the broker: `npm run kafka:start` (127.0.0.1:9092; KAFKA_BROKERS overrides). Without it
 * every test here FAILS, in CI and locally alike: it is never skipped.
 *
 * Topics are named per run (duality-compat-<run>-...) and deleted at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test as nodeTest } from 'node:test';
import kafkajs from '../../engine/kafka/kafkajs.js';
import type { Admin, Consumer, EachMessagePayload, Kafka as KafkaClient, Producer } from 'kafkajs';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const RUN = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const name = (what: string): string => `duality-compat-${RUN}-${what}`;
const TIMEOUT = 30_000;

const kafka: KafkaClient = new Kafka({
  clientId: 'duality-kafkajs-compat',
  brokers: BROKERS,
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 10_000,
  retry: { retries: 3, initialRetryTime: 200 },
});

let admin: Admin;
const created = new Set<string>();
const open: Array<{ disconnect(): Promise<void> }> = [];

function track<T extends { disconnect(): Promise<void> }>(client: T): T {
  open.push(client);
  return client;
}

async function createTopics(topics: Array<{ topic: string; numPartitions?: number; configEntries?: Array<{ name: string; value: string }> }>): Promise<void> {
  const ok = await admin.createTopics({ topics: topics.map((t) => ({ numPartitions: 1, ...t })), waitForLeaders: true, timeout: TIMEOUT });
  assert.equal(ok, true, 'createTopics: the topics already existed');
  for (const t of topics) created.add(t.topic);
}

function consumer(groupId: string, opts: { readUncommitted?: boolean } = {}): Consumer {
  return track(
    kafka.consumer({
      groupId,
      readUncommitted: opts.readUncommitted ?? false,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 300,
      maxWaitTimeInMs: 200,
      retry: { retries: 3, initialRetryTime: 200 },
    }),
  );
}

function producer(opts: { idempotent?: boolean; transactionalId?: string } = {}): Producer {
  return track(
    kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: (opts.idempotent ?? false) || opts.transactionalId !== undefined,
      ...(opts.transactionalId ? { transactionalId: opts.transactionalId } : {}),
      ...(opts.idempotent || opts.transactionalId ? { maxInFlightRequests: 1 } : {}),
    }),
  );
}

interface Got {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/**
 * Subscribes from the beginning and resolves once `n` records arrived; with `settle`, only after
 * three more fetches, so that extras that should not come would have come.
 */
async function consumeN(c: Consumer, topic: string, n: number, settle = false): Promise<Got[]> {
  const got: Got[] = [];
  let done!: () => void;
  const enough = new Promise<void>((r) => (done = r));
  let fetches = 0;
  c.on(c.events.FETCH, () => void fetches++);
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({
    eachMessage: async ({ partition, message }: EachMessagePayload) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      got.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
      if (got.length >= n) done();
    },
  });
  await withTimeout(enough, TIMEOUT, () => `consumed ${got.length} of ${n} records from ${topic}`);
  const seen = fetches;
  if (settle) await until(() => fetches >= seen + 3, `three more fetches of ${topic}`);
  return got;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = TIMEOUT): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function committed(groupId: string, topic: string): Promise<Map<number, string>> {
  const res = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((res.find((r) => r.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]));
}

/**
 * Asked once, before the tests: a missing broker then fails each test at once with the reason
 * (counted as failures, in CI and locally), instead of timing out or being cancelled.
 */
async function probeBroker(): Promise<string | undefined> {
  admin = kafka.admin();
  try {
    await withTimeout(
      (async () => {
        await admin.connect();
        await admin.describeCluster();
      })(),
      10_000,
      () => 'describeCluster',
    );
    return undefined;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    await admin.disconnect().catch(() => {});
    return (
      `no Kafka broker answers on ${BROKERS.join(',')} (${why}): start it with npm run kafka:start` +
      (process.env.CI === 'true' ? ' (CI: these tests need the broker and are never skipped)' : '')
    );
  }
}
const brokerMissing = await probeBroker();

/** Like node:test's test(), failing at once when the broker is missing. */
function test(title: string, fn: () => Promise<void>): void {
  nodeTest(title, async () => {
    if (brokerMissing) assert.fail(brokerMissing);
    await fn();
  });
}

describe('kafkajs against the Kafka broker', { timeout: 240_000 }, () => {
  after(async () => {
    for (const c of open.reverse()) await c.disconnect().catch(() => {});
    if (!brokerMissing) {
      const left = [...created];
      if (left.length > 0) await admin.deleteTopics({ topics: left, timeout: TIMEOUT }).catch(() => {});
    }
    await admin.disconnect().catch(() => {});
  });

  test('admin: createTopics (plain and compacted), fetchTopicMetadata, describeConfigs, listTopics', async () => {
    const plain = name('plain');
    const compacted = name('compacted');
    await createTopics([
      { topic: plain, numPartitions: 3 },
      { topic: compacted, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.compaction.lag.ms', value: '0' }] },
    ]);

    const listed = await admin.listTopics();
    assert.ok(listed.includes(plain) && listed.includes(compacted), 'listTopics shows both topics');

    const meta = await admin.fetchTopicMetadata({ topics: [plain, compacted] });
    const parts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    assert.equal(parts.get(plain), 3);
    assert.equal(parts.get(compacted), 2);
    for (const t of meta.topics) for (const p of t.partitions) assert.ok(p.leader >= 0, `${t.name}/${p.partitionId} has a leader`);

    const cfg = await admin.describeConfigs({
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: compacted, configNames: ['cleanup.policy'] },
        { type: ConfigResourceTypes.TOPIC, name: plain, configNames: ['cleanup.policy'] },
      ],
      includeSynonyms: false,
    });
    const policy = (topic: string) =>
      cfg.resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue;
    assert.equal(policy(compacted), 'compact');
    assert.equal(policy(plain), 'delete');

    // The engine must not get a topic it did not create: auto-creation is off on this broker.
    const p = producer();
    await p.connect();
    await assert.rejects(p.send({ topic: name('never-created'), messages: [{ value: 'x' }] }));
  });

  test('produce and consume: keys, values, headers, partitions; keyed records on a compacted topic', async () => {
    const topic = name('pc');
    const compacted = name('pc-compacted');
    await createTopics([{ topic, numPartitions: 3 }, { topic: compacted, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);

    const p = producer();
    await p.connect();
    const sent = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}`, headers: { n: String(i) } }));
    const res = await p.send({ topic, acks: -1, messages: sent });
    assert.ok(res.length > 0 && res.every((r) => r.errorCode === 0));
    await p.send({ topic: compacted, acks: -1, messages: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }, { key: 'b', value: null }] });

    const got = await consumeN(consumer(name('pc-group')), topic, sent.length, true);
    assert.equal(got.length, sent.length, 'each record exactly once');
    assert.deepEqual(got.map((g) => g.value).sort(), sent.map((s) => s.value).sort());
    for (const g of got) assert.equal(g.headers.n, g.value!.slice(1), 'headers come back');
    // Same key, same partition.
    const partOf = new Map<string, number>();
    for (const g of got) {
      if (partOf.has(g.key!)) assert.equal(partOf.get(g.key!), g.partition, `key ${g.key} stays on one partition`);
      partOf.set(g.key!, g.partition);
    }
    // Per partition, offsets increase in the order consumed.
    for (const part of [0, 1, 2]) {
      const offs = got.filter((g) => g.partition === part).map((g) => Number(g.offset));
      assert.deepEqual(offs, [...offs].sort((a, b) => a - b));
    }

    const gotC = await consumeN(consumer(name('pc-compacted-group')), compacted, 3);
    assert.deepEqual(gotC.map((g) => [g.key, g.value]), [['a', '1'], ['a', '2'], ['b', null]], 'a tombstone (null value) comes back as null');
  });

  test('consumer group: two members share the partitions (rebalance), then one leaves', async () => {
    const topic = name('group');
    const groupId = name('group-g');
    await createTopics([{ topic, numPartitions: 4 }]);

    const assigned = new Map<string, number[]>();
    const got = new Map<string, string[]>([['a', []], ['b', []]]);
    const member = async (id: 'a' | 'b') => {
      const c = consumer(groupId);
      c.on(c.events.GROUP_JOIN, (e) => assigned.set(id, [...(e.payload.memberAssignment[topic] ?? [])].sort()));
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void got.get(id)!.push(message.value!.toString()) });
      return c;
    };

    const a = await member('a');
    await until(() => assigned.get('a')?.length === 4, 'member a to get all 4 partitions');
    const b = await member('b');
    await until(
      () => assigned.get('a')?.length === 2 && assigned.get('b')?.length === 2,
      `a rebalance to 2+2 partitions (now a=${JSON.stringify(assigned.get('a'))})`,
    );
    assert.deepEqual([...assigned.get('a')!, ...assigned.get('b')!].sort(), [0, 1, 2, 3], 'each partition to exactly one member');

    const groups = await admin.describeGroups([groupId]);
    assert.equal(groups.groups[0]?.members.length, 2, 'describeGroups shows two members');
    assert.equal(groups.groups[0]?.state, 'Stable');

    const p = producer();
    await p.connect();
    const values = Array.from({ length: 40 }, (_, i) => `m${i}`);
    await p.send({ topic, acks: -1, messages: values.map((v, i) => ({ partition: i % 4, value: v })) });
    await until(() => got.get('a')!.length + got.get('b')!.length >= values.length, 'both members to consume the 40 records');
    assert.equal(got.get('a')!.length, 20, 'member a read its two partitions');
    assert.equal(got.get('b')!.length, 20, 'member b read its two partitions');
    assert.deepEqual([...got.get('a')!, ...got.get('b')!].sort(), [...values].sort());

    // b leaves: a gets all four back.
    await b.disconnect();
    await until(() => assigned.get('a')?.length === 4, 'member a to get all 4 partitions back after b left');
    await a.disconnect();
  });

  test('offsets: manual commitOffsets, admin fetchOffsets, a new member resumes at the committed offsets', async () => {
    const topic = name('offsets');
    const groupId = name('offsets-g');
    await createTopics([{ topic, numPartitions: 2 }]);
    const p = producer();
    await p.connect();
    await p.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `r${i}` })) });

    const c1 = consumer(groupId);
    await c1.connect();
    await c1.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await c1.run({ autoCommit: false, eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await until(() => seen.length >= 10, 'the first member to read 10 records');
    // Commit 3 records on partition 0 and all 5 on partition 1 (the committed offset is the next to read).
    await c1.commitOffsets([
      { topic, partition: 0, offset: '3' },
      { topic, partition: 1, offset: '5' },
    ]);
    const offs = await committed(groupId, topic);
    assert.equal(offs.get(0), '3');
    assert.equal(offs.get(1), '5');
    await c1.disconnect();

    const c2 = consumer(groupId);
    const rest = await consumeN(c2, topic, 2, true);
    assert.deepEqual(rest.map((r) => `${r.partition}@${r.offset}`).sort(), ['0@3', '0@4'], 'resumes at the committed offsets');
    await c2.disconnect();
  });

  test('end offsets (ListOffsets), seek, pause and resume', async () => {
    const topic = name('seek');
    await createTopics([{ topic, numPartitions: 2 }]);
    const p = producer();
    await p.connect();
    await p.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `s${i}` })) });

    const ends = await admin.fetchTopicOffsets(topic);
    assert.deepEqual(ends.map((o) => [o.partition, o.low, o.high]).sort(), [[0, '0', '5'], [1, '0', '5']]);
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 60_000);
    assert.deepEqual(byTime.map((o) => o.offset).sort(), ['5', '5'], 'a future timestamp gives the end offsets');

    const c = consumer(name('seek-g'));
    const got: string[] = [];
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    // On joining (emitted before the first fetch): pause partition 1, move partition 0 to offset 3.
    c.on(c.events.GROUP_JOIN, () => {
      c.pause([{ topic, partitions: [1] }]);
      c.seek({ topic, partition: 0, offset: '3' });
    });
    let fetches = 0;
    c.on(c.events.FETCH, () => void fetches++);
    await c.run({ eachMessage: async ({ partition, message }) => void got.push(`${partition}@${message.offset}`) });
    await until(() => got.filter((g) => g.startsWith('0@')).length >= 2, 'partition 0 from offset 3');
    // Fetches that would have brought partition 1's records, had it not been paused.
    const seen = fetches;
    await until(() => fetches >= seen + 3, 'three more fetches');
    assert.deepEqual(got.filter((g) => g.startsWith('0@')), ['0@3', '0@4'], 'seek skips offsets 0..2');
    assert.deepEqual(got.filter((g) => g.startsWith('1@')), [], 'a paused partition is not fetched');
    c.resume([{ topic, partitions: [1] }]);
    await until(() => got.filter((g) => g.startsWith('1@')).length >= 5, 'partition 1 after resume');
    await c.disconnect();
  });

  test('idempotent producer: every record once, in order', async () => {
    const topic = name('idem');
    await createTopics([{ topic }]);
    const p = producer({ idempotent: true });
    await p.connect();
    for (let batch = 0; batch < 5; batch++) {
      await p.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `${batch * 20 + i}` })) });
    }
    const got = await consumeN(consumer(name('idem-g')), topic, 100, true);
    assert.deepEqual(got.map((g) => Number(g.value)), Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(got.map((g) => Number(g.offset)), Array.from({ length: 100 }, (_, i) => i));
  });

  test('transactions: commit and abort, sendOffsets, read_committed sees only committed records', async () => {
    const input = name('txn-in');
    const out = name('txn-out');
    const groupId = name('txn-g');
    await createTopics([{ topic: input }, { topic: out, numPartitions: 2 }]);

    const tp = producer({ transactionalId: name('txn-id') });
    await tp.connect();

    // 1: committed, with the input offset committed atomically (consume-transform-produce).
    const t1 = await tp.transaction();
    await t1.send({ topic: out, messages: [{ key: 'x', value: 'c1' }, { key: 'y', value: 'c2' }, { key: 'z', value: 'c3' }] });
    await t1.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }] });
    await t1.commit();
    // The group coordinator applies the offsets when the commit marker reaches __consumer_offsets,
    // just after EndTxn returns (kafkajs's OffsetFetch does not ask for stable offsets): poll.
    await until(async () => (await committed(groupId, input)).get(0) === '5', 'the offset sent with the transaction to be committed', 10_000);

    // 2: aborted, offsets included: neither the records nor the offset count.
    const t2 = await tp.transaction();
    await t2.send({ topic: out, messages: [{ key: 'x', value: 'a1' }, { key: 'y', value: 'a2' }] });
    await t2.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '9' }] }] });
    await t2.abort();

    // 3: committed again, after an abort, with the same producer.
    const t3 = await tp.transaction();
    await t3.send({ topic: out, messages: [{ key: 'w', value: 'c4' }] });
    await t3.commit();

    const committedOnly = await consumeN(consumer(name('txn-rc')), out, 4, true);
    assert.deepEqual(committedOnly.map((g) => g.value).sort(), ['c1', 'c2', 'c3', 'c4'], 'read_committed: only committed records');

    // The aborted records were written (a read_uncommitted consumer sees them): the abort filtered them.
    const all = await consumeN(consumer(name('txn-ru'), { readUncommitted: true }), out, 6, true);
    assert.deepEqual(all.map((g) => g.value).sort(), ['a1', 'a2', 'c1', 'c2', 'c3', 'c4'], 'read_uncommitted: aborted records too');
    // By now the abort's markers are long written: its offsets were dropped.
    assert.equal((await committed(groupId, input)).get(0), '5', 'an aborted transaction leaves the committed offset');

    // A second producer with the same transactional id fences the first.
    const tp2 = producer({ transactionalId: name('txn-id') });
    await tp2.connect();
    const t4 = await tp2.transaction();
    await t4.send({ topic: out, messages: [{ value: 'c5' }] });
    await t4.commit();
    // The fenced producer fails at the latest on commit (kafkajs may already refuse to begin).
    await assert.rejects(
      (async () => {
        const stale = await tp.transaction();
        await stale.send({ topic: out, messages: [{ value: 'zombie' }] });
        await stale.commit();
      })(),
      (e: Error & { type?: string }) => {
        // The broker's word for it: the id has a newer epoch (kafkajs 2.2 knows no PRODUCER_FENCED).
        assert.equal(e.type, 'INVALID_PRODUCER_EPOCH', `the fenced producer cannot commit: ${e.name}: ${e.message}`);
        return true;
      },
    );
  });

  test('deleteTopics: the topics go away', async () => {
    const topic = name('delete');
    await createTopics([{ topic, numPartitions: 2 }]);
    // The other tests' clients go first, so that none of them hold on to a deleted topic.
    for (const c of open.splice(0).reverse()) await c.disconnect().catch(() => {});
    const everything = [...created];
    await admin.deleteTopics({ topics: everything, timeout: TIMEOUT });
    created.clear();
    await until(async () => {
      const left = new Set(await admin.listTopics());
      return everything.every((t) => !left.has(t));
    }, 'the deleted topics to leave listTopics');
    await assert.rejects(admin.fetchTopicMetadata({ topics: [topic] }), 'metadata of a deleted topic is an error');
  });
});
