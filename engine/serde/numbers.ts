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

/**
 * A finite double. Kafka's DoubleSerializer would write NaN and ±Infinity, but nothing else in
 * Duality can carry them (JSON has no such numbers): a sum that overflowed must go to the error
 * policy, not out to a topic or into a store.
 */
export function toDouble(serde: string, value: unknown): number {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string' && DECIMAL_TEXT.test(value.trim())) n = Number(value.trim());
  if (n === undefined) throw new SerdeError(serde, `cannot encode ${describeValue(value)}: expected a number`);
  if (!Number.isFinite(n)) throw new SerdeError(serde, `cannot encode ${describeValue(value)}: ${NOT_FINITE}`);
  return n;
}

export const NOT_FINITE = 'not a finite number (beyond ±1.8e308, the largest double, or a division by zero)';

/** Where in a JSON value a number is NaN or ±Infinity (`.a[2]`, or `` for the value itself), if anywhere. */
export function nonFiniteAt(value: unknown, path = ''): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = nonFiniteAt(value[i], `${path}[${i}]`);
      if (at !== undefined) return at;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  for (const [k, x] of Object.entries(value)) {
    const at = nonFiniteAt(x, `${path}.${k}`);
    if (at !== undefined) return at;
  }
  return undefined;
}

export function expectLength(serde: string, bytes: Buffer, n: number): void {
  if (bytes.length !== n) throw new SerdeError(serde, `expected ${n} bytes, got ${bytes.length}`);
}
