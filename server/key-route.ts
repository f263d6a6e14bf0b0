import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestError } from '../engine/api/engine-facade.js';
import { CHALLENGE, type TokenCheck } from './auth.js';
import { errorJson, failure, HttpError, type Reply } from './errors.js';
import { parseRange, parseStale, readQuery, searchOf } from './query-params.js';
import { FORWARDED_BY, type QueryRouter } from './query-router.js';

const KEY_PATH = /^\/tables\/([^/?]+)\/keys\/([^/?]+)(?:\?|$)/;

/**
 * `GET /tables/{table}/keys/{key}`, the route clients call most, served straight from node:http:
 * express's routing and response helpers cost more than the lookup itself. Same checks and same
 * answers as every other route: the token, JSON errors, 4xx for bad input.
 */
export class KeyRoute {
  static readonly routes = [{ method: 'get', path: '/tables/{table}/keys/{key}' }];

  constructor(
    private readonly router: QueryRouter,
    private readonly check: TokenCheck | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** Serves `req` when it is a GET (or HEAD) of a key; false (untouched) for any other request. */
  tryServe(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const m = KEY_PATH.exec(req.url ?? '');
    if (!m) return false;
    void this.serve(req, res, m[1]!, m[2]!);
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, rawTable: string, rawKey: string): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.answer(req, rawTable, rawKey);
    } catch (e) {
      reply = failure(e, this.log, req);
    }
    send(res, reply);
  }

  private async answer(req: IncomingMessage, rawTable: string, rawKey: string): Promise<Reply> {
    const authorization = req.headers.authorization;
    if (this.check) {
      const refused = this.check(authorization);
      if (refused !== undefined) return { status: 401, body: errorJson('UNAUTHORIZED', refused), headers: { 'www-authenticate': CHALLENGE } };
    }
    const table = decode(rawTable, 'table name');
    const key = decode(rawKey, 'key');
    const search = searchOf(req.url!);
    const q = readQuery(search, ['from', 'to', 'stale']);
    const forwardedBy = req.headers[FORWARDED_BY];
    return await this.router
      .key(table, key, { range: parseRange(q), stale: parseStale(q.stale), search }, { authorization, forwardedBy: typeof forwardedBy === 'string' ? forwardedBy : undefined })
      .catch(badInput('BAD_KEY', `key "${key}" cannot be looked up in "${table}"`));
  }
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, 'BAD_URL', `the ${what} in the URL is not valid percent-encoded UTF-8: ${text}`);
  }
}

export function send(res: ServerResponse, reply: Reply): void {
  const body = reply.body;
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...reply.headers });
  res.end(body);
}

/**
 * The facade checks keys and cursors against the table's key serde, but a few values get past
 * that check and fail deeper, in the serde (SERDE) or the store (STORE, a null key). Those came
 * from the request, so they are the client's 400, not our 500.
 */
export function badInput(code: string, message: string): (e: unknown) => never {
  return (e) => {
    const c = (e as { code?: unknown } | null)?.code;
    if (!(e instanceof RequestError) && (c === 'SERDE' || c === 'STORE')) throw new HttpError(400, code, `${message}: ${(e as Error).message}`);
    throw e;
  };
}
