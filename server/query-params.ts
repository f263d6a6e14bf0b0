import type { TimeRange } from '../engine/api/engine-facade.js';
import { HttpError } from './errors.js';

/**
 * The single-valued query parameters of a URL's search part (`?a=1&b=2`, or empty), among
 * `allowed`: a misspelt one is an error, not ignored.
 */
export function readQuery(search: string, allowed: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (search.length <= 1) return out;
  for (const [name, value] of new URLSearchParams(search)) {
    if (!allowed.includes(name)) throw new HttpError(400, 'BAD_QUERY', `unknown query parameter "${name}"; this route takes ${allowed.join(', ')}`);
    if (out[name] !== undefined) throw new HttpError(400, 'BAD_QUERY', `query parameter "${name}" must be given once`);
    out[name] = value;
  }
  return out;
}

/** The `?...` part of a request URL, or ''. */
export function searchOf(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? '' : url.slice(i);
}

/** `from`/`to` of a windowed query: epoch milliseconds or RFC 3339. */
export function parseRange(q: Record<string, string | undefined>): TimeRange {
  const time = (name: 'from' | 'to'): number | undefined => {
    const text = q[name];
    if (text === undefined) return undefined;
    const ms = /^-?[0-9]{1,16}$/.test(text) ? Number(text) : rfc3339Ms(text);
    if (ms === undefined) throw new HttpError(400, 'BAD_TIME', `${name} must be epoch milliseconds or an RFC 3339 time like 2026-11-24T10:00:00Z, not "${text}"`);
    return ms;
  };
  const from = time('from');
  const to = time('to');
  if (from !== undefined && to !== undefined && from > to) throw new HttpError(400, 'BAD_TIME', `from (${from}) is after to (${to})`);
  return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
}

export function parseStale(text: string | undefined): boolean {
  if (text === undefined || text === 'false') return false;
  if (text === 'true' || text === '') return true;
  throw new HttpError(400, 'BAD_QUERY', `stale must be true or false, not "${text}"`);
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  const n = /^[0-9]{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw new HttpError(400, 'BAD_LIMIT', `limit must be a whole number from 1 to ${MAX_LIMIT}, not "${text}"`);
  return n;
}

const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))$/;

/**
 * Epoch ms of an RFC 3339 time, or undefined. Checked here because Date.parse guesses: a time
 * without an offset in the server's own zone, February 30th as March 2nd.
 */
export function rfc3339Ms(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second, offsetHours = 0, offsetMinutes = 0] = m.slice(1).map((n) => Number(n ?? 0));
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1];
  if (days === undefined || day! < 1 || day! > days || hour! > 23 || minute! > 59 || second! > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const ms = Date.parse(text.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}
