import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type Request, type Response } from 'express';
import type { EngineFacade } from '../engine/api/engine-facade.js';
import { renderGraph } from '../engine/describe/index.js';
import { requireToken, tokenCheck } from './auth.js';
import { errorHandler, HttpError, methodNotAllowed, notFound, type Reply } from './errors.js';
import { jsonReplacer } from './json.js';
import { badInput, KeyRoute } from './key-route.js';
import { createMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { Peers } from './peers.js';
import { parseLimit, parseRange, parseStale, readQuery, searchOf } from './query-params.js';
import { FORWARDED_BY, MAX_KEYS, QueryRouter, type Caller } from './query-router.js';
import { parseRecords } from './records.js';
import { addUiRoutes } from './ui.js';

export interface AppOptions {
  /** When set, every route but /healthz, /readyz, /metrics, /openapi.json and the page (/, /ui/*) needs `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Where unexpected failures are logged with their stack; stderr by default. */
  readonly log?: (line: string) => void;
  /** Connections to the other instances (forwarded queries); one of its own by default. */
  readonly peers?: Peers;
}

const MAX_BODY = '1mb';
// Keys a prefix can select: the store compares prefixes as text (metered-store.ts).
const PREFIX_SERDES = new Set(['string', 'json', 'bytes']);

/**
 * The HTTP API (docs/http-api.md) over an engine. A factory, so tests can serve it on any port; the
 * caller listens and closes. Every answer is JSON except /metrics and the topology diagrams.
 */
/** A route as the OpenAPI description names it: `/tables/{table}`. */
export interface Route {
  readonly method: string;
  readonly path: string;
}

/** The server's request listener, and the routes it serves (to check its description against). */
export type App = RequestListener & { readonly routes: () => Route[] };

export function createApp(engine: EngineFacade, options: AppOptions = {}): App {
  const app = express();
  const log = options.log ?? ((l) => process.stderr.write(l + '\n'));
  const metrics = createMetrics(engine);
  const router = new QueryRouter(engine, options.peers ?? new Peers());
  const check = options.token ? tokenCheck(options.token) : undefined;
  const keyRoute = new KeyRoute(router, check, log);
  app.set('x-powered-by', false);
  app.set('json replacer', jsonReplacer);
  if (check) app.use(requireToken(check));
  const caller = (req: Request): Caller => ({ authorization: req.get('authorization'), forwardedBy: req.get(FORWARDED_BY) });
  const reply = (res: Response, r: Reply): void => {
    res.status(r.status).set(r.headers).type('application/json').send(r.body);
  };

  app.route('/healthz').get((_req, res) => {
    res.json({ status: 'alive', state: engine.state });
  }).all(methodNotAllowed('GET'));

  app.route('/readyz').get((_req, res) => {
    if (engine.ready()) res.json({ status: 'ready', state: engine.state });
    else res.status(503).json({ error: { code: 'NOT_READY', message: engine.problem ?? notReady(engine.state) }, state: engine.state });
  }).all(methodNotAllowed('GET'));

  const names = { tables: engine.tables().map((t) => t.name), sourceTopics: engine.graph.topics.filter((t) => t.role === 'source').map((t) => t.name) };
  const description = JSON.stringify(openApiDocument(check !== undefined, names));
  app.route('/openapi.json').get((_req, res) => {
    res.type('application/json').send(description);
  }).all(methodNotAllowed('GET'));

  app.route('/metrics').get(async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.render());
  }).all(methodNotAllowed('GET'));

  app.route('/topology').get((req, res) => {
    const { format = 'json' } = readQuery(searchOf(req.url), ['format']);
    if (format === 'json') res.type('application/json').send(renderGraph(engine.graph, 'json'));
    else if (format === 'mermaid' || format === 'dot') res.type('text/plain; charset=utf-8').send(renderGraph(engine.graph, format));
    else throw new HttpError(400, 'BAD_FORMAT', `format must be json, mermaid or dot, not "${format}"`);
  }).all(methodNotAllowed('GET'));

  app.route('/instances').get(async (req, res) => {
    readQuery(searchOf(req.url), []);
    reply(res, await router.instances(engine.state, caller(req)));
  }).all(methodNotAllowed('GET'));

  app.route('/tables').get((req, res) => {
    readQuery(searchOf(req.url), []);
    res.json({ tables: engine.tables().map(({ name, keySerde, windowed }) => ({ name, keySerde, windowed })) });
  }).all(methodNotAllowed('GET'));

  // GET and HEAD are served by keyRoute before express; here the other methods get their 405.
  app.route('/tables/:table/keys/:key').all(methodNotAllowed('GET'));

  app.route('/tables/:table/keys').post(express.raw({ type: () => true, limit: MAX_BODY }), async (req, res) => {
    const { table } = req.params as { table: string };
    const search = searchOf(req.url);
    const q = readQuery(search, ['from', 'to', 'stale']);
    const keys = parseKeys(req.body as Buffer | undefined);
    const r = await router
      .keys(table, keys, { range: parseRange(q), stale: parseStale(q.stale), search }, caller(req))
      .catch(badInput('BAD_KEY', `the keys cannot be looked up in "${table}"`));
    reply(res, r);
  }).all(methodNotAllowed('POST'));

  app.route('/tables/:table').get(async (req, res) => {
    const { table } = req.params as { table: string };
    const search = searchOf(req.url);
    const { prefix, limit, cursor, ...times } = readQuery(search, ['prefix', 'limit', 'cursor', 'from', 'to']);
    const info = engine.tables().find((t) => t.name === table);
    if (prefix !== undefined && info && (info.windowed || !PREFIX_SERDES.has(info.keySerde))) {
      throw new HttpError(400, 'BAD_PREFIX', info.windowed ? `table "${table}" is windowed; its pages are selected by time (from, to), not by prefix` : `table "${table}" has ${info.keySerde} keys; a prefix selects text keys only`);
    }
    router.checkRange(table, times.from !== undefined || times.to !== undefined);
    const page = await router
      .scan(table, { limit: parseLimit(limit), range: parseRange(times), search, ...(prefix !== undefined && { prefix }), ...(cursor !== undefined && { cursor }) }, caller(req))
      .catch(badInput('BAD_CURSOR', 'the cursor is not one this server gave out for this table'));
    reply(res, page);
  }).all(methodNotAllowed('GET'));

  app.route('/topics/:topic/records').post(express.raw({ type: () => true, limit: MAX_BODY }), async (req, res) => {
    const { topic } = req.params as { topic: string };
    const records = parseRecords(req.body as Buffer | undefined);
    res.json({ topic, offsets: await engine.produce(topic, records) });
  }).all(methodNotAllowed('POST'));

  addUiRoutes(app, engine);
  app.use(notFound);
  app.use(errorHandler(log));
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const began = performance.now();
    const byKey = keyRoute.tryServe(req, res);
    // The route is known once express has matched it; a request aborted before its answer is not counted.
    res.once('finish', () => metrics.observeRequest(byKey ? KeyRoute.routes[0]!.path : routeOf(req), req.method ?? 'OTHER', res.statusCode, (performance.now() - began) / 1000));
    if (!byKey) app(req, res);
  };
  return Object.assign(listener, { routes: () => [...KeyRoute.routes, ...expressRoutes(app)] });
}

