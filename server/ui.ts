import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type express from 'express';
import type { LogRecord } from '../engine/api/log.js';
import type { EngineFacade } from '../engine/api/engine-facade.js';
import { HttpError, methodNotAllowed } from './errors.js';
import { readQuery, searchOf } from './query-params.js';

/**
 * The operator's page at `/` (docs/http-api.md, "The page"): static files read once at start, the
 * graph layout library (elkjs) from node_modules, so the page needs no network beyond this server.
 * The page and its files hold no data and need no token; the API calls the page makes do.
 */
const DIR = fileURLToPath(new URL('../../server/ui/', import.meta.url));
const ELK = createRequire(import.meta.url).resolve('elkjs/lib/elk.bundled.js');

/** The page's files, by the name `/ui/{file}` serves them under. */
const FILES: Record<string, { path: string; type: string }> = {
  'app.js': { path: `${DIR}app.js`, type: 'text/javascript; charset=utf-8' },
  'panels.js': { path: `${DIR}panels.js`, type: 'text/javascript; charset=utf-8' },
  'graph.js': { path: `${DIR}graph.js`, type: 'text/javascript; charset=utf-8' },
  'style.css': { path: `${DIR}style.css`, type: 'text/css; charset=utf-8' },
  'elk.js': { path: ELK, type: 'text/javascript; charset=utf-8' },
};
export const UI_FILES = Object.keys(FILES);

/** Scripts and styles from this server only, none inline; no frames, plugins or foreign fetches. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Paths served without a token: they are the same for every instance and hold no data. */
export const isUiPath = (path: string): boolean => path === '/' || path.startsWith('/ui/');

const DEFAULT_DEAD_LETTERS = 20;
const MAX_DEAD_LETTERS = 200;

export function addUiRoutes(app: express.Express, engine: EngineFacade): void {
  const index = readFileSync(`${DIR}index.html`);
  const files = new Map(Object.entries(FILES).map(([name, f]) => [name, { body: readFileSync(f.path), type: f.type }]));
  const page = (res: express.Response, body: Buffer, type: string): void => {
    res.set({ 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' }).type(type).send(body);
  };

  app.route('/').get((req, res) => {
    readQuery(searchOf(req.url), []);
    page(res, index, 'text/html; charset=utf-8');
  }).all(methodNotAllowed('GET'));

  app.route('/ui/:file').get((req, res) => {
    const { file } = req.params as { file: string };
    const f = files.get(file);
    if (!f) throw new HttpError(404, 'NOT_FOUND', `no file "${file}"; the page's files are ${UI_FILES.join(', ')}`);
    page(res, f.body, f.type);
  }).all(methodNotAllowed('GET'));

  app.route('/dead-letters').get(async (req, res) => {
    const { limit } = readQuery(searchOf(req.url), ['limit']);
    const n = limit === undefined ? DEFAULT_DEAD_LETTERS : Number(limit);
    if (!/^[0-9]+$/.test(limit ?? '1') || n < 1 || n > MAX_DEAD_LETTERS) throw new HttpError(400, 'BAD_LIMIT', `limit must be a whole number from 1 to ${MAX_DEAD_LETTERS}, not "${limit}"`);
    const { policy, topic } = engine.graph.errors;
    res.json({ policy, topic: policy === 'dlq' ? topic : null, records: (await engine.deadLetters(n)).map(deadLetter) });
  }).all(methodNotAllowed('GET'));
}

/** Bytes as text when they are UTF-8, else `{"base64": ...}`: a record that failed to decode may be neither JSON nor text. */
function bytes(b: Buffer | null): string | { base64: string } | null {
  if (b === null) return null;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(b);
  return Buffer.from(text, 'utf8').equals(b) ? text : { base64: b.toString('base64') };
}

function deadLetter(r: LogRecord): object {
  return {
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: bytes(r.key),
    value: bytes(r.value),
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString('utf8')])),
  };
}
