import { readFileSync } from 'node:fs';
import { SCHEMAS } from './openapi-schemas.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './query-params.js';
import { MAX_KEYS } from './query-router.js';
import { UI_FILES } from './ui.js';

/**
 * The OpenAPI 3.1 description of the HTTP API (docs/http-api.md), served at `GET /openapi.json`.
 * Every route, parameter, body, answer and error the server gives; test/server/openapi.test.ts
 * checks it against the routes express has and against real answers, and schemathesis against
 * thousands of generated requests.
 */

type Json = Record<string, unknown>;
const schema = (name: keyof typeof SCHEMAS): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (s: Json, example?: unknown): Json => ({ 'application/json': { schema: s, ...(example !== undefined && { example }) } });

const header = (description: string, s: Json = { type: 'string' }): Json => ({ description, schema: s });
const SERVED_BY = { 'Duality-Served-By': header('The `host:port` of the instance whose store answered (also when it is this one).') };
const RETRY_AFTER = { 'Retry-After': header('Seconds to wait before asking again.', { type: 'string', pattern: '^[0-9]+$' }) };

// What any request may get before it reaches a route: Node's parser and the server's limits (server/http-server.ts).
const MALFORMED = '`BAD_REQUEST`, `BAD_METHOD`, `MISSING_HOST`: not valid HTTP/1.1';
const TRANSPORT: Record<string, Json> = {
  '408': { $ref: '#/components/responses/RequestTimeout' },
  '417': { $ref: '#/components/responses/ExpectationFailed' },
  '431': { $ref: '#/components/responses/HeadersTooLarge' },
};

/**
 * The error answers of an operation, by status: the codes it gives (their descriptions), with the
 * ones every request may get added. A 503 carries Retry-After (both NOT_AVAILABLE and
 * TOO_MANY_CONNECTIONS do).
 */
function errors(codes: Record<number, string> = {}, body = schema('Error')): Record<string, Json> {
  const all: Record<number, string> = { ...codes, 400: [codes[400], MALFORMED].filter(Boolean).join('; '), 503: [codes[503], '`TOO_MANY_CONNECTIONS`: over --http-max-connections'].filter(Boolean).join('; ') };
  const out: Record<string, Json> = { ...TRANSPORT };
  for (const [status, description] of Object.entries(all)) {
    out[status] = { description, content: json(status === '503' ? body : schema('Error')), ...(status === '503' && { headers: RETRY_AFTER }) };
  }
  return out;
}

const param = (name: string, where: 'path' | 'query', description: string, s: Json, examples?: Record<string, unknown>): Json => ({
  name,
  in: where,
  description,
  ...(where === 'path' && { required: true }),
  schema: s,
  ...(examples && { examples: Object.fromEntries(Object.entries(examples).map(([k, value]) => [k, { value }])) }),
});
const p = (name: string): Json => ({ $ref: `#/components/parameters/${name}` });

const TIME = {
  anyOf: [
    { type: 'integer', minimum: -9_999_999_999_999_999, maximum: 9_999_999_999_999_999, description: 'Epoch milliseconds.' },
    { type: 'string', format: 'date-time', description: 'RFC 3339.' },
  ],
};

/** What this server's topology has: the values of the `table` and `topic` path parameters. */
export interface Names {
  readonly tables: readonly string[];
  readonly sourceTopics: readonly string[];
}

// A topology without any (a stream from topic to topic) still has the routes, which then answer 404.
const oneOf = (names: readonly string[]): Json => (names.length > 0 ? { type: 'string', enum: names } : { type: 'string', minLength: 1 });

