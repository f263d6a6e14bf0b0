/**
 * Run-time support for compiled CEL expressions: the error type, the per-evaluation
 * cost budget, and the conversion of CEL results to plain JSON data.
 */
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { setOwn } from '../api/own.js';

/** A run-time failure of an expression (the engine routes it to the error policy). */
export class ExpressionError extends Error {
  readonly code = 'EXPRESSION' as const;
  constructor(
    message: string,
    readonly source: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ExpressionError';
  }
}

/* ------------------------------------------------------------------------- *
 * Cost budget.
 *
 * CEL has no loops, but comprehensions (`map`, `filter`, `all`, `exists`, ...)
 * nest, so `split(value, "").map(a, split(value, "").map(b, a + b))` on a 10k
 * character value is 100M steps. Every evaluation therefore gets COST_LIMIT
 * units; the instrumented AST (see cel-env.ts) charges
 *   - each comprehension, before it runs, the size of the range it iterates,
 *   - each `+` that builds a list/string/bytes, its result size (strings and
 *     bytes: one unit per 32 characters/bytes),
 *   - each `join`, before it builds its string, the list's length and the string's size (one
 *     unit per 32 characters),
 *   - each `in` over a list, the list length,
 *   - each regular expression search, before it starts, the length it may read times the
 *     pattern's program size / 32 (cel-regex.ts),
 * and the result conversion charges one unit per list element / map entry.
 * Evaluation is synchronous, so the budget is one module-level counter.
 * ------------------------------------------------------------------------- */

/** Cost units one evaluation may spend (about 50-100 ms of work at most). */
export const COST_LIMIT = 1_000_000;

let remaining = COST_LIMIT;

/** Internal signal; evaluate() turns it into an ExpressionError. */
export class CostLimitExceeded extends Error {
  constructor() {
    super('evaluation cost limit exceeded');
  }
}

export function resetBudget(): void {
  remaining = COST_LIMIT;
}

export function charge(units: number): void {
  remaining -= units;
  if (remaining < 0) throw new CostLimitExceeded();
}

export function budgetExceeded(): boolean {
  return remaining < 0;
}

export function costLimitMessage(): string {
  return `expression exceeded its evaluation budget of ${COST_LIMIT} steps (comprehensions over too many elements, too large intermediate values, or regular expressions over too much text)`;
}

/* ------------------------------------------------------------------------- *
 * Input conversion: JSON data → what cel-js takes.
 *
 * cel-js tells a map from other objects by its `constructor` property, so a JSON
 * object with a field named "constructor" (`{"constructor": "x"}`, read by
 * JSON.parse as an own property) failed every expression ("Unsupported type").
 * Such objects are handed to cel-js as Maps, which it takes as CEL maps as well;
 * every other field name (`__proto__`, `toString`, ...) already works as data,
 * because cel-js reads fields only when they are own properties. Data without
 * such an object is passed as it is (same reference): one walk, no copy.
 * ------------------------------------------------------------------------- */

/** `vars` with every JSON object under the named variables that has a "constructor" field made a Map. */
export function celVars(vars: Readonly<Record<string, unknown>>, names: readonly string[]): Readonly<Record<string, unknown>> {
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < names.length; i++) {
    const k = names[i] as string;
    const v = vars[k];
    if (typeof v !== 'object' || v === null) continue;
    const c = celValue(v);
    if (c !== v) (out ??= { ...vars })[k] = c;
  }
  return out ?? vars;
}

function celValue(v: object): unknown {
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x !== 'object' || x === null) continue;
      const y = celValue(x);
      if (y !== x) (out ??= v.slice())[i] = y;
    }
    return out ?? v;
  }
  const rec = v as Record<string, unknown>;
  // No JSON value is the function Object: an object whose constructor it is has no such field.
  if (rec.constructor !== Object) {
    if (Object.hasOwn(rec, 'constructor')) {
      const m = new Map<string, unknown>();
      for (const k of Object.keys(rec)) {
        const x = rec[k];
        m.set(k, typeof x === 'object' && x !== null ? celValue(x) : x);
      }
      return m;
    }
    if (Object.getPrototypeOf(rec) !== null) return v; // bytes, timestamps, Maps
  }
  let out: Record<string, unknown> | undefined;
  for (const k in rec) {
    const x = rec[k];
    if (typeof x !== 'object' || x === null) continue;
    const y = celValue(x);
    if (y === x) continue;
    if (out === undefined) {
      out = {};
      for (const j of Object.keys(rec)) setOwn(out, j, rec[j]);
    }
    setOwn(out, k, y);
  }
  return out ?? v;
}

