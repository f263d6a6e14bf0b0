/**
 * Queries of one table across three `duality run` instances of wordcount.yaml on the real broker
 * (topics of 6 partitions): any instance answers any key, forwarding it to its owner, and a scan
 * from any instance lists every key exactly once across its pages, also when an instance leaves
 * between two pages. Every answer is compared with the counts recomputed from the input.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { brokerTest, connectBroker } from './kafka-helpers.js';
import { ask, processedAll, QCluster, settled, type Instance, type QApp } from './queries-cluster.js';

const { broker, missing } = await connectBroker('qtest-queries-wordcount');
const TABLE = 'word-counts';

/** 400 lines of 5 words out of 160, seeded: about 160 keys over the 6 partitions. */
function input(): string[] {
  let seed = 5;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: 400 }, () => Array.from({ length: 5 }, () => `w${Math.floor(rnd() * rnd() * 160)}`).join(' '));
}

function counts(lines: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) for (const w of l.split(' ')) m.set(w, (m.get(w) ?? 0) + 1);
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Every page of a scan from `at` with `limit`, retrying a page answered 503 (which must carry
 * Retry-After) with the same cursor; `between(n)` runs after page n. Fails on any other status.
 */
async function scanAll(at: Instance, limit: number, between: (page: number) => Promise<void> = async () => undefined): Promise<{ key: string; value: number }[]> {
  const entries: { key: string; value: number }[] = [];
  let cursor: string | undefined;
  const deadline = Date.now() + 120_000;
  for (let page = 1; ; ) {
    const a = await ask(at, `/tables/${TABLE}?limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    if (a.status === 503) {
      assert.ok(a.retryAfter, `a 503 carries Retry-After: ${JSON.stringify(a.body)}`);
      assert.equal(a.body?.error?.code, 'NOT_AVAILABLE', JSON.stringify(a.body));
      assert.ok(Date.now() < deadline, `page ${page} still 503 after 120 s: ${JSON.stringify(a.body)}`);
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    assert.equal(a.status, 200, `page ${page} from ${at.endpoint}: ${JSON.stringify(a.body)}; it said: ${at.stderr.slice(-8).join(" | ")}`);
    assert.ok(a.body.entries.length <= limit, `page ${page} holds at most ${limit} entries: ${a.body.entries.length}`);
    entries.push(...(a.body.entries as { key: string; value: number }[]));
    cursor = a.body.cursor as string | undefined;
    if (cursor === undefined) return entries;
    await between(page++);
  }
}

/** The scan's entries as [key, value] in the order they came, for comparing with the counts. */
const pairs = (entries: readonly { key: string; value: number }[]): [string, number][] => entries.map((e) => [e.key, e.value]);

describe('queries of wordcount across three instances on Kafka', { timeout: 600_000 }, () => {
  const cluster = broker ? new QCluster(broker.admin) : undefined;
  let app: QApp;
  let instances: Instance[] = [];
  let expected = new Map<string, number>();

  before(async () => {
    if (missing) return;
    app = cluster!.app('wordcount', 'wc');
    const [source, sink] = [app.topics.get('TextLinesTopic')!, app.topics.get('WordsWithCountsTopic')!];
    await broker!.log.createTopics([
      { name: source, partitions: 6 },
      { name: sink, partitions: 6 },
    ]);
    for (let n = 0; n < 3; n++) instances.push(await cluster!.start(app, n));
    await settled(instances);
    const lines = input();
    expected = counts(lines);
    const producer = broker!.log.producer();
    producer.send(lines.map((l, i) => ({ topic: source, key: Buffer.from(String(i)), value: Buffer.from(l), timestamp: Date.now() })));
    await producer.flush();
    await producer.close();
    await processedAll(broker!.admin, app.name, [source]);
  });

  after(async () => {
    await cluster?.close();
    await broker?.close();
  });

  brokerTest(missing, 'every key read from every instance gives the right count, served by the same owner; a missing key is 404 everywhere', async () => {
    const endpoints = instances.map((i) => i.endpoint);
    const wrong: string[] = [];
    for (const [word, count] of expected) {
      const servedBy = new Set<string | null>();
      for (const at of instances) {
        const a = await ask(at, `/tables/${TABLE}/keys/${word}`);
        if (a.status !== 200 || a.body.key !== word || a.body.value !== count) wrong.push(`${word} from ${at.endpoint}: ${a.status} ${JSON.stringify(a.body)}, expected ${count}`);
        servedBy.add(a.servedBy);
      }
      const [owner] = servedBy;
      if (servedBy.size !== 1 || !endpoints.includes(owner!)) wrong.push(`${word}: Duality-Served-By ${[...servedBy].join(', ')}; one of ${endpoints.join(', ')} expected`);
    }
    assert.deepEqual(wrong, [], `of ${expected.size} keys`);
    for (const at of instances) {
      const a = await ask(at, `/tables/${TABLE}/keys/never-a-word`);
      assert.equal(a.status, 404, JSON.stringify(a.body));
      assert.equal(a.body.error.code, 'KEY_NOT_FOUND');
    }
  });

  brokerTest(missing, 'a scan from any instance, 7 entries a page, lists every key exactly once with its count', async () => {
    for (const at of instances) {
      const entries = await scanAll(at, 7);
      assert.deepEqual(pairs(entries), [...expected], `the scan from ${at.endpoint}`);
    }
  });

  brokerTest(missing, 'an instance stopped (SIGTERM) between two pages of a scan: pages or 503s to retry, never a key missing or twice', async () => {
    const [first, , leaving] = instances as [Instance, Instance, Instance];
    const entries = await scanAll(first, 7, async (page) => {
      if (page === 2) await leaving.signal('SIGTERM');
    });
    assert.equal(leaving.exitCode, 0, `the instance stopped cleanly: ${leaving.said()}`);
    assert.deepEqual(pairs(entries), [...expected], 'the scan across the rebalance');
    // And once the two left have settled, from either of them.
    instances = instances.filter((i) => i !== leaving);
    await settled(instances);
    for (const at of instances) assert.deepEqual(pairs(await scanAll(at, 7)), [...expected], `the scan from ${at.endpoint} after the rebalance`);
  });
});
