import type { PostedRecord } from '../engine/api/engine-facade.js';
import { HttpError } from './errors.js';
import { rfc3339Ms } from './query-params.js';

const FIELDS = ['key', 'value', 'timestamp', 'headers'];
const MAX_DATE_MS = 8.64e15;

const bad = (message: string): HttpError => new HttpError(400, 'BAD_RECORD', message);

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The body of `POST /topics/{topic}/records`: one record or a non-empty list. The shape is checked
 * here, before anything is written, so one bad record in a list writes none of them; what the
 * topic's serdes make of key and value is the facade's to judge.
 */
export function parseRecords(body: Buffer | undefined): PostedRecord[] {
  if (body === undefined || body.length === 0) {
    throw new HttpError(400, 'EMPTY_BODY', 'the body must be a JSON record {"key", "value", "timestamp"?, "headers"?} or a list of them');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, 'BAD_JSON', `the body is not JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) throw new HttpError(400, 'EMPTY_LIST', 'the list of records is empty; send at least one');
    return parsed.map((r, i) => checkRecord(r, `records[${i}]`));
  }
  return [checkRecord(parsed, 'the record')];
}

function checkRecord(r: unknown, where: string): PostedRecord {
  if (!isMap(r)) throw bad(`${where}: must be an object like {"key": "k", "value": "v"}`);
  for (const field of Object.keys(r)) {
    if (!FIELDS.includes(field)) throw bad(`${where}: unknown field "${field}"; a record has ${FIELDS.join(', ')}`);
  }
  // A missing value would silently be a null (a tombstone on a table): ask for it explicitly.
  if (!('value' in r)) throw bad(`${where}: "value" is missing (null deletes a table's key)`);
  const { timestamp, headers } = r;
  // Kafka refuses negative timestamps; the upper bound is the last instant a Date can show.
  const valid = typeof timestamp === 'string' ? rfc3339Ms(timestamp) !== undefined : Number.isInteger(timestamp) && (timestamp as number) >= 0 && (timestamp as number) <= MAX_DATE_MS;
  if (timestamp !== undefined && !valid) {
    throw bad(`${where}.timestamp: must be epoch milliseconds (a whole number from 0) or an RFC 3339 string`);
  }
  if (headers !== undefined) {
    if (!isMap(headers)) throw bad(`${where}.headers: must be an object of strings`);
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v !== 'string') throw bad(`${where}.headers.${k}: must be a string`);
    }
  }
  // As epoch ms: the facade would read the text with Date.parse again, which takes no lower-case t or z.
  return (typeof timestamp === 'string' ? { ...r, timestamp: rfc3339Ms(timestamp) } : r) as PostedRecord;
}
