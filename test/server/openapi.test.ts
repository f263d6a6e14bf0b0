import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createApp } from '../../server/app.js';
import { eventually, startEngine, type Running } from './harness.js';

// Every answer of a real server, valid input and bad, checked against the OpenAPI description the
// same server serves: its status is one the operation lists, its content type one that response
// lists, its body valid against that schema (JSON Schema 2020-12, as OpenAPI 3.1 has it).

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js').default;

type Json = Record<string, any>;
interface Checked {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

let engine: Running;
let base: string;
let secured: string;
let doc: Json;

/** Checks answers against one description: its schemas compiled once, refs resolved in the document itself. */
class Description {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true, formats: { 'date-time': true } });
  private readonly templates: { path: string; re: RegExp }[];

  constructor(readonly doc: Json) {
    this.ajv.addKeyword('components');
    this.ajv.addSchema({ $id: 'openapi', components: doc.components });
    this.templates = Object.keys(doc.paths).map((path) => ({ path, re: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`) }));
  }

  /** The operation a request reaches, by its method and URL path. */
  operation(method: string, url: string): { path: string; op: Json } {
    const pathname = new URL(url, 'http://x').pathname;
    const t = this.templates.find((t) => t.re.test(pathname));
    assert.ok(t, `no path of the description matches ${pathname}`);
    const op = this.doc.paths[t.path][method.toLowerCase()];
    assert.ok(op, `the description has no ${method} ${t.path}`);
    return { path: t.path, op };
  }

  check(method: string, url: string, status: number, type: string, text: string): unknown {
    const { path, op } = this.operation(method, url);
    const where = `${method} ${path} ${status}`;
    let response = op.responses[String(status)];
    assert.ok(response, `${where} is not in the description: ${text}`);
    if (response.$ref) response = this.doc.components.responses[response.$ref.split('/').pop()];
    const media = type.split(';')[0]!.trim();
    const content = response.content?.[media];
    assert.ok(content, `${where}: content type ${type} is not one of ${Object.keys(response.content ?? {}).join(', ')}`);
    if (media !== 'application/json') return undefined;
    const body = JSON.parse(text);
    const schema = JSON.parse(JSON.stringify(content.schema).replaceAll('"#/components/', '"openapi#/components/'));
    const validate = this.ajv.compile(schema);
    assert.ok(validate(body), `${where}: the body does not fit the description: ${this.ajv.errorsText(validate.errors)}\n${text}`);
    return body;
  }
}

const descriptions = new Map<string, Description>();

async function described(at: string): Promise<Description> {
  let d = descriptions.get(at);
  if (!d) {
    const res = await fetch(`${at}/openapi.json`);
    assert.equal(res.status, 200);
    d = new Description((await res.json()) as Json);
    descriptions.set(at, d);
  }
  return d;
}

/** A request to the server at `at`, its answer checked against that server's description. */
async function call(path: string, init: RequestInit = {}, at = base): Promise<Checked> {
  const res = await fetch(at + path, init);
  const text = await res.text();
  const method = init.method ?? 'GET';
  const body = (await described(at)).check(method, path, res.status, res.headers.get('content-type') ?? '', text);
  return { status: res.status, body, text, headers: res.headers };
}

const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

function expect(r: Checked, status: number, code?: string): void {
  assert.equal(r.status, status, r.text);
  if (code !== undefined) assert.equal(r.body.error.code, code, r.text);
}

before(async () => {
  engine = await startEngine();
  base = await engine.serve();
  secured = await engine.serve({ token: 'sesame' });
  doc = (await described(base)).doc;
  const posted = await postJson('/topics/TextLinesTopic/records', [
    { key: 'a', value: 'openapi alpha beta', timestamp: '2026-11-24T10:00:00Z' },
    { key: 'b', value: 'openapi gamma', timestamp: 1795514460000 },
  ]);
  expect(posted, 200);
  await eventually('openapi to be counted', async () => ((await call('/tables/word-counts/keys/openapi')).body?.value === 2 ? true : undefined));
});
after(() => engine.close());

test('every route express serves is in the description, and every operation described is served', async () => {
  const served = createApp(engine.facade)
    .routes()
    .map((r) => `${r.method.toUpperCase()} ${r.path}`)
    .sort();
  const described = Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item as Json).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
  assert.deepEqual(described, served);
});

test('the description names this topology\'s tables and source topics, and needs no token', async () => {
  assert.deepEqual(doc.components.parameters.table.schema.enum, ['word-counts', 'orders-per-customer', 'words-per-minute', 'word-sessions', 'prices', 'joined']);
  assert.deepEqual(doc.components.parameters.topic.schema.enum, ['TextLinesTopic', 'orders', 'pieces', 'prices']);
  assert.equal(doc.security, undefined);
  const open = await call('/openapi.json', {}, secured);
  assert.deepEqual(open.body.security, [{ bearer: [] }]);
  assert.equal(open.body.components.securitySchemes.bearer.scheme, 'bearer');
  assert.deepEqual(open.body.paths['/healthz'].get.security, []);
});

test('health, readiness, metrics, topology, instances and tables answer as described', async () => {
  expect(await call('/healthz'), 200);
  expect(await call('/readyz'), 200);
  const metrics = await call('/metrics');
  expect(metrics, 200);
  assert.match(metrics.text, /duality_records_in_total/);
  expect(await call('/topology'), 200);
  expect(await call('/topology?format=mermaid'), 200);
  expect(await call('/topology?format=dot'), 200);
  expect(await call('/topology?format=svg'), 400, 'BAD_FORMAT');
  expect(await call('/topology?formats=json'), 400, 'BAD_QUERY');
  expect(await call('/instances'), 200);
  expect(await call('/instances?x=1'), 400, 'BAD_QUERY');
  assert.equal((await call('/tables')).body.tables.length, 6);
  // As /instances and /topology: a parameter the route does not take is a mistake to point out (a
  // client asking /tables?limit=2 would otherwise get every table and believe it got two).
  expect(await call('/tables?limit=2'), 400, 'BAD_QUERY');
});

test('one key: values, windows, and every kind of refusal as described', async () => {
  assert.deepEqual((await call('/tables/word-counts/keys/openapi')).body, { key: 'openapi', value: 2 });
  assert.equal((await call('/tables/word-counts/keys/openapi?stale=true')).status, 200);
  const windows = await call('/tables/words-per-minute/keys/openapi?from=2026-11-24T10:00:00Z&to=1795514460000');
  expect(windows, 200);
  assert.equal(windows.body.windows.length, 2);
  expect(await call('/tables/word-sessions/keys/openapi'), 200);
  expect(await call('/tables/word-counts/keys/never-said'), 404, 'KEY_NOT_FOUND');
  expect(await call('/tables/nope/keys/x'), 404, 'TABLE_NOT_FOUND');
  expect(await call('/tables/orders-per-customer/keys/seven'), 400, 'BAD_KEY');
  expect(await call('/tables/word-counts/keys/%E0%A4%A'), 400, 'BAD_URL');
  expect(await call('/tables/words-per-minute/keys/openapi?from=yesterday'), 400, 'BAD_TIME');
  expect(await call('/tables/words-per-minute/keys/openapi?from=2&to=1'), 400, 'BAD_TIME');
  expect(await call('/tables/word-counts/keys/openapi?from=1'), 400, 'BAD_QUERY');
  expect(await call('/tables/word-counts/keys/openapi?stale=maybe'), 400, 'BAD_QUERY');
});

test('many keys: entries found and not, windows, and bad bodies as described', async () => {
  const r = await postJson('/tables/word-counts/keys', { keys: ['openapi', 'never-said'] });
  assert.deepEqual(r.body, { entries: [{ key: 'openapi', found: true, value: 2 }, { key: 'never-said', found: false }] });
  expect(await postJson('/tables/words-per-minute/keys?from=0', { keys: ['openapi'] }), 200);
  expect(await postJson('/tables/word-counts/keys', '{"keys": '), 400, 'BAD_JSON');
  expect(await postJson('/tables/word-counts/keys', { keys: [] }), 400, 'BAD_KEYS');
  expect(await postJson('/tables/word-counts/keys', { keys: Array.from({ length: 1001 }, (_, i) => `k${i}`) }), 400, 'TOO_MANY_KEYS');
  expect(await postJson('/tables/word-counts/keys', { keys: [7] }), 400, 'BAD_KEY');
  expect(await postJson('/tables/nope/keys', { keys: ['x'] }), 404, 'TABLE_NOT_FOUND');
  expect(await postJson('/tables/word-counts/keys', JSON.stringify({ keys: ['x'.repeat(1_100_000)] })), 413, 'BODY_TOO_LARGE');
  expect(await postJson('/tables/word-counts/keys', '{"keys": ["x"]}', { 'content-encoding': 'zstd-nope' }), 415, 'UNSUPPORTED_ENCODING');
  expect(await call('/tables/word-counts/keys', { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: gzipSync('{"keys": ["openapi"]}') }), 200);
});

test('pages: entries, cursors, windows, and bad parameters as described', async () => {
  const first = await call('/tables/word-counts?limit=1');
  expect(first, 200);
  assert.equal(first.body.entries.length, 1);
  expect(await call(`/tables/word-counts?limit=1&cursor=${encodeURIComponent(first.body.cursor)}`), 200);
  expect(await call('/tables/word-counts?prefix=open'), 200);
  expect(await call('/tables/words-per-minute?from=2026-11-24T10:00:00Z'), 200);
  expect(await call('/tables/word-counts?limit=0'), 400, 'BAD_LIMIT');
  expect(await call('/tables/words-per-minute?prefix=o'), 400, 'BAD_PREFIX');
  expect(await call('/tables/word-counts?cursor=bm9wZQ'), 400, 'BAD_CURSOR');
  expect(await call('/tables/word-counts?to=5'), 400, 'BAD_QUERY');
  expect(await call('/tables/word-counts?limit=1&limit=2'), 400, 'BAD_QUERY');
  expect(await call('/tables/nope'), 404, 'TABLE_NOT_FOUND');
});

test('writing records: one, a list, and refusals as described', async () => {
  expect(await postJson('/topics/pieces/records', { key: 'p', value: 'x', headers: { via: 'test' } }), 200);
  expect(await postJson('/topics/orders/records', [{ key: 1, value: { qty: 1 } }, { key: 2, value: null, timestamp: 0 }]), 200);
  expect(await postJson('/topics/pieces/records', ''), 400, 'EMPTY_BODY');
  expect(await postJson('/topics/pieces/records', '[]'), 400, 'EMPTY_LIST');
  expect(await postJson('/topics/pieces/records', 'nope'), 400, 'BAD_JSON');
  expect(await postJson('/topics/pieces/records', { key: 'p' }), 400, 'BAD_RECORD');
  expect(await postJson('/topics/orders/records', { key: 'not a long', value: {} }), 400, 'BAD_RECORD');
  expect(await postJson('/topics/WordsWithCountsTopic/records', { value: 1 }), 403, 'NOT_A_SOURCE_TOPIC');
});

test('with a token: 401 on the guarded routes, the open ones open, as the secured description says', async () => {
  const d = await described(secured);
  for (const path of ['/tables', '/instances', '/topology', '/tables/word-counts', '/tables/word-counts/keys/openapi']) {
    const r = await call(path, {}, secured);
    expect(r, 401, 'UNAUTHORIZED');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="duality"');
  }
  expect(await call('/topics/pieces/records', { method: 'POST', body: '{"value": 1}' }, secured), 401, 'UNAUTHORIZED');
  for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
    expect(await call(path, {}, secured), 200);
    assert.deepEqual(d.doc.paths[path].get.security, [], path);
  }
  expect(await call('/tables/word-counts/keys/openapi', { headers: { authorization: 'Bearer sesame' } }, secured), 200);
});

/** A raw HTTP exchange, for what fetch cannot send; the status and the body. */
function raw(at: string, request: string): Promise<{ status: number; type: string; body: string }> {
  const { hostname, port } = new URL(at);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    let data = '';
    socket.on('data', (b) => (data += b.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head!)?.[1]), type: /content-type: ([^\r]+)/i.exec(head!)?.[1] ?? '', body });
    });
  });
}

test('answers before a route (a malformed request, headers too large, one connection too many) are described for every operation', async () => {
  const d = await described(base);
  const noHost = await raw(base, 'GET /tables HTTP/1.1\r\n\r\n');
  assert.equal((d.check('GET', '/tables', noHost.status, noHost.type, noHost.body) as Json).error.code, 'MISSING_HOST');
  const big = await fetch(`${base}/tables/word-counts/keys/openapi`, { headers: { 'x-big': 'x'.repeat(20_000) } });
  assert.equal(big.status, 431);
  d.check('GET', '/tables/word-counts/keys/openapi', big.status, big.headers.get('content-type') ?? '', await big.text());
  const one = await engine.serve({}, { maxConnections: 1 });
  const held = connect(Number(new URL(one).port), '127.0.0.1');
  await new Promise((resolve) => held.once('connect', resolve));
  try {
    const over = await raw(one, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(over.status, 503);
    assert.equal((d.check('GET', '/healthz', over.status, over.type, over.body) as Json).error.code, 'TOO_MANY_CONNECTIONS');
  } finally {
    held.destroy();
  }
});

// Last: the facade says it is stopping from now on.
test('/readyz while stopping: 503 NOT_READY with the state, as described', async () => {
  engine.facade.announceStop('stopping: test');
  const r = await call('/readyz');
  expect(r, 503, 'NOT_READY');
  assert.equal(r.body.state, 'running');
});

test('a time that is not RFC 3339 (no offset, February 30th) is refused, not guessed at in the server\'s time zone', async () => {
  for (const time of ['2026-11-24T10:00', '2026-11-24T10:00:00', '2026-02-30T10:00:00Z', '2026-11-24T24:00:00Z']) {
    expect(await call(`/tables/words-per-minute/keys/openapi?from=${time}`), 400, 'BAD_TIME');
    expect(await call(`/tables/words-per-minute?to=${time}`), 400, 'BAD_TIME');
    expect(await postJson('/topics/pieces/records', { value: 'x', timestamp: time }), 400, 'BAD_RECORD');
  }
  expect(await call('/tables/words-per-minute/keys/openapi?from=2026-11-24t10:00:00.5%2B01:00&to=2026-11-24T10:00:00z'), 200);
  expect(await postJson('/topics/pieces/records', [{ value: 'x', timestamp: '2028-02-29T23:59:59.999-00:30' }, { value: 'y', timestamp: '2026-11-24t10:00:00z' }]), 200);
});
