import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendError } from './errors.js';

/** Probes and scrapers carry no credentials (docs/http-api.md: the API token spares these). */
const OPEN = new Set(['/healthz', '/readyz', '/metrics']);

// Comparing digests makes both sides the same length, so timingSafeEqual never leaks the length.
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** `Authorization: Bearer <token>` on every route but the open ones, when a token is set. */
export function requireToken(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    if (OPEN.has(req.path)) return next();
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.get('authorization') ?? '');
    if (match && timingSafeEqual(digest(match[1]!), expected)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="duality"');
    sendError(res, 401, 'UNAUTHORIZED', match ? 'the bearer token is not the one this server was started with (DUALITY_API_TOKEN)' : 'this server needs an Authorization: Bearer <token> header (DUALITY_API_TOKEN)');
  };
}
