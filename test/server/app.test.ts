import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { PAGE_BYTES } from '../../engine/runtime/table-pages.js';
import { eventually, startEngine, type Running } from './harness.js';

// One engine for the file; each test posts what it reads, with words no other test uses, so any
// test runs alone (--test-name-pattern) or in any order.

let engine: Running;
let base: string;

/** Any answer; bad input must never get a 5xx, so one fails the test that got it. */
async function call(path: string, init: RequestInit = {}, at = base): Promise<{ status: number; type: string; body: any; text: string }> {
  const res = await fetch(at + path, init);
  const text = await res.text();
  assert.ok(res.status < 500, `${init.method ?? 'GET'} ${path}: ${res.status} ${text}`);
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, text, body: type.includes('json') ? JSON.parse(text) : undefined };
}

const post = (topic: string, body: unknown, raw = false) =>
  call(`/topics/${topic}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ? (body as string) : JSON.stringify(body) });

/** Asserts an error answer: the status and the one JSON shape every error has. */
function assertError(r: Awaited<ReturnType<typeof call>>, status: number, code: string): void {
  assert.equal(r.status, status, `${code}: ${r.text}`);
  assert.equal(r.body?.error?.code, code, r.text);
  assert.equal(typeof r.body.error.message, 'string');
}

const valueOf = (path: string, want: unknown, at = base, init: RequestInit = {}) =>
  eventually(`${path} to be ${JSON.stringify(want)}`, async () => {
    const r = await call(path, init, at);
    return r.status === 200 && r.body.value === want ? r.body : undefined;
  });

/** Every page of a table scan from the start, as the client sees them. */
async function pages(path: string): Promise<{ entries: { key: unknown; value: unknown }[] }[]> {
  const out: { entries: { key: unknown; value: unknown }[] }[] = [];
  let cursor: string | undefined;
  do {
    const r = await call(`${path}${path.includes('?') ? '&' : '?'}${cursor ? `cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    out.push(r.body);
    cursor = r.body.cursor;
  } while (cursor !== undefined);
  return out;
}

before(async () => {
  engine = await startEngine();
  base = await engine.serve();
});
after(() => engine.close());
afterEach(() => assert.deepEqual(engine.engineLog.filter((l) => /failed/.test(l)), []));

test('health and readiness answer 200 once the engine runs', async () => {
  assert.equal((await call('/healthz')).status, 200);
  const ready = await call('/readyz');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.state, 'running');
});

test('posted lines are counted and the counts can be read by key', async () => {
  const one = await post('TextLinesTopic', { value: 'hello world' });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.offsets.length, 1);
  const many = await post('TextLinesTopic', [{ value: 'Hello again' }, { key: 'k', value: 'and hello', timestamp: '2024-01-01T00:00:00Z', headers: { source: 'test' } }]);
  assert.equal(many.status, 200, many.text);
  assert.equal(many.body.offsets.length, 2);
  assert.deepEqual(await valueOf('/tables/word-counts/keys/hello', 3), { key: 'hello', value: 3 });
  assert.deepEqual((await call('/tables/word-counts/keys/world')).body, { key: 'world', value: 1 });
});

test('a long-keyed table is read with numeric keys; other keys are a 400', async () => {
  assert.equal((await post('orders', [{ key: 7, value: { qty: 1 } }, { key: 7, value: { qty: 2 } }])).status, 200);
  assert.deepEqual(await valueOf('/tables/orders-per-customer/keys/7', 2), { key: 7, value: 2 });
  assertError(await call('/tables/orders-per-customer/keys/seven'), 400, 'BAD_KEY');
  assertError(await call('/tables/orders-per-customer/keys/1.5'), 400, 'BAD_KEY');
  assertError(await call('/tables/orders-per-customer/keys/99999999999999999999'), 400, 'BAD_KEY');
  assertError(await call('/tables/orders-per-customer?prefix=7'), 400, 'BAD_PREFIX');
  assertError(await post('orders', { key: 'seven', value: {} }), 400, 'BAD_RECORD');
});

test('GET /tables lists the queryable tables', async () => {
  const r = await call('/tables');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.tables, [
    { name: 'word-counts', keySerde: 'string', windowed: false },
    { name: 'orders-per-customer', keySerde: 'long', windowed: false },
    { name: 'words-per-minute', keySerde: 'string', windowed: true },
    { name: 'word-sessions', keySerde: 'string', windowed: true },
    { name: 'prices', keySerde: 'string', windowed: false },
    { name: 'joined', keySerde: 'string', windowed: false },
  ]);
});

// Windowed tests write in hours of their own, after now: records the other tests post (at now)
// never fall into their windows, and theirs are never late for each other.
const HOUR = 3_600_000;
const T = (Math.floor(Date.now() / HOUR) + 1) * HOUR;
const T2 = T + HOUR;
const T3 = T + 2 * HOUR;
const iso = (ms: number): string => new Date(ms).toISOString();

test("a windowed table answers a key's windows, within from and to (epoch ms or RFC 3339), as Kafka Streams' fetch", async () => {
  const at = (timestamp: number, value: string) => post('TextLinesTopic', { value, timestamp: T + timestamp });
  for (const [t, v] of [[1_000, 'wmalpha wmbeta'], [61_000, 'wmalpha'], [62_000, 'wmalpha'], [125_000, 'wmbeta']] as const) assert.equal((await at(t, v)).status, 200);
  const all = [
    { start: T, end: T + 60_000, value: 1 },
    { start: T + 60_000, end: T + 120_000, value: 2 },
  ];
  await eventually('wmalpha windows', async () => {
    const r = await call('/tables/words-per-minute/keys/wmalpha');
    return r.status === 200 && JSON.stringify(r.body.windows) === JSON.stringify(all) ? true : undefined;
  });
  assert.deepEqual((await call(`/tables/words-per-minute/keys/wmalpha`)).body, { key: 'wmalpha', windows: all });
  // Windows whose start is within [from, to].
  assert.deepEqual((await call(`/tables/words-per-minute/keys/wmalpha?from=${T + 60_000}`)).body.windows, [all[1]]);
  assert.deepEqual((await call(`/tables/words-per-minute/keys/wmalpha?to=${T + 59_999}`)).body.windows, [all[0]]);
  assert.deepEqual((await call(`/tables/words-per-minute/keys/wmalpha?from=${iso(T + 60_000)}&to=${iso(T + 60_000)}`)).body.windows, [all[1]]);
  assert.deepEqual((await call(`/tables/words-per-minute/keys/wmalpha?from=${T + 120_000}`)).body, { key: 'wmalpha', windows: [] });
  assert.deepEqual((await call(`/tables/words-per-minute/keys/wmnever`)).body, { key: 'wmnever', windows: [] });
  assertError(await call('/tables/words-per-minute/keys/wmalpha?from=yesterday'), 400, 'BAD_TIME');
  assertError(await call('/tables/words-per-minute/keys/wmalpha?from=5&to=4'), 400, 'BAD_TIME');
  assertError(await call('/tables/words-per-minute/keys/wmalpha?since=5'), 400, 'BAD_QUERY');
});

test('a scan of a windowed table lists every window in the time range exactly once across pages (fetchAll)', async () => {
  const words = ['wsa', 'wsb', 'wsc', 'wsd'];
  for (const [i, w] of words.entries()) assert.equal((await post('TextLinesTopic', { value: `${w} ${w}`, timestamp: T2 + i * 60_000 })).status, 200);
  await eventually('every ws window', async () => {
    const r = await call(`/tables/words-per-minute?from=${T2}&to=${T2 + 180_000}&limit=1000`);
    return r.body.entries?.filter((e: { key: string }) => e.key.startsWith('ws')).length === 4 ? true : undefined;
  });
  const got = (await pages(`/tables/words-per-minute?from=${T2}&to=${T2 + 180_000}&limit=1`)).flatMap((p) => p.entries);
  assert.deepEqual(
    got.filter((e) => (e.key as string).startsWith('ws')),
    words.map((key, i) => ({ key, start: T2 + i * 60_000, end: T2 + 60_000 + i * 60_000, value: 2 })),
  );
  assert.ok(got.every((e) => (e as unknown as { start: number }).start >= T2 && (e as unknown as { start: number }).start <= T2 + 180_000), JSON.stringify(got));
  assertError(await call('/tables/words-per-minute?prefix=ws'), 400, 'BAD_PREFIX');
  assertError(await call('/tables/word-counts?from=5'), 400, 'BAD_QUERY');
  assertError(await call('/tables/word-counts/keys/wsa?to=5'), 400, 'BAD_QUERY');
});

test('a session table answers the sessions that overlap [from, to]', async () => {
  // Two sessions of sskey: [T3, T3 + 60 s] (two records) and [T3 + 1000 s] alone.
  for (const t of [0, 60_000, 1_000_000]) assert.equal((await post('TextLinesTopic', { value: 'sskey', timestamp: T3 + t })).status, 200);
  const both = [
    { start: T3, end: T3 + 60_000, value: 2 },
    { start: T3 + 1_000_000, end: T3 + 1_000_000, value: 1 },
  ];
  await eventually('both sessions', async () => {
    const r = await call('/tables/word-sessions/keys/sskey');
    return JSON.stringify(r.body.windows) === JSON.stringify(both) ? true : undefined;
  });
  assert.deepEqual((await call(`/tables/word-sessions/keys/sskey?from=${T3 + 30_000}&to=${T3 + 40_000}`)).body.windows, [both[0]]);
  assert.deepEqual((await call(`/tables/word-sessions/keys/sskey?from=${T3 + 60_000}`)).body.windows, both);
  assert.deepEqual((await call(`/tables/word-sessions/keys/sskey?from=${T3 + 60_001}&to=${T3 + 999_999}`)).body.windows, []);
  const scanned = (await pages('/tables/word-sessions?limit=1')).flatMap((p) => p.entries).filter((e) => e.key === 'sskey');
  assert.deepEqual(scanned, both.map((w) => ({ key: 'sskey', ...w })));
});

test('many keys at once: every key asked for, found or not, in the order asked', async () => {
  assert.equal((await post('TextLinesTopic', { value: 'mkone mktwo mktwo' })).status, 200);
  await valueOf('/tables/word-counts/keys/mktwo', 2);
  const keys = (body: unknown, table = 'word-counts') => call(`/tables/${table}/keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const r = await keys({ keys: ['mktwo', 'mknone', 'mkone'] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.entries, [
    { key: 'mktwo', found: true, value: 2 },
    { key: 'mknone', found: false },
    { key: 'mkone', found: true, value: 1 },
  ]);
  const orders = await keys({ keys: [7777, '7777'] }, 'orders-per-customer');
  assert.deepEqual(orders.body.entries, [{ key: 7777, found: false }, { key: 7777, found: false }]);
  assertError(await keys({ keys: [] }), 400, 'BAD_KEYS');
  assertError(await keys(['mkone']), 400, 'BAD_KEYS');
  assertError(await keys({ keys: ['a'], extra: 1 }), 400, 'BAD_KEYS');
  assertError(await keys({ keys: Array.from({ length: 1001 }, (_, i) => `k${i}`) }), 400, 'TOO_MANY_KEYS');
  assertError(await keys({ keys: [{ a: 1 }] }), 400, 'BAD_KEY');
  assertError(await keys({ keys: ['seven'] }, 'orders-per-customer'), 400, 'BAD_KEY');
  assertError(await keys({ keys: ['x'] }, 'nope'), 404, 'TABLE_NOT_FOUND');
  assertError(await call('/tables/word-counts/keys', { method: 'POST', body: '{"keys": [' }), 400, 'BAD_JSON');
});

test('an answer names the instance that served it; /instances lists this one, with every task active', async () => {
  assert.equal((await post('TextLinesTopic', { value: 'servedby' })).status, 200);
  await valueOf('/tables/word-counts/keys/servedby', 1);
  const res = await fetch(`${base}/tables/word-counts/keys/servedby`);
  assert.equal(res.headers.get('duality-served-by'), 'apptest-instance:1');
  const r = await call('/instances');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.instances.map((i: { endpoint: string; self: boolean; state: string; standby: string[] }) => [i.endpoint, i.self, i.state, i.standby]), [['apptest-instance:1', true, 'running', []]]);
  const tasks = engine.facade.graph.subtopologies.map((s) => `${s.id}_0`);
  assert.deepEqual(r.body.instances[0].active.filter((t: string) => t.endsWith('_0')), tasks);
});

