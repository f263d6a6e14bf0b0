import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, startEngine, type Running } from './harness.js';

let engine: Running;
let base: string;
/** Every answer in this file, to check at the end that bad input never got a 5xx. */
const seen: { url: string; status: number }[] = [];

async function call(path: string, init: RequestInit = {}, at = base): Promise<{ status: number; type: string; body: any; text: string }> {
  const res = await fetch(at + path, init);
  const text = await res.text();
  seen.push({ url: `${init.method ?? 'GET'} ${path}`, status: res.status });
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

const valueOf = (path: string, want: unknown) =>
  eventually(`${path} to be ${JSON.stringify(want)}`, async () => {
    const r = await call(path);
    return r.status === 200 && r.body.value === want ? r.body : undefined;
  });

before(async () => {
  engine = await startEngine();
  base = await engine.serve();
});
after(() => engine.close());

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
  ]);
  // Whatever the engine answers for a windowed key, it is an answer, not a server error.
  const windowed = await call('/tables/words-per-minute/keys/hello');
  assert.ok(windowed.status < 500 && windowed.type.includes('json'), windowed.text);
});

test('paging with prefix, limit and cursor returns every key exactly once, in order', async () => {
  const words = Array.from({ length: 23 }, (_, i) => `pg${String(i).padStart(2, '0')}`);
  assert.equal((await post('TextLinesTopic', { value: words.join(' ') })).status, 200);
  await eventually('every pg word', async () => ((await call('/tables/word-counts?prefix=pg&limit=1000')).body.entries.length === words.length ? true : undefined));
  const keys: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const r = await call(`/tables/word-counts?prefix=pg&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.entries.length <= 5);
    for (const e of r.body.entries) {
      assert.equal(e.value, 1);
      keys.push(e.key);
    }
    cursor = r.body.cursor;
    pages++;
  } while (cursor !== undefined);
  assert.deepEqual(keys, words);
  assert.equal(pages, 5);
  const first = await call('/tables/word-counts');
  assert.ok(first.body.entries.some((e: { key: string }) => e.key === 'hello'));
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

test('unknown tables, keys, topics and routes are a JSON 404; internal topics 403; wrong methods 405', async () => {
  assertError(await call('/tables/nope/keys/x'), 404, 'TABLE_NOT_FOUND');
  assertError(await call('/tables/nope'), 404, 'TABLE_NOT_FOUND');
  assertError(await call('/tables/word-counts/keys/never-posted'), 404, 'KEY_NOT_FOUND');
  assertError(await post('NoSuchTopic', { value: 'x' }), 404, 'TOPIC_NOT_FOUND');
  assertError(await post('apptest-word-counts-changelog', { key: 'hello', value: 0 }), 403, 'INTERNAL_TOPIC');
  assertError(await call('/nothing/here'), 404, 'NOT_FOUND');
  assertError(await call('/tables', { method: 'POST' }), 405, 'METHOD_NOT_ALLOWED');
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
  assertError(await call('/tables/word-counts/keys/%E0%A4%A'), 400, 'BAD_REQUEST');
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
  const r = await call('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain/);
  const value = (re: RegExp): number => Number(re.exec(r.text)?.[1] ?? NaN);
  assert.ok(value(/^duality_records_in_total\{node="lines\.source"\} (\d+)$/m) >= 4, 'records in at the source: one per posted line');
  assert.ok(value(/^duality_records_out_total\{node="word-counts\.3\.count"\} (\d+)$/m) > 0);
  assert.ok(value(/^duality_commits_total (\d+)$/m) > 0);
  assert.equal(value(/^duality_errors_total (\d+)$/m), 0);
  assert.equal(value(/^duality_dlq_records_total (\d+)$/m), 0);
  assert.match(r.text, /^# TYPE duality_records_in_total counter$/m);
  assert.match(r.text, /^# TYPE duality_process_latency_seconds histogram$/m);
  assert.match(r.text, /^duality_restored_records_total 0$/m);
  assert.match(r.text, /^process_cpu_user_seconds_total /m);
  // Store sizes are estimates that follow commits: the 23 pg words and the rest show up in time.
  await eventually('store entries', async () => {
    const n = Number(/^duality_store_entries\{store="word-counts",task="[^"]+"\} (\d+)$/m.exec((await call('/metrics')).text)?.[1]);
    return n > 23 ? n : undefined;
  });
  // Cumulative: a second scrape never shows less.
  const again = await call('/metrics');
  assert.ok(Number(/^duality_records_in_total\{node="lines\.source"\} (\d+)$/m.exec(again.text)?.[1]) >= value(/^duality_records_in_total\{node="lines\.source"\} (\d+)$/m));
});

test('with a token, every route but the probes and metrics needs it', async () => {
  const secured = await engine.serve({ token: 's3cret' });
  for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await call(path, {}, secured)).status, 200, path);
  assertError(await call('/tables', {}, secured), 401, 'UNAUTHORIZED');
  assertError(await call('/tables', { headers: { authorization: 'Bearer wrong' } }, secured), 401, 'UNAUTHORIZED');
  assertError(await call('/tables', { headers: { authorization: 's3cret' } }, secured), 401, 'UNAUTHORIZED');
  assertError(await call('/topics/TextLinesTopic/records', { method: 'POST', body: '{"value":"x"}' }, secured), 401, 'UNAUTHORIZED');
  assert.equal((await call('/tables', { headers: { authorization: 'Bearer s3cret' } }, secured)).status, 200);
  const hello = await call('/tables/word-counts/keys/hello', { headers: { authorization: 'bearer s3cret' } }, secured);
  assert.equal(hello.body.value, 3);
});

test('no request in this file got a 5xx', () => {
  assert.ok(seen.length > 50);
  assert.deepEqual(seen.filter((s) => s.status >= 500), []);
  assert.deepEqual(engine.engineLog.filter((l) => /failed/.test(l)), []);
});