/** The keys cel-js leaves out of a map literal, lest they reach its plain object's prototype. */
export const DROPPED_KEYS: ReadonlySet<unknown> = new Set(['constructor', '__proto__', 'prototype']);

/** A CEL map literal that keeps every key: a Map when a key is "constructor" or "__proto__". */
export function mapLiteral(entries: readonly (readonly [unknown, unknown])[]): object {
  for (const [k] of entries) if (k === 'constructor' || k === '__proto__') return new Map(entries);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) out[k as string] = v;
  return out;
}

/* ------------------------------------------------------------------------- *
 * Result conversion: CEL value → plain JSON data.
 *
 *  - int (BigInt) and uint → number; outside ±(2^53-1) it is an error rather
 *    than a silently rounded number;
 *  - double → number; NaN and ±Infinity are an error (not representable in JSON);
 *  - list → array; map (Map or object) → plain object, keys converted with
 *    String() (so an int key 1 becomes "1");
 *  - bytes (Uint8Array) → base64 string (the protobuf JSON mapping of bytes,
 *    which is also what CEL's own JSON conversion uses);
 *  - timestamp → RFC 3339 string; duration → protobuf JSON form, e.g. "1.5s";
 *    type values → their name.
 * Values that need no conversion are returned as they are (same reference), so
 * passing an input object through costs one walk and no copy.
 * ------------------------------------------------------------------------- */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

function intToNumber(v: bigint, source: string): number {
  if (v > MAX_SAFE || v < MIN_SAFE) {
    throw new ExpressionError(`integer result ${v} is outside the range of exactly representable JSON numbers (±${Number.MAX_SAFE_INTEGER})`, source);
  }
  return Number(v);
}

function finite(v: number, source: string): number {
  if (Number.isFinite(v)) return v;
  throw new ExpressionError(`numeric result ${v} is not a finite number, which JSON cannot hold (beyond ±1.8e308, the largest double, or a division by zero)`, source);
}

function durationJson(d: Duration): string {
  const seconds = BigInt(d.seconds);
  const nanos = d.nanos;
  if (nanos === 0) return `${seconds}s`;
  const negative = seconds < 0n || nanos < 0;
  const absSeconds = seconds < 0n ? -seconds : seconds;
  const frac = String(Math.abs(nanos)).padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${absSeconds}.${frac}s`;
}

export function toJson(v: unknown, source: string): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : finite(v, source);
    case 'bigint':
      return intToNumber(v, source);
    case 'object':
      return v === null ? null : objectToJson(v, source);
    default:
      throw new ExpressionError(`expression produced an unsupported value of type ${typeof v}`, source);
  }
}

function objectToJson(v: object, source: string): unknown {
  if (Array.isArray(v)) {
    const n = v.length;
    charge(n);
    let out: unknown[] | undefined;
    for (let i = 0; i < n; i++) {
      const x: unknown = v[i];
      const y = toJson(x, source);
      if (out !== undefined) out.push(y);
      else if (y !== x) {
        out = v.slice(0, i);
        out.push(y);
      }
    }
    return out ?? v;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const rec = v as Record<string, unknown>;
    const keys = Object.keys(rec);
    charge(keys.length);
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      const x = rec[k];
      const y = toJson(x, source);
      if (out !== undefined) setOwn(out, k, y);
      else if (y !== x) {
        out = {};
        for (let j = 0; j < i; j++) setOwn(out, keys[j] as string, rec[keys[j] as string]);
        setOwn(out, k, y);
      }
    }
    return out ?? v;
  }
  if (v instanceof Map) {
    charge(v.size);
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) setOwn(out, mapKey(k, source), toJson(x, source));
    return out;
  }
  if (v instanceof UnsignedInt) return intToNumber(v.valueOf(), source);
  if (v instanceof Uint8Array) {
    charge(v.length >> 5);
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  }
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Duration) return durationJson(v);
  if (v instanceof Set) return objectToJson([...v], source);
  const tag = Object.prototype.toString.call(v);
  if (tag.startsWith('[object Type<')) return (v as { name: string }).name;
  throw new ExpressionError(`expression produced an unsupported value (${tag.slice(8, -1)})`, source);
}

function mapKey(k: unknown, source: string): string {
  switch (typeof k) {
    case 'string':
      return k;
    case 'bigint':
    case 'boolean':
    case 'number':
      return String(k);
    default:
      if (k instanceof UnsignedInt) return String(k.valueOf());
      throw new ExpressionError(`expression produced a map with an unsupported key type (${typeof k})`, source);
  }
}
