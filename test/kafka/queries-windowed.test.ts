/**
 * Windowed and session queries across two `duality run` instances on the real broker:
 * sales-per-product.yaml (tumbling counts, hopping sums) and user-sessions.yaml (session counts),
 * their source topics with 6 partitions. A key's windows between `from` and `to`, and a scan of a
 * windowed table, must be the same from either instance and equal to what the records imply.
 * The range follows Kafka Streams: a window store's fetch gives the windows that start within
 * [from, to]; a session store's, the sessions that end at or after `from` and start at or before `to`.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { brokerTest, connectBroker } from './kafka-helpers.js';
import { ask, processedAll, QCluster, settled, type Instance, type QApp } from './queries-cluster.js';

const { broker, missing } = await connectBroker('qtest-queries-windowed');

const MIN = 60_000;
const T0 = Date.parse('2026-11-24T10:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();

interface Win {
  key: string;
  start: number;
  end: number;
  value: number;
}

/** Records in time order (so none is late): `keys` keys, each at seeded moments over 90 minutes. */
function records(prefix: string, keys: number, seed: number): { key: string; at: number; qty: number }[] {
  let s = seed;
  const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: { key: string; at: number; qty: number }[] = [];
  for (let k = 0; k < keys; k++) for (let n = 0; n < 3 + (k % 4); n++) out.push({ key: `${prefix}${k}`, at: T0 + Math.floor(rnd() * 90) * MIN, qty: 1 + Math.floor(rnd() * 3) });
  return out.sort((a, b) => a.at - b.at);
}

/** Windows of `size` every `advance`, aggregated by `add` from 0. */
function hopping(recs: readonly { key: string; at: number; qty: number }[], size: number, advance: number, add: (r: { qty: number }) => number): Win[] {
  const m = new Map<string, Win>();
  for (const r of recs) {
    for (let start = Math.floor(r.at / advance) * advance; start > r.at - size; start -= advance) {
      const id = `${r.key}@${start}`;
      const w = m.get(id) ?? { key: r.key, start, end: start + size, value: 0 };
      w.value += add(r);
      m.set(id, w);
    }
  }
  return sortWins([...m.values()]);
}

/** Sessions with `gap`: records in time order, a new session when one comes more than `gap` after the last. */
function sessions(recs: readonly { key: string; at: number }[], gap: number): Win[] {
  const open = new Map<string, Win>();
  const done: Win[] = [];
  for (const r of recs) {
    const s = open.get(r.key);
    if (s && r.at - s.end <= gap) {
      s.end = r.at;
      s.value++;
    } else {
      if (s) done.push(s);
      open.set(r.key, { key: r.key, start: r.at, end: r.at, value: 1 });
    }
  }
  return sortWins([...done, ...open.values()]);
}

const sortWins = (ws: Win[]): Win[] => ws.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.start - b.start));

/** A window as answered (start and end in epoch ms or RFC 3339) in epoch ms. */
const toMs = (t: unknown): number => (typeof t === 'number' ? t : Date.parse(String(t)));

/** `GET /tables/t/keys/k?from=&to=` from `at`, its windows as Win (sorted by start). */
async function windowsOf(at: Instance, table: string, key: string, from: number, to: number, rfc3339 = false): Promise<Win[]> {
  const q = rfc3339 ? `from=${encodeURIComponent(iso(from))}&to=${encodeURIComponent(iso(to))}` : `from=${from}&to=${to}`;
  const a = await ask(at, `/tables/${table}/keys/${key}?${q}`);
  assert.equal(a.status, 200, `${table} ${key} from ${at.endpoint}: ${JSON.stringify(a.body)}`);
  assert.equal(a.body.key, key);
  return sortWins((a.body.windows as { start: unknown; end: unknown; value: number }[]).map((w) => ({ key, start: toMs(w.start), end: toMs(w.end), value: w.value })));
}

