/**
 * One of three `duality run` instances of wordcount.yaml killed with SIGKILL while a client reads
 * every key, over and over, from the other two: each read gets the right count, or 503
 * NOT_AVAILABLE with Retry-After while the dead instance's tasks move; never a 404 for a key that
 * exists, never a wrong value. How long until every key answers again is printed, not asserted.
 */
import assert from 'node:assert/strict';
import { after, describe } from 'node:test';
import { brokerTest, connectBroker } from './kafka-helpers.js';
import { ask, processedAll, QCluster, settled, type Instance } from './queries-cluster.js';

const { broker, missing } = await connectBroker('qtest-queries-failover');
const TABLE = 'word-counts';

/** 1500 lines of 4 words out of 3000, seeded: some 2500 keys over the 6 partitions. */
function input(): string[] {
  let seed = 17;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: 1500 }, () => Array.from({ length: 4 }, () => `f${Math.floor(rnd() * 3000)}`).join(' '));
}

interface Reads {
  total: number;
  unavailable: number;
  wrong: string[];
  /** Answers that said they came from a standby copy (`"stale": true`). */
  stale: number;
}

/**
 * One pass over every key, 8 at a time, alternating between `from`: whether every read was right.
 * A 503 with Retry-After counts as unavailable; anything else not right goes into `wrong`.
 */
async function pass(from: readonly Instance[], expected: ReadonlyMap<string, number>, reads: Reads, query = ''): Promise<boolean> {
  const keys = [...expected.keys()];
  let next = 0;
  let allRight = true;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < keys.length) {
        const n = next++;
        const word = keys[n]!;
        const at = from[n % from.length]!;
        const a = await ask(at, `/tables/${TABLE}/keys/${word}${query}`);
        reads.total++;
        if (a.status === 200 && a.body.stale === true) reads.stale++;
        if (a.status === 200 && a.body.key === word && a.body.value === expected.get(word)) continue;
        allRight = false;
        if (a.status === 503 && a.retryAfter !== null && a.body?.error?.code === 'NOT_AVAILABLE') reads.unavailable++;
        else reads.wrong.push(`${word} from ${at.endpoint}: ${a.status} ${JSON.stringify(a.body)} (Retry-After ${a.retryAfter}), expected ${expected.get(word)}`);
      }
    }),
  );
  return allRight;
}

/** Until every standby copy on these instances holds all of its changelog (their /metrics say lag 0). */
async function caughtUp(instances: readonly Instance[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const texts = await Promise.all(instances.map((i) => fetch(`${i.url}/metrics`).then((r) => r.text())));
    const lags = texts.flatMap((t) => [...t.matchAll(/^duality_standby_lag_records\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1])));
    if (lags.length > 0 && lags.every((l) => l === 0)) return;
    if (Date.now() > deadline) throw new Error(`standby copies did not catch up: lags ${lags.join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('queries while an instance is killed', { timeout: 600_000 }, () => {
  const cluster = broker ? new QCluster(broker.admin) : undefined;
  after(async () => {
    await cluster?.close();
    await broker?.close();
  });

  for (const standbyReplicas of [1, 0]) {
    brokerTest(missing, `standbyReplicas ${standbyReplicas}: one of three instances killed with SIGKILL; every read is the right count or a 503 with Retry-After, never a 404 or a wrong value`, async () => {
      // 0 is the default, left out: that case runs whether the setting exists or not.
      const app = cluster!.app('wordcount', `fo${standbyReplicas}`, standbyReplicas > 0 ? { standbyReplicas } : {});
      const source = app.topics.get('TextLinesTopic')!;
      await broker!.log.createTopics([
        { name: source, partitions: 6 },
        { name: app.topics.get('WordsWithCountsTopic')!, partitions: 6 },
      ]);
      const instances: Instance[] = [];
      for (let n = 0; n < 3; n++) instances.push(await cluster!.start(app, n));
      await settled(instances);
      const lines = input();
      const expected = new Map<string, number>();
      for (const l of lines) for (const w of l.split(' ')) expected.set(w, (expected.get(w) ?? 0) + 1);
      const producer = broker!.log.producer();
      producer.send(lines.map((l, i) => ({ topic: source, key: Buffer.from(String(i)), value: Buffer.from(l), timestamp: Date.now() })));
      await producer.flush();
      await producer.close();
      // Everything committed before the kill: at-least-once would count again what was not.
      await processedAll(broker!.admin, app.name, [source]);
      const [a, b, victim] = instances as [Instance, Instance, Instance];
      const reads: Reads = { total: 0, unavailable: 0, wrong: [], stale: 0 };
      assert.ok(await pass([a, b], expected, reads), `before the kill every key is right: ${reads.wrong.slice(0, 5).join(' | ')}`);

      if (standbyReplicas > 0) await caughtUp([a, b, victim]);
      const killedAt = Date.now();
      await victim.signal('SIGKILL');
      if (standbyReplicas > 0) {
        // Right away, before the group notices: the dead instance's keys come from their copies.
        const staleReads: Reads = { total: 0, unavailable: 0, wrong: [], stale: 0 };
        await pass([a, b], expected, staleReads, '?stale=true');
        assert.deepEqual(staleReads.wrong.slice(0, 10), [], `${staleReads.wrong.length} wrong stale reads of ${staleReads.total}`);
        assert.ok(staleReads.stale > 0, `some keys answered from a standby copy: ${JSON.stringify({ ...staleReads, wrong: undefined })}`);
        console.log(`standbyReplicas ${standbyReplicas}, ?stale=true right after the kill: ${staleReads.total} reads, ${staleReads.stale} from a standby copy, ${staleReads.unavailable} 503`);
      }
      let settledAt: number | undefined;
      let rightSince: number | undefined;
      const settling = settled([a, b], 180_000).then(() => void (settledAt = Date.now()));
      settling.catch(() => undefined);
      // Passes until one that began after the group settled is all right.
      for (;;) {
        const began = Date.now();
        const right = await pass([a, b], expected, reads);
        assert.deepEqual(reads.wrong.slice(0, 10), [], `${reads.wrong.length} wrong reads of ${reads.total}`);
        rightSince = right ? (rightSince ?? Date.now()) : undefined;
        if (right && settledAt !== undefined && began >= settledAt) break;
        if (settledAt === undefined && a.exitCode !== undefined) break;
        if (Date.now() - killedAt > 180_000) {
          await settling;
          break;
        }
      }
      await settling;
      assert.ok(rightSince !== undefined, 'every key answers right once the group settled');
      console.log(`standbyReplicas ${standbyReplicas}: every one of ${expected.size} keys answered right again ${rightSince - killedAt} ms after the kill (${reads.total} reads, ${reads.unavailable} 503 with Retry-After)`);
    });
  }
});