test('paging with prefix, limit and cursor returns every key exactly once, in order', async () => {
  const words = Array.from({ length: 23 }, (_, i) => `pg${String(i).padStart(2, '0')}`);
  assert.equal((await post('TextLinesTopic', { value: words.join(' ') })).status, 200);
  await eventually('every pg word', async () => ((await call('/tables/word-counts?prefix=pg&limit=1000')).body.entries.length === words.length ? true : undefined));
  const got = await pages('/tables/word-counts?prefix=pg&limit=5');
  assert.deepEqual(got.map((p) => p.entries.length), [5, 5, 5, 5, 3]);
  assert.deepEqual(got.flatMap((p) => p.entries.map((e) => e.key)), words);
  assert.ok(got.every((p) => p.entries.every((e) => e.value === 1)));
});

test('a page holds at most PAGE_BYTES of entries, or one bigger entry alone; the cursors of huge keys fit in a URL', async () => {
  const key = (n: number): string => `b${n}`.padEnd(100_000, 'k');
  const piece = (c: string): string => c.repeat(300_000);
  // Entries of 400 KB: two to a page. b3 grows to 1.3 MB (four pieces): larger than a page.
  const posts = [[1, 'a'], [2, 'b'], [3, 'c'], [3, 'd'], [3, 'e'], [3, 'f'], [4, 'g'], [5, 'h']] as const;
  for (const [n, c] of posts) assert.equal((await post('pieces', { key: key(n), value: piece(c) })).status, 200);
  await eventually('every piece joined', async () => {
    const sizes = (await pages('/tables/joined?prefix=b&limit=1000')).flatMap((p) => p.entries.map((e) => (e.value as string).length));
    return sizes.join() === [1, 1, 4, 1, 1].map((n) => n * 300_000).join() ? true : undefined;
  });
  const got = await pages('/tables/joined?prefix=b&limit=1000');
  assert.deepEqual(got.map((p) => p.entries.map((e) => (e.key as string).slice(0, 2))), [['b1', 'b2'], ['b3'], ['b4', 'b5']]);
  for (const p of got) {
    const bytes = p.entries.reduce((n, e) => n + (e.key as string).length + (e.value as string).length, 0);
    assert.ok(p.entries.length === 1 || bytes <= PAGE_BYTES, `${bytes} bytes in a page of ${p.entries.length}`);
  }
});