/** Every page of `GET /tables/t?from=&to=&limit=5` from `at`. */
async function scanWindows(at: Instance, table: string, from: number, to: number): Promise<Win[]> {
  const out: Win[] = [];
  let cursor: string | undefined;
  for (;;) {
    const a = await ask(at, `/tables/${table}?from=${from}&to=${to}&limit=5${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    assert.equal(a.status, 200, `scan of ${table} from ${at.endpoint}: ${JSON.stringify(a.body)}`);
    out.push(...(a.body.entries as { key: string; start: unknown; end: unknown; value: number }[]).map((e) => ({ key: e.key, start: toMs(e.start), end: toMs(e.end), value: e.value })));
    cursor = a.body.cursor as string | undefined;
    if (cursor === undefined) return out;
  }
}

/** Two instances of `topology`, its source topic of 6 partitions fed `recs` (value made by `value`), all processed. */
async function running(cluster: QCluster, topology: string, source: string, recs: readonly { key: string; at: number; qty: number }[], value: (r: { at: number; qty: number }) => unknown): Promise<{ app: QApp; instances: Instance[] }> {
  const app = cluster.app(topology, topology.split('-')[0]!);
  const topic = app.topics.get(source)!;
  await broker!.log.createTopics([{ name: topic, partitions: 6 }]);
  const instances = [await cluster.start(app, 0), await cluster.start(app, 1)];
  await settled(instances);
  const producer = broker!.log.producer();
  producer.send(recs.map((r) => ({ topic, key: Buffer.from(r.key), value: Buffer.from(JSON.stringify(value(r))), timestamp: r.at })));
  await producer.flush();
  await producer.close();
  await processedAll(broker!.admin, app.name, [topic]);
  return { app, instances };
}

describe('windowed queries across two instances on Kafka', { timeout: 600_000 }, () => {
  const cluster = broker ? new QCluster(broker.admin) : undefined;
  const sales = records('sku', 12, 3);
  const views = records('user', 10, 9);
  let salesApp: Instance[] = [];
  let sessionsApp: Instance[] = [];

  before(async () => {
    if (missing) return;
    salesApp = (await running(cluster!, 'sales-per-product', 'sales', sales, (r) => ({ qty: r.qty, at: iso(r.at) }))).instances;
    sessionsApp = (await running(cluster!, 'user-sessions', 'pageviews', views, () => ({ page: '/' }))).instances;
  });

  after(async () => {
    await cluster?.close();
    await broker?.close();
  });

  const DAY_START = Date.parse('2026-11-24T00:00:00Z');
  const DAY_END = Date.parse('2026-11-25T00:00:00Z');

  brokerTest(missing, 'tumbling counts and hopping sums of every key, from either instance, equal what the sales imply (epoch ms and RFC 3339 bounds)', async () => {
    const tables = { 'sales-per-product-10m': hopping(sales, 10 * MIN, 10 * MIN, () => 1), 'units-per-product-hourly': hopping(sales, 60 * MIN, 10 * MIN, (r) => r.qty) };
    for (const [table, expected] of Object.entries(tables)) {
      for (const key of [...new Set(sales.map((r) => r.key))]) {
        const mine = expected.filter((w) => w.key === key);
        for (const at of salesApp) {
          assert.deepEqual(await windowsOf(at, table, key, DAY_START, DAY_END), mine, `${table} ${key} from ${at.endpoint}`);
          assert.deepEqual(await windowsOf(at, table, key, DAY_START, DAY_END, true), mine, `${table} ${key} from ${at.endpoint}, RFC 3339 bounds`);
          // Windows that start within [10:10, 10:40].
          const [from, to] = [T0 + 10 * MIN, T0 + 40 * MIN];
          assert.deepEqual(await windowsOf(at, table, key, from, to), mine.filter((w) => w.start >= from && w.start <= to), `${table} ${key} from ${at.endpoint}, 10:10 to 10:40`);
        }
      }
      for (const at of salesApp) assert.deepEqual(sortWins(await scanWindows(at, table, DAY_START, DAY_END)), expected, `scan of ${table} from ${at.endpoint}`);
    }
    // A key without a sale: no windows, not an error.
    for (const at of salesApp) assert.deepEqual(await windowsOf(at, 'sales-per-product-10m', 'no-such-sku', DAY_START, DAY_END), []);
  });

  brokerTest(missing, 'sessions of every user, from either instance, equal what the page views imply', async () => {
    const expected = sessions(views, 30 * MIN);
    for (const key of [...new Set(views.map((r) => r.key))]) {
      const mine = expected.filter((w) => w.key === key);
      for (const at of sessionsApp) {
        assert.deepEqual(await windowsOf(at, 'session-pageviews', key, DAY_START, DAY_END), mine, `${key} from ${at.endpoint}`);
        // Sessions that end at or after 10:30 and start at or before 10:45.
        const [from, to] = [T0 + 30 * MIN, T0 + 45 * MIN];
        assert.deepEqual(await windowsOf(at, 'session-pageviews', key, from, to), mine.filter((w) => w.end >= from && w.start <= to), `${key} from ${at.endpoint}, 10:30 to 10:45`);
      }
    }
    for (const at of sessionsApp) assert.deepEqual(sortWins(await scanWindows(at, 'session-pageviews', DAY_START, DAY_END)), expected, `scan from ${at.endpoint}`);
  });
});