/**
 * The pattern of the route that answered, as the OpenAPI description writes it (`/tables/{table}`);
 * `unmatched` for a request answered before any route matched it (404, or 401 without a token).
 */
function routeOf(req: IncomingMessage): string {
  const path = (req as Request).route?.path as unknown;
  return typeof path === 'string' ? openApiPath(path) : 'unmatched';
}

/** An express path as OpenAPI writes it: `/tables/:table` is `/tables/{table}`. */
const openApiPath = (expressPath: string): string => expressPath.replace(/:(\w+)/g, '{$1}');

/** The methods express serves on each path (other than the 405s of `.all`), as the OpenAPI description writes paths. */
function expressRoutes(app: express.Express): Route[] {
  const out = new Map<string, Route>();
  for (const layer of (app.router as unknown as { stack: { route?: { path: string; stack: { method?: string }[] } }[] }).stack) {
    // A route's body parser and its handler are two layers of the same method.
    for (const { method } of layer.route?.stack ?? []) {
      const path = openApiPath(layer.route!.path);
      if (method !== undefined && method !== '_all') out.set(`${method} ${path}`, { method, path });
    }
  }
  return [...out.values()];
}

/** The body of `POST /tables/{table}/keys`: `{"keys": [...]}`, the keys as JSON values. */
function parseKeys(body: Buffer | undefined): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body?.toString('utf8') ?? '');
  } catch (e) {
    throw new HttpError(400, 'BAD_JSON', `the body must be JSON like {"keys": ["a", "b"]}: ${(e as Error).message}`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || Object.keys(parsed as object).length !== 1) throw new HttpError(400, 'BAD_KEYS', 'the body must be {"keys": [...]}, with one key or more');
  if (keys.length > MAX_KEYS) throw new HttpError(400, 'TOO_MANY_KEYS', `at most ${MAX_KEYS} keys per request, not ${keys.length}`);
  return keys;
}

function notReady(state: string): string {
  if (state === 'failed') return 'the engine has failed; its log says why';
  if (state === 'stopping' || state === 'stopped') return `the engine is ${state}`;
  return `the engine is ${state} (restoring its stores or joining); it is ready once running`;
}

