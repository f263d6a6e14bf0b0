import { MAX_KEYS } from './query-router.js';

/**
 * The JSON Schemas (2020-12, as OpenAPI 3.1 takes them) of the API's bodies, for
 * `components.schemas` of the description (server/openapi.ts). They say what the server sends and
 * accepts, checked against real answers by test/server/openapi.test.ts and schemathesis.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const closed = (properties: Record<string, unknown>, required: string[], description?: string) => ({
  type: 'object',
  ...(description !== undefined && { description }),
  properties,
  required,
  additionalProperties: false,
});

const STATES = ['created', 'restoring', 'running', 'recovering', 'stopping', 'stopped', 'failed'];
const anyJson = (description: string) => ({ description });
const stale = { const: true, description: 'Present when a standby copy answered (`?stale=true`): it may lag the active task.' };
const epochMs = (description: string) => ({ type: 'integer', description });

const window = closed(
  { start: epochMs('The window\'s start, epoch milliseconds.'), end: epochMs('Its end, epoch milliseconds (exclusive for tumbling and hopping windows).'), value: anyJson('The aggregate of the window.') },
  ['start', 'end', 'value'],
);

export const SCHEMAS = {
  ErrorDetail: closed(
    {
      code: { type: 'string', pattern: '^[A-Z][A-Z_]*$', description: 'Stable, for programs: `BAD_QUERY`, `KEY_NOT_FOUND`, `NOT_AVAILABLE`, ... (docs/http-api.md#errors).', examples: ['KEY_NOT_FOUND'] },
      message: { type: 'string', description: 'For people: what is wrong and what to do.', examples: ['table "word-counts" has no key "nope"'] },
    },
    ['code', 'message'],
  ),
  Error: closed({ error: ref('ErrorDetail') }, ['error'], 'Every error answer, whatever its status.'),
  NotReady: closed(
    { error: ref('ErrorDetail'), state: ref('State') },
    ['error'],
    "An error; from /readyz with the engine's state (none when the connection was one too many: TOO_MANY_CONNECTIONS).",
  ),
  State: { type: 'string', enum: STATES, description: 'What the engine does now.' },
  Health: closed({ status: { const: 'alive' }, state: ref('State') }, ['status', 'state']),
  Ready: closed({ status: { const: 'ready' }, state: ref('State') }, ['status', 'state']),
  Tables: closed(
    {
      tables: {
        type: 'array',
        items: closed(
          {
            name: { type: 'string', examples: ['word-counts'] },
            keySerde: { type: 'string', enum: ['string', 'json', 'long', 'int', 'double', 'bytes'], description: 'How keys are read: from a URL\'s text, or as JSON values in POST bodies.' },
            windowed: { type: 'boolean', description: 'Its keys hold windows, selected by `from` and `to`.' },
          },
          ['name', 'keySerde', 'windowed'],
        ),
      },
    },
    ['tables'],
  ),
  Window: window,
  KeyValue: closed({ key: anyJson('The key, as the table\'s key serde reads it.'), value: anyJson('Its value.'), stale }, ['key', 'value'], 'A key of a table that is not windowed.'),
  KeyWindows: closed(
    { key: anyJson('The key.'), windows: { type: 'array', items: ref('Window'), description: 'The key\'s windows in the range asked, by start; empty when none.' }, stale },
    ['key', 'windows'],
    'A key of a windowed table.',
  ),
  KeyAnswer: { oneOf: [ref('KeyValue'), ref('KeyWindows')] },
  KeysRequest: closed(
    { keys: { type: 'array', minItems: 1, maxItems: MAX_KEYS, items: { not: { type: 'null' } }, description: 'The keys as JSON values: strings, numbers, or any JSON for `json` keys; not null.' } },
    ['keys'],
  ),
  KeysEntry: {
    oneOf: [
      closed({ key: anyJson('The key asked for.'), found: { const: false } }, ['key', 'found']),
      closed({ key: anyJson('The key, as the table\'s key serde read it.'), found: { const: true }, value: anyJson('Its value.'), stale }, ['key', 'found', 'value']),
      closed({ key: anyJson('The key.'), found: { const: true }, windows: { type: 'array', items: ref('Window') }, stale }, ['key', 'found', 'windows']),
    ],
  },
  KeysAnswer: closed({ entries: { type: 'array', items: ref('KeysEntry'), description: 'One per key asked for, in the order asked.' } }, ['entries']),
  Page: closed(
    {
      entries: {
        type: 'array',
        items: {
          oneOf: [
            closed({ key: {}, value: {} }, ['key', 'value'], 'An entry of a table that is not windowed.'),
            closed({ key: {}, start: epochMs('The window\'s start.'), end: epochMs('Its end.'), value: {} }, ['key', 'start', 'end', 'value'], 'One window of one key, of a windowed table.'),
          ],
        },
      },
      cursor: { type: 'string', minLength: 1, description: 'Present when there may be more entries: pass it as `cursor` for the next page.' },
    },
    ['entries'],
    'A page of a table, in key order (a windowed table: by window start then key; sessions: by key then start).',
  ),
  DeadLetters: closed(
    {
      policy: { type: 'string', enum: ['dlq', 'skip', 'fail'], description: 'The topology\'s `errors.policy`; only `dlq` keeps records.' },
      topic: { type: ['string', 'null'], description: 'The dead-letter topic; null unless the policy is `dlq`.', examples: ['wordcount-dlq'] },
      records: {
        type: 'array',
        description: 'Its newest records first (by timestamp).',
        items: closed(
          {
            partition: { type: 'integer', minimum: 0 },
            offset: { type: 'integer', minimum: 0 },
            timestamp: epochMs('The failed record\'s timestamp, epoch milliseconds.'),
            key: ref('RawBytes'),
            value: ref('RawBytes'),
            headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Its own headers and why it failed: `__streams.errors.exception` (the code), `__streams.errors.message`, `.topic`, `.partition`, `.offset`, `__duality.errors.node`.' },
          },
          ['partition', 'offset', 'timestamp', 'key', 'value', 'headers'],
        ),
      },
    },
    ['policy', 'topic', 'records'],
  ),
  RawBytes: {
    description: 'The failed record\'s bytes as it came: text when they are UTF-8, else base64; null for none.',
    anyOf: [{ type: 'null' }, { type: 'string' }, closed({ base64: { type: 'string', contentEncoding: 'base64' } }, ['base64'])],
  },
  Instances: closed(
    {
      instances: {
        type: 'array',
        items: closed(
          {
            endpoint: { type: ['string', 'null'], description: 'The `host:port` it advertises; null when it advertises none.' },
            self: { type: 'boolean', description: 'Whether it is the instance that answered.' },
            state: { type: 'string', description: 'The state it reports (`running`, `restoring`, ...), or `unreachable`.', examples: ['running', 'unreachable'] },
            active: { type: 'array', items: { type: 'string' }, description: 'Its active tasks (`0_1`: sub-topology 0, partition 1).' },
            standby: { type: 'array', items: { type: 'string' }, description: 'The tasks it keeps standby copies of.' },
          },
          ['endpoint', 'self', 'state', 'active', 'standby'],
        ),
      },
    },
    ['instances'],
  ),
  Topology: {
    type: 'object',
    description: 'The compiled topology, as `duality describe --format json` prints it.',
    required: ['version', 'name', 'definitions', 'nodes', 'topics', 'stores', 'subtopologies'],
    properties: {
      version: { const: 1 },
      name: { type: 'string' },
      definitions: { type: 'array', items: { type: 'object' } },
      nodes: { type: 'array', items: { type: 'object' } },
      topics: {
        type: 'array',
        items: { type: 'object', required: ['name', 'role'], properties: { name: { type: 'string' }, role: { enum: ['source', 'sink', 'repartition', 'changelog', 'dlq'] } } },
      },
      stores: { type: 'array', items: { type: 'object' } },
      subtopologies: { type: 'array', items: { type: 'object' } },
    },
  },
  Record: closed(
    {
      key: anyJson('The key; null when left out.'),
      value: anyJson('The value; null deletes the key of a table (it must be given, so a delete is never an accident).'),
      timestamp: {
        oneOf: [
          { type: 'integer', minimum: 0, maximum: 8.64e15, description: 'Epoch milliseconds.' },
          { type: 'string', format: 'date-time', description: 'RFC 3339.' },
        ],
        description: 'The record\'s time; now when left out.',
      },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
    },
    ['value'],
  ),
  Records: {
    description: 'One record or a non-empty list; one bad record in a list writes none of them.',
    oneOf: [ref('Record'), { type: 'array', minItems: 1, items: ref('Record') }],
  },
  Written: closed(
    {
      topic: { type: 'string' },
      offsets: { type: 'array', items: closed({ partition: { type: 'integer', minimum: 0 }, offset: { type: 'integer', minimum: 0 } }, ['partition', 'offset']), description: 'Where each record went, in the order posted.' },
    },
    ['topic', 'offsets'],
  ),
};