const parameters = (names: Names) => ({
  table: param('table', 'path', "A table of this topology (`GET /tables` lists them); any other name is answered 404 `TABLE_NOT_FOUND`.", oneOf(names.tables)),
  key: param(
    'key',
    'path',
    'The key, read as the table\'s key serde reads text: a number for long, int and double keys, JSON for json keys (text that is not JSON is a string), the text itself for string keys; percent-encode `/`, `?`, `#`, `%`.',
    { type: 'string', minLength: 1 },
    { word: 'hello', number: '42' },
  ),
  topic: param('topic', 'path', "A source topic of this topology (a stream's or table's `topic:`); another topic is answered 403 `NOT_A_SOURCE_TOPIC` or 404 `TOPIC_NOT_FOUND`.", oneOf(names.sourceTopics)),
  from: param('from', 'query', 'Windowed tables: the start of the time range, included; open when left out. Windows that start in the range (sessions: that overlap it).', TIME, { rfc3339: '2026-11-24T10:00:00Z', ms: 1795514400000 }),
  to: param('to', 'query', 'Windowed tables: the end of the time range, included; open when left out; not before `from`.', TIME, { rfc3339: '2026-11-24T10:30:00Z' }),
  stale: param('stale', 'query', '`true` (or empty): while the instance holding the key cannot answer, a standby copy may; its answers say `"stale": true`.', { type: 'string', enum: ['true', 'false', ''] }),
  prefix: param('prefix', 'query', 'Only keys starting with this text; for tables with string, json or bytes keys that are not windowed.', { type: 'string' }, { he: 'he' }),
  limit: param('limit', 'query', `Entries per page; a page also holds at most about 1 MiB.`, { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }, { two: 2 }),
  cursor: param('cursor', 'query', 'The `cursor` of the previous page, for the next one.', { type: 'string', minLength: 1 }),
  format: param('format', 'query', 'json (default), or a diagram as text: mermaid, dot.', { type: 'string', enum: ['json', 'mermaid', 'dot'], default: 'json' }),
});

const keyErrors = {
  400: '`BAD_KEY`: not a key of the table\'s key serde; `BAD_URL`; `BAD_QUERY`: an unknown or repeated parameter, or from/to on a table that is not windowed; `BAD_TIME`',
  404: '`TABLE_NOT_FOUND`, `KEY_NOT_FOUND`',
  503: '`NOT_AVAILABLE`: no instance can answer for the key now (rebalancing, restoring, its holder gone)',
};
const bodyErrors = {
  413: '`BODY_TOO_LARGE`: over 1 MB',
  415: '`UNSUPPORTED_ENCODING`, `UNSUPPORTED_CHARSET`',
};

