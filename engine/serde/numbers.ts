import { describeValue, SerdeError } from './serde-error.js';

/*
 * Numbers for the fixed-width serdes. Besides JS numbers they accept BigInt (what CEL ints are) and
 * numeric strings, because keys often arrive as text: a URL path (`/tables/t/keys/42`) or a JSON
 * body posted to a topic. The bytes are Kafka's either way.
 */

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** An integer in [min, max]; `what` names the serde and the range in errors. */
export function toInteger(serde: string, value: unknown, min: number, max: number, range: string): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string' && INTEGER_TEXT.test(value.trim())) n = Number(value.trim());
  else throw new SerdeError(serde, `cannot encode ${describeValue(value)}: expected an integer`);
  if (!Number.isInteger(n)) throw new SerdeError(serde, `cannot encode ${describeValue(value)}: not an integer`);
  // BigInt and long digit strings are checked before rounding could bring them into range.
  if (n < min || n > max || (typeof value === 'bigint' && BigInt(n) !== value)) {
    throw new SerdeError(serde, `cannot encode ${describeValue(value)}: outside ${range}`);
  }
  return n;
}

export function toDouble(serde: string, value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    const t = value.trim();
    if (DECIMAL_TEXT.test(t)) return Number(t);
    if (t === 'NaN' || t === 'Infinity' || t === '-Infinity') return Number(t);
  }
  throw new SerdeError(serde, `cannot encode ${describeValue(value)}: expected a number`);
}

export function expectLength(serde: string, bytes: Buffer, n: number): void {
  if (bytes.length !== n) throw new SerdeError(serde, `expected ${n} bytes, got ${bytes.length}`);
}
