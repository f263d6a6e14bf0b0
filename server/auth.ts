import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendError } from './errors.js';
import { isUiPath } from './ui.js';

/**
 * Probes and scrapers carry no credentials (docs/http-api.md: the API token spares these), nor do
 * client generators and API tools fetching the description, which holds no data. The page at `/`
 * and its files (server/ui.ts) are open too: they hold no data, and the page asks for the token.
 */
const OPEN = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

// Comparing digests makes both sides the same length, so timingSafeEqual never leaks the length.
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Why a request's Authorization header is refused (a 401's message), or undefined when it carries the token. */
export type TokenCheck = (authorization: string | undefined) => string | undefined;

export function tokenCheck(token: string): TokenCheck {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    if (match && timingSafeEqual(digest(match[1]!), expected)) return undefined;
    return match ? 'the bearer token is not the one this server was started with (DUALITY_API_TOKEN)' : 'this server needs an Authorization: Bearer <token> header (DUALITY_API_TOKEN)';
  };
}

/** A 401 says how to authenticate. */
export const CHALLENGE = 'Bearer realm="duality"';

/** `Authorization: Bearer <token>` on every route but the open ones, when a token is set. */
export function requireToken(check: TokenCheck): RequestHandler {
  return (req, res, next) => {
    if (OPEN.has(req.path) || isUiPath(req.path)) return next();
    const refused = check(req.get('authorization'));
    if (refused === undefined) return next();
    res.set('WWW-Authenticate', CHALLENGE);
    sendError(res, 401, 'UNAUTHORIZED', refused);
  };
}