function paths(secured: boolean): Json {
  const open = { security: [] };
  // With a token, a 401 is possible on every route but the open ones.
  const auth = (codes: Record<number, string>): Record<number, string> => (secured ? { ...codes, 401: '`UNAUTHORIZED`: no bearer token, or another one' } : codes);
  const guarded = (errs: Record<string, Json>): Record<string, Json> =>
    errs['401'] ? { ...errs, '401': { ...errs['401'], headers: { 'WWW-Authenticate': header('`Bearer realm="duality"`') } } } : errs;
  const op = (o: { id: string; summary: string; description?: string; params?: Json[]; body?: Json; ok: Json; errs?: Record<number, string>; isOpen?: boolean; notReady?: boolean }): Json => ({
    operationId: o.id,
    summary: o.summary,
    ...(o.description !== undefined && { description: o.description }),
    ...(o.isOpen && open),
    ...(o.params && { parameters: o.params }),
    ...(o.body && { requestBody: { required: true, content: json(o.body) } }),
    responses: { '200': o.ok, ...guarded(errors(o.isOpen ? (o.errs ?? {}) : auth(o.errs ?? {}), o.notReady ? schema('NotReady') : schema('Error'))) },
  });
  const ok = (description: string, s: Json, example?: unknown, headers?: Json): Json => ({ description, content: json(s, example), ...(headers && { headers }) });
  const text = (description: string, type: string): Json => ({ description, content: { [type]: { schema: { type: 'string' } } } });

  return {
    '/healthz': { get: op({ id: 'health', summary: 'Liveness: 200 while the process answers', isOpen: true, ok: ok('Alive.', schema('Health'), { status: 'alive', state: 'running' }) }) },
    '/readyz': {
      get: op({
        id: 'ready',
        summary: 'Readiness: 200 once every task has restored its stores and runs',
        isOpen: true,
        notReady: true,
        ok: ok('Ready.', schema('Ready'), { status: 'ready', state: 'running' }),
        errs: { 503: '`NOT_READY`, with the engine\'s `state`: restoring, joining the group, recovering from a broker outage, stopping' },
      }),
    },
    '/metrics': { get: op({ id: 'metrics', summary: 'Prometheus metrics', isOpen: true, ok: text('The Prometheus text format (version 0.0.4).', 'text/plain') }) },
    '/openapi.json': { get: op({ id: 'openapi', summary: 'This description', isOpen: true, ok: ok('OpenAPI 3.1.', { type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } } }) }) },
    '/topology': {
      get: op({
        id: 'topology',
        summary: 'The compiled topology',
        params: [p('format')],
        ok: { description: 'The topology: JSON, or with format=mermaid or dot a diagram as text.', content: { ...json(schema('Topology')), 'text/plain': { schema: { type: 'string' } } } },
        errs: { 400: '`BAD_FORMAT`; `BAD_QUERY`: an unknown or repeated parameter' },
      }),
    },
    '/instances': {
      get: op({ id: 'instances', summary: 'The instances of the application, what each holds and its state', ok: ok('The group\'s members.', schema('Instances')), errs: { 400: '`BAD_QUERY`: it takes no parameter' } }),
    },
    '/tables': {
      get: op({
        id: 'tables',
        summary: 'The tables that can be queried',
        ok: ok('Every table of the topology.', schema('Tables'), { tables: [{ name: 'word-counts', keySerde: 'string', windowed: false }] }),
        errs: { 400: '`BAD_QUERY`: it takes no parameter' },
      }),
    },
    '/tables/{table}': {
      get: op({
        id: 'scan',
        summary: 'A page of a table\'s entries, in key order, gathered from every instance',
        params: [p('table'), p('prefix'), p('limit'), p('cursor'), p('from'), p('to')],
        ok: ok('A page; with a `cursor` when there may be more.', schema('Page'), { entries: [{ key: 'hello', value: 2 }, { key: 'hey', value: 1 }], cursor: 'ImhleSI' }, SERVED_BY),
        errs: {
          400: '`BAD_QUERY`: an unknown or repeated parameter, or from/to on a table that is not windowed; `BAD_LIMIT`; `BAD_PREFIX`: prefix on a windowed table or one whose keys are not text; `BAD_CURSOR`; `BAD_TIME`',
          404: '`TABLE_NOT_FOUND`',
          503: '`NOT_AVAILABLE`: a partition is held by no instance that answers now',
        },
      }),
    },
    '/tables/{table}/keys/{key}': {
      get: op({
        id: 'getKey',
        summary: 'One key\'s value; a windowed table\'s windows of the key',
        params: [p('table'), p('key'), p('from'), p('to'), p('stale')],
        ok: ok('The key and its value, or its windows in the range (empty when none).', schema('KeyAnswer'), { key: 'hello', value: 2 }, SERVED_BY),
        errs: keyErrors,
      }),
    },
    '/tables/{table}/keys': {
      post: op({
        id: 'getKeys',
        summary: `Many keys' values at once (1 to ${MAX_KEYS})`,
        description: 'Every key asked for, found or not, in the order asked; asked of one instance, it asks each other instance once for the keys it holds.',
        params: [p('table'), p('from'), p('to'), p('stale')],
        body: { ...schema('KeysRequest'), examples: [{ keys: ['hello', 'nope'] }] },
        ok: ok('One entry per key.', schema('KeysAnswer'), { entries: [{ key: 'hello', found: true, value: 2 }, { key: 'nope', found: false }] }, SERVED_BY),
        errs: { ...keyErrors, 400: `${keyErrors[400]}; \`BAD_JSON\`, \`BAD_KEYS\`: the body is not {"keys": [...]}; \`TOO_MANY_KEYS\`; \`BAD_BODY\`, \`REQUEST_ABORTED\``, 404: '`TABLE_NOT_FOUND`', ...bodyErrors },
      }),
    },
    '/': { get: op({ id: 'page', summary: 'The operator\'s page: topology, rates, lag, instances, tables, dead letters', description: 'HTML; it needs no token and asks for one when the API it calls does.', isOpen: true, ok: text('The page.', 'text/html'), errs: { 400: '`BAD_QUERY`: it takes no parameter' } }) },
    '/ui/{file}': {
      get: op({
        id: 'pageFile',
        summary: 'A file of the page (its scripts, styles, the graph layout library)',
        isOpen: true,
        params: [param('file', 'path', 'One of the page\'s files.', { type: 'string', enum: UI_FILES })],
        ok: { description: 'The file.', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } },
        errs: { 404: '`NOT_FOUND`: not a file of the page' },
      }),
    },
    '/dead-letters': {
      get: op({
        id: 'deadLetters',
        summary: 'The newest records of the dead-letter topic, with the headers saying why each failed',
        params: [param('limit', 'query', 'How many records.', { type: 'integer', minimum: 1, maximum: 200, default: 20 })],
        ok: ok('The records; none when the policy keeps none.', schema('DeadLetters'), { policy: 'dlq', topic: 'wordcount-dlq', records: [{ partition: 0, offset: 0, timestamp: 1795514400000, key: null, value: 'not json', headers: { '__streams.errors.exception': 'SERDE' } }] }),
        errs: { 400: '`BAD_QUERY`: an unknown or repeated parameter; `BAD_LIMIT`' },
      }),
    },
    '/topics/{topic}/records': {
      post: op({
        id: 'postRecords',
        summary: 'Writes records to a source topic; answers once they are durable',
        params: [p('topic')],
        body: { ...schema('Records'), examples: [{ key: 'o1', value: { sku: 'a', qty: 2 } }] },
        ok: ok('Where each record went.', schema('Written'), { topic: 'orders', offsets: [{ partition: 0, offset: 0 }] }),
        errs: {
          400: '`EMPTY_BODY`, `BAD_JSON`, `EMPTY_LIST`, `BAD_RECORD`: the body is not a record or a list of them, or its key, value or timestamp do not fit the topic\'s serdes; `BAD_BODY`, `REQUEST_ABORTED`',
          403: '`NOT_A_SOURCE_TOPIC`: a sink, changelog, repartition or dead-letter topic',
          404: '`TOPIC_NOT_FOUND`',
          ...bodyErrors,
        },
      }),
    },
  };
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The description of one server: `secured` when it needs a bearer token (DUALITY_API_TOKEN) on
 * its guarded routes; `names`, its topology's tables and source topics, so that a client generated
 * from it knows them (they are no secret: /metrics, open too, names every node and store).
 */
export function openApiDocument(secured: boolean, names: Names): Json {
  const errorResponse = (description: string): Json => ({ description, content: json(schema('Error')) });
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Duality',
      version: VERSION,
      description:
        'Health, metrics, the compiled topology, queries of its tables and writes to its topics, of a running `duality run` (docs/http-api.md). Every error is `{"error": {"code", "message"}}`: 4xx for bad input, 5xx only for a bug (500 `INTERNAL`, not listed) or the unavailable. Calls between instances carry `Duality-Forwarded-By` and get answers in a form of their own, not described here.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    ...(secured && { security: [{ bearer: [] }] }),
    paths: paths(secured),
    components: {
      schemas: SCHEMAS,
      parameters: parameters(names),
      responses: {
        RequestTimeout: errorResponse('`REQUEST_TIMEOUT`: the request did not arrive within --http-headers-timeout / --http-request-timeout.'),
        ExpectationFailed: errorResponse('`EXPECTATION_FAILED`: an `Expect` other than 100-continue.'),
        HeadersTooLarge: errorResponse('`HEADERS_TOO_LARGE`: request line and headers over --http-max-header-size.'),
      },
      ...(secured && { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The value of DUALITY_API_TOKEN the server was started with.' } } }),
    },
  };
}
