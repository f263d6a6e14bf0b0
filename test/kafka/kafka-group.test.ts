/**
 * KafkaLog's consumer group on the real broker: committed offsets, pause and seek, two members
 * sharing co-partitioned topics through rebalances. Topics are unique per run, deleted at the end.
 */
import assert from 'node:assert/strict';
import { after, describe } from 'node:test';
import type { LogConsumer, LogRecord } from '../../engine/api/log.js';
import { at, brokerTest, buf, connectBroker, Fixture, pollUntil, tps, unique, until } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('duality-kafka-group-test');
const fx = new Fixture(broker);
const topic = (what: string, partitions: number): Promise<string> => fx.topic(what, partitions);
const subscribe = fx.subscribe.bind(fx);

describe('KafkaLog consumer groups on the broker', { timeout: 120_000 }, () => {
  after(() => fx.cleanup());

  brokerTest(missing, 'committed offsets: a new member of the group resumes where the last one committed', async () => {
    const { log } = broker!;
    const t = await topic('commit', 2);
    const group = unique('commit-g');
    const p = log.producer();
    p.send(Array.from({ length: 10 }, (_, i) => ({ topic: t, partition: i % 2, key: null, value: buf(`r${i}`), timestamp: i })));
    await p.flush();
    await p.close();

    const c1 = await subscribe(group, [t]);
    await pollUntil(c1, 10);
    assert.equal(await c1.committed({ topic: t, partition: 0 }), undefined, 'nothing committed yet');
    await c1.commit(new Map([[`${t}:0`, 3], [`${t}:1`, 5]]));
    assert.equal(await c1.committed({ topic: t, partition: 0 }), 3);
    assert.equal(await c1.committed({ topic: t, partition: 1 }), 5);
    await c1.close();

    const c2 = await subscribe(group, [t]);
    const rest = await pollUntil(c2, 2, 500, 500);
    assert.deepEqual(rest.map(at), ['0@3', '0@4']);
  });

  brokerTest(missing, 'pause holds a partition back until resume; seek rereads from an offset', async () => {
    const { log } = broker!;
    const t = await topic('pause', 2);
    const p = log.producer();
    p.send(Array.from({ length: 40 }, (_, i) => ({ topic: t, partition: i % 2, key: null, value: buf(`${i}`), timestamp: i })));
    await p.flush();
    await p.close();
    const c = await subscribe(unique('pause-g'), [t]);
    c.pause([{ topic: t, partition: 0 }]);
    const first = await pollUntil(c, 20, 5, 500);
    assert.deepEqual(first.map(at), Array.from({ length: 20 }, (_, i) => `1@${i}`), 'only the unpaused partition');
    c.resume([{ topic: t, partition: 0 }]);
    c.seek({ topic: t, partition: 1 }, 15);
    const rest = await pollUntil(c, 25, 5, 300);
    assert.deepEqual(rest.filter((r) => r.partition === 0).map(at), Array.from({ length: 20 }, (_, i) => `0@${i}`));
    assert.deepEqual(rest.filter((r) => r.partition === 1).map(at), ['1@15', '1@16', '1@17', '1@18', '1@19']);
    assert.throws(() => c.seek({ topic: t, partition: 7 }, 0), /not assigned/);
  });

  brokerTest(missing, 'two members: partition p of every topic goes to one member; revocation and reassignment reach the listener', async () => {
    const { log } = broker!;
    const a = await topic('group-a', 2);
    const b = await topic('group-b', 2);
    const group = unique('group-g');
    const eventsA: string[] = [];
    const m1 = await subscribe(group, [a, b], eventsA);
    assert.deepEqual(tps(m1.assignment()), [`${a}:0`, `${a}:1`, `${b}:0`, `${b}:1`]);
    // Rebalance callbacks run inside poll, as the engine's loop drives it.
    const got = new Map<LogConsumer, LogRecord[]>();
    const stopped = new Set<LogConsumer>();
    const loop = async (c: LogConsumer): Promise<void> => {
      got.set(c, []);
      while (!stopped.has(c)) got.get(c)!.push(...(await c.poll(100, 100)));
    };
    const loop1 = loop(m1);
    const m2 = await subscribe(group, [a, b]);
    const loop2 = loop(m2);
    await until(() => m1.assignment().length === 2 && m2.assignment().length === 2, () => `2 + 2 partitions, have ${tps(m1.assignment())} and ${tps(m2.assignment())}`);
    const partitionsOf = (c: LogConsumer): number[] => [...new Set(c.assignment().map((tp) => tp.partition))];
    assert.equal(partitionsOf(m1).length, 1, 'm1 has one partition number, of both topics');
    assert.equal(partitionsOf(m2).length, 1, 'm2 has one partition number, of both topics');
    assert.notEqual(partitionsOf(m1)[0], partitionsOf(m2)[0]);
    const moved = tps(m2.assignment());
    assert.deepEqual(eventsA.filter((e) => e.startsWith('revoked')), [`revoked ${moved.join(' ')}`], 'm1 was told what it lost');

    const p = log.producer();
    p.send([a, b].flatMap((topic) => [0, 1].map((partition) => ({ topic, partition, key: null, value: buf(`${topic}:${partition}`), timestamp: 1 }))));
    await p.flush();
    await p.close();
    await until(() => got.get(m1)!.length + got.get(m2)!.length >= 4, () => 'the 4 records');
    for (const c of [m1, m2]) assert.deepEqual(got.get(c)!.map((r) => `${r.topic}:${r.partition}`).sort(), tps(c.assignment()), 'each member reads its own partitions');

    stopped.add(m2);
    await loop2;
    await m2.close();
    await until(() => m1.assignment().length === 4, () => `m1 to get all 4 partitions back, has ${tps(m1.assignment())}`);
    assert.equal(eventsA.at(-1), `assigned ${moved.join(' ')}`);
    stopped.add(m1);
    await loop1;
  });

  brokerTest(missing, 'a commit while another member joins the group goes through; the partition kept stays committed', async () => {
    const { log, admin } = broker!;
    const t = await topic('rebalance-commit', 2);
    const group = unique('rebalance-commit-g');
    const p = log.producer();
    p.send([0, 0, 1, 1].map((partition) => ({ topic: t, partition, key: null, value: buf('x'), timestamp: 1 })));
    await p.flush();
    await p.close();
    const m1 = await subscribe(group, [t]);
    // m2's join puts the group into a rebalance that m1 only notices at its next heartbeat (up to a
    // second later); the commit goes in once the coordinator says the group is rebalancing, and then
    // either goes through or waits for m1's rejoin and commits what m1 still has.
    const rebalancing = (async () => {
      for (;;) {
        const { groups } = await admin.describeGroups([group]);
        const state = groups[0]?.state;
        if (state === 'PreparingRebalance' || state === 'CompletingRebalance') return;
        if (state === 'Stable' && groups[0]!.members.length === 2) throw new Error('the group settled with both members before its rebalance was seen; run again');
      }
    })();
    const joining = subscribe(group, [t]);
    await rebalancing;
    await m1.commit(new Map([[`${t}:0`, 1], [`${t}:1`, 1]]));
    const m2 = await joining;
    await until(async () => (await m1.poll(10, 100), m1.assignment().length === 1), () => `m1 to keep one partition, has ${tps(m1.assignment())}`);
    assert.equal(tps(m2.assignment()).length, 1);
    assert.equal(await m1.committed(m1.assignment()[0]!), 1, 'the partition m1 keeps has its offset committed');
  });

  brokerTest(missing, 'a rebalance while a new member still takes its partitions (tasks restoring): seeking one the group took away meanwhile is no failure; it is revoked next', async () => {
    const { log } = broker!;
    const t = await topic('assign-rebalance', 2);
    const group = unique('assign-rebalance-g');
    fx.trackGroup(group);
    const p = log.producer();
    p.send([0, 1].map((partition) => ({ topic: t, partition, key: null, value: buf('x'), timestamp: 1 })));
    await p.flush();
    await p.close();
    const events: string[] = [];
    let m2: LogConsumer | undefined;
    const m1 = log.consumer(group);
    await m1.subscribe([t], {
      onAssigned: async (list) => {
        events.push(`assigned ${tps(list).join(' ')}`);
        if (m2 !== undefined) return;
        // The engine restores a task's stores here, then seeks it to its committed offset. Meanwhile a
        // second member joins: once it has its partitions, the group has moved on without these.
        m2 = await subscribe(group, [t]);
        for (const tp of list) m1.seek(tp, 0);
      },
      onRevoked: async (list) => void events.push(`revoked ${tps(list).join(' ')}`),
    });
    await until(async () => (await m1.poll(10, 100), m1.assignment().length === 1), () => `m1 to keep one partition, has ${tps(m1.assignment())}`);
    const kept = tps(m1.assignment());
    const lost = tps(m2!.assignment());
    assert.equal(lost.length, 1);
    assert.deepEqual(events, [`assigned ${t}:0 ${t}:1`, `revoked ${lost[0]}`], `m1 keeps ${kept}`);
    await m1.close();
  });
});
