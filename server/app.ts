import express, { type Request } from 'express';
import { RequestError, type EngineFacade } from '../engine/api/engine-facade.js';
import { renderGraph } from '../engine/describe/index.js';
import { requireToken } from './auth.js';
import { errorHandler, HttpError, methodNotAllowed, notFound, sendError } from './errors.js';
import { createMetrics } from './metrics.js';
import { parseRecords } from './records.js';

export interface AppOptions {
  /** When set, every route but /healthz, /readyz and /metrics needs `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Where unexpected failures are logged with their stack; stderr by default. */
  readonly log?: (line: string) => void;
}

const MAX_BODY = '1mb';
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
// Keys a prefix can select: the store compares prefixes as text (metered-store.ts).
const PREFIX_SERDES = new Set(['string', 'json', 'bytes']);

/**
 * The HTTP API (docs/http-api.md) over an engine. A factory, so tests can serve it on any port; the
 * caller listens and closes. Every answer is JSON except /metrics and the topology diagrams.
 */
export function createApp(engine: EngineFacade, options: AppOptions = {}): express.Express {
  const app = express();
  const metrics = createMetrics(engine);
  app.set('x-powered-by', false);
  app.set('json replacer', jsonReplacer);
  if (options.token) app.use(requireToken(options.token));

  app.route('/healthz').get((_req, res) => {
    res.json({ status: 'alive', state: engine.state });
  }).all(methodNotAllowed('GET'));

  app.route('/readyz').get((_req, res) => {
    if (engine.ready()) res.json({ status: 'ready', state: engine.state });
    else res.status(503).json({ error: { code: 'NOT_READY', message: engine.problem ?? notReady(engine.state) }, state: engine.state });
  }).all(methodNotAllowed('GET'));

  app.route('/metrics').get(async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.render());
  }).all(methodNotAllowed('GET'));

  app.route('/topology').get((req, res) => {
    const { format = 'json' } = query(req, ['format']);
    if (format === 'json') res.type('application/json').send(renderGraph(engine.graph, 'json'));
    else if (format === 'mermaid' || format === 'dot') res.type('text/plain; charset=utf-8').send(renderGraph(engine.graph, format));
    else throw new HttpError(400, 'BAD_FORMAT', `format must be json, mermaid or dot, not "${format}"`);
  }).all(methodNotAllowed('GET'));

  app.route('/tables').get((_req, res) => {
    res.json({ tables: engine.tables().map(({ name, keySerde, windowed }) => ({ name, keySerde, windowed })) });
  }).all(methodNotAllowed('GET'));

  app.route('/tables/:table/keys/:key').get(async (req, res) => {
    const { table, key } = req.params as { table: string; key: string };
    const found = await engine.get(table, key).catch(badInput('BAD_KEY', `key "${key}" cannot be looked up in "${table}"`));
    if (found === undefined) sendError(res, 404, 'KEY_NOT_FOUND', `table "${table}" has no key "${key}"`);
    else res.json(found);
  }).all(methodNotAllowed('GET'));

  app.route('/tables/:table').get(async (req, res) => {
    const { table } = req.params as { table: string };
    const { prefix, limit, cursor } = query(req, ['prefix', 'limit', 'cursor']);
    const info = engine.tables().find((t) => t.name === table);
    if (prefix !== undefined && info && !PREFIX_SERDES.has(info.keySerde)) {
      throw new HttpError(400, 'BAD_PREFIX', `table "${table}" has ${info.keySerde} keys; a prefix selects text keys only`);
    }
    const page = await engine
      .scan(table, { limit: parseLimit(limit), ...(prefix !== undefined && { prefix }), ...(cursor !== undefined && { cursor }) })
      .catch(badInput('BAD_CURSOR', 'the cursor is not one this server gave out for this table'));
    res.json(page);
  }).all(methodNotAllowed('GET'));

  app.route('/topics/:topic/records').post(express.raw({ type: () => true, limit: MAX_BODY }), async (req, res) => {
    const { topic } = req.params as { topic: string };
    const records = parseRecords(req.body as Buffer | undefined);
    res.json({ topic, offsets: await engine.produce(topic, records) });
  }).all(methodNotAllowed('POST'));

  app.use(notFound);
  app.use(errorHandler(options.log ?? ((l) => process.stderr.write(l + '\n'))));
  return app;
}

/** Single-valued query parameters among `allowed`: a misspelt one is an error, not ignored. */
function query(req: Request, allowed: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.query as Record<string, unknown>)) {
    if (!allowed.includes(name)) throw new HttpError(400, 'BAD_QUERY', `unknown query parameter "${name}"; this route takes ${allowed.join(', ')}`);
    if (typeof value !== 'string') throw new HttpError(400, 'BAD_QUERY', `query parameter "${name}" must be given once`);
    out[name] = value;
  }
  return out;
}

function notReady(state: string): string {
  if (state === 'failed') return 'the engine has failed; its log says why';
  if (state === 'stopping' || state === 'stopped') return `the engine is ${state}`;
  return `the engine is ${state} (restoring its stores or joining); it is ready once running`;
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  const n = /^[0-9]{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw new HttpError(400, 'BAD_LIMIT', `limit must be a whole number from 1 to ${MAX_LIMIT}, not "${text}"`);
  return n;
}

/**
 * The facade checks keys and cursors against the table's key serde, but a few values get past
 * that check and fail deeper, in the serde (SERDE) or the store (STORE, a null key). Those came
 * from the request, so they are the client's 400, not our 500.
 */
function badInput(code: string, message: string): (e: unknown) => never {
  return (e) => {
    const c = (e as { code?: unknown } | null)?.code;
    if (!(e instanceof RequestError) && (c === 'SERDE' || c === 'STORE')) throw new HttpError(400, code, `${message}: ${(e as Error).message}`);
    throw e;
  };
}

/** Bytes show as base64 in JSON (as the json serde writes them), not as {"type":"Buffer"}. */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  if (original instanceof Uint8Array) return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}