test('bad paging parameters are a 400 that says why', async () => {
  for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'limit=2.5', 'limit=']) assertError(await call(`/tables/word-counts?${q}`), 400, 'BAD_LIMIT');
  assertError(await call('/tables/word-counts?limit=1&limit=2'), 400, 'BAD_QUERY');
  assertError(await call('/tables/word-counts?limt=5'), 400, 'BAD_QUERY');
  assertError(await call('/tables/word-counts?cursor=!!!'), 400, 'BAD_CURSOR');
  // A cursor that decodes but is no key of this table (JSON null, a map).
  assertError(await call(`/tables/word-counts?cursor=${Buffer.from('null').toString('base64url')}`), 400, 'BAD_CURSOR');
  assertError(await call(`/tables/orders-per-customer?cursor=${Buffer.from('{"a":1}').toString('base64url')}`), 400, 'BAD_CURSOR');
});

test('records can be posted to source topics only: sinks, the dead-letter topic, internal and unknown topics are a 403', async () => {
  assert.equal((await post('prices', { key: 'tea', value: 3 })).status, 200, "a source table's topic");
  assert.deepEqual(await valueOf('/tables/prices/keys/tea', 3), { key: 'tea', value: 3 });
  for (const [topic, what] of [
    ['WordsWithCountsTopic', 'a sink topic of apptest, which it writes itself'],
    ['apptest-dlq', 'the dead-letter topic of apptest, which it writes itself'],
    ['apptest-word-counts-changelog', 'a changelog topic of apptest, which it writes itself'],
    ['apptest-word-counts-repartition', 'a repartition topic of apptest, which it writes itself'],
    ['NoSuchTopic', 'not a topic of apptest'],
  ]) {
    const r = await post(topic!, { key: 'forged', value: 1000 });
    assertError(r, 403, 'NOT_A_SOURCE_TOPIC');
    assert.equal(r.body.error.message, `"${topic}" is ${what}; records can be posted to its source topics only: TextLinesTopic, orders, pieces, prices`);
  }
  assertError(await call('/tables/word-counts/keys/forged'), 404, 'KEY_NOT_FOUND');
});

test('unknown tables, keys and routes are a JSON 404; wrong methods 405', async () => {
  assertError(await call('/tables/nope/keys/x'), 404, 'TABLE_NOT_FOUND');
  assertError(await call('/tables/nope'), 404, 'TABLE_NOT_FOUND');
  assertError(await call('/tables/word-counts/keys/never-posted'), 404, 'KEY_NOT_FOUND');
  assertError(await call('/nothing/here'), 404, 'NOT_FOUND');
  assertError(await call('/tables', { method: 'POST' }), 405, 'METHOD_NOT_ALLOWED');
  assertError(await call('/tables/word-counts/keys/x', { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED');
  // HEAD is GET without the body, as for every other route.
  const head = await fetch(`${base}/tables/word-counts/keys/never-posted`, { method: 'HEAD' });
  assert.deepEqual([head.status, await head.text()], [404, '']);
});

test('bad bodies are a 400, an oversized one a 413, all as JSON', async () => {
  assertError(await post('TextLinesTopic', '{"value": "unterminated', true), 400, 'BAD_JSON');
  assertError(await post('TextLinesTopic', '', true), 400, 'EMPTY_BODY');
  assertError(await post('TextLinesTopic', []), 400, 'EMPTY_LIST');
  assertError(await post('TextLinesTopic', 'just a string'), 400, 'BAD_RECORD');
  assertError(await post('TextLinesTopic', [{ value: 'ok' }, 42]), 400, 'BAD_RECORD');
  assertError(await post('TextLinesTopic', { value: 'x', vaule: 'y' }), 400, 'BAD_RECORD');
  assertError(await post('TextLinesTopic', { key: 'no value' }), 400, 'BAD_RECORD');
  assertError(await post('TextLinesTopic', { value: 'x', timestamp: true }), 400, 'BAD_RECORD');
  assertError(await post('TextLinesTopic', { value: 'x', timestamp: 'yesterday' }), 400, 'BAD_RECORD');
  assertError(await post('TextLinesTopic', { value: 'x', timestamp: -5 }), 400, 'BAD_RECORD');
  assertError(await post('TextLinesTopic', { value: 'x', headers: { n: 1 } }), 400, 'BAD_RECORD');
  assertError(await post('TextLinesTopic', { value: { a: 'map' } }), 400, 'BAD_RECORD'); // the topic's values are strings
  assertError(await post('TextLinesTopic', { value: 'x'.repeat(1_100_000) }), 413, 'BODY_TOO_LARGE');
  assertError(await call('/tables/word-counts/keys/%E0%A4%A'), 400, 'BAD_URL');
});

test('the topology as JSON, mermaid and dot; other formats are a 400', async () => {
  const json = await call('/topology');
  assert.equal(json.status, 200);
  assert.equal(json.body.name, 'apptest');
  const mermaid = await call('/topology?format=mermaid');
  assert.equal(mermaid.status, 200);
  assert.match(mermaid.type, /^text\/plain/);
  assert.match(mermaid.text, /^flowchart/);
  assert.match(mermaid.text, /TextLinesTopic/);
  assert.match((await call('/topology?format=dot')).text, /^digraph "apptest"/);
  assertError(await call('/topology?format=svg'), 400, 'BAD_FORMAT');
});

test('/metrics shows the engine counters in Prometheus text', async () => {
  assert.equal((await post('TextLinesTopic', { value: 'scraped' })).status, 200);
  // The count's update goes on at the commit after it (the record cache): then every counter has moved.
  const out = /^duality_records_out_total\{node="word-counts\.3\.count"\} (\d+)$/m;
  const r = await eventually('the count to forward its update', async () => {
    const m = await call('/metrics');
    return Number(out.exec(m.text)?.[1] ?? 0) > 0 ? m : undefined;
  });
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain/);
  const value = (re: RegExp, text = r.text): number => Number(re.exec(text)?.[1] ?? NaN);
  assert.ok(value(/^duality_records_in_total\{node="lines\.source"\} (\d+)$/m) >= 1, 'records in at the source');
  assert.ok(value(/^duality_commits_total (\d+)$/m) > 0);
  assert.equal(value(/^duality_errors_total (\d+)$/m), 0);
  assert.equal(value(/^duality_dlq_records_total (\d+)$/m), 0);
  assert.match(r.text, /^# TYPE duality_records_in_total counter$/m);
  assert.match(r.text, /^# TYPE duality_process_latency_seconds histogram$/m);
  // Per store and task: nothing to restore at a first start.
  assert.match(r.text, /^duality_restored_records_total\{store="word-counts",task="\d+_\d+"\} 0$/m);
  assert.match(r.text, /^duality_restore_remaining_records\{store="word-counts",task="\d+_\d+"\} 0$/m);
  assert.match(r.text, /^process_cpu_user_seconds_total /m);
  // Store sizes are estimates that follow commits.
  await eventually('store entries', async () => (value(/^duality_store_entries\{store="word-counts",task="[^"]+"\} (\d+)$/m, (await call('/metrics')).text) > 0 ? true : undefined));
  // Cumulative: a second scrape never shows less.
  const again = await call('/metrics');
  assert.ok(value(/^duality_records_in_total\{node="lines\.source"\} (\d+)$/m, again.text) >= value(/^duality_records_in_total\{node="lines\.source"\} (\d+)$/m));
});

test('with a token, every route but the probes and metrics needs it', async () => {
  const secured = await engine.serve({ token: 's3cret' });
  for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await call(path, {}, secured)).status, 200, path);
  assertError(await call('/tables', {}, secured), 401, 'UNAUTHORIZED');
  assertError(await call('/tables', { headers: { authorization: 'Bearer wrong' } }, secured), 401, 'UNAUTHORIZED');
  assertError(await call('/tables', { headers: { authorization: 's3cret' } }, secured), 401, 'UNAUTHORIZED');
  assertError(await call('/topics/TextLinesTopic/records', { method: 'POST', body: '{"value":"x"}' }, secured), 401, 'UNAUTHORIZED');
  assert.equal((await call('/tables', { headers: { authorization: 'Bearer s3cret' } }, secured)).status, 200);
  const posted = await call('/topics/TextLinesTopic/records', { method: 'POST', headers: { authorization: 'Bearer s3cret' }, body: '{"value":"tokened"}' }, secured);
  assert.equal(posted.status, 200, posted.text);
  assert.deepEqual(await valueOf('/tables/word-counts/keys/tokened', 1, secured, { headers: { authorization: 'bearer s3cret' } }), { key: 'tokened', value: 1 });
});
