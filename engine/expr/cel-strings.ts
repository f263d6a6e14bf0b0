/**
 * The string functions Duality adds to CEL: lower, upper, trim, split (JS regex),
 * words; plus the regex cache shared with compile-time regex validation.
 * Regexes are JavaScript regexes (backtracking): the cost budget bounds how often
 * they run, not how long one pathological pattern takes on one string.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { budgetExceeded, charge, CostLimitExceeded, ExpressionError } from './cel-runtime.js';

/* ------------------------------------------------------------------------- *
 * Extra functions: lower, upper, trim, split (JS regex), words.
 * ------------------------------------------------------------------------- */

interface CachedRegex {
  readonly re: RegExp;
  /** Number of capture groups: without any, native String.prototype.split is exact. */
  readonly groups: number;
}
const regexCache = new Map<string, CachedRegex>();
const REGEX_CACHE_MAX = 1000;

function cachedRegex(pattern: string): CachedRegex {
  let c = regexCache.get(pattern);
  if (c === undefined) {
    const re = new RegExp(pattern, 'g');
    const groups = (new RegExp(`${pattern}|`).exec('') as RegExpExecArray).length - 1;
    c = { re, groups };
    if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear();
    regexCache.set(pattern, c);
  }
  return c;
}

/** Compiles (once; cached) `pattern` as a global JS regex; throws the JS SyntaxError. */
export function compileRegex(pattern: string): RegExp {
  return cachedRegex(pattern).re;
}

function regexFor(pattern: string): CachedRegex {
  try {
    return cachedRegex(pattern);
  } catch (e) {
    throw new ExpressionError(`invalid regular expression ${JSON.stringify(pattern)}: ${regexProblem(e)}`, '', { cause: e });
  }
}

/** split(s, pattern) as exposed to expressions; charges the budget for the parts. */
function splitFn(s: string, pattern: string): string[] {
  if (budgetExceeded()) throw new CostLimitExceeded();
  const { re, groups } = regexFor(pattern);
  const parts = groups === 0 ? s.split(re) : splitRegex(s, re);
  charge(parts.length);
  return parts;
}

function wordsFn(s: string): string[] {
  if (budgetExceeded()) throw new CostLimitExceeded();
  const parts = words(s);
  charge(parts.length);
  return parts;
}

export function regexProblem(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  // "Invalid regular expression: /a(/: Unterminated group" → "Unterminated group"
  const i = m.lastIndexOf(': ');
  return i >= 0 ? m.slice(i + 2) : m;
}

/**
 * Splits `s` around the matches of `re` with the semantics of JavaScript's
 * String.prototype.split(regex), except that capture groups are NOT spliced into
 * the result (as in Java). Empty strings are kept, including a leading one
 * ("  The cat" on \W+ → ["", "The", "cat"]) and a trailing one.
 */
export function splitRegex(s: string, re: RegExp): string[] {
  const size = s.length;
  if (size === 0) {
    re.lastIndex = 0;
    const m = re.exec(s);
    return m !== null ? [] : [''];
  }
  const out: string[] = [];
  let p = 0; // end of the last separator
  let q = 0; // where to search from
  while (q < size) {
    re.lastIndex = q;
    const m = re.exec(s);
    if (m === null) break;
    const start = m.index;
    if (start >= size) break;
    const end = start + m[0].length;
    if (end === p) {
      // empty match right after the previous separator: not a separator
      q = start + 1;
      continue;
    }
    out.push(s.slice(p, start));
    p = end;
    q = end;
  }
  out.push(s.slice(p));
  return out;
}

const WORD = /\w+/g;

/** Lower-cased `\W+` split without empty strings. */
export function words(s: string): string[] {
  return s.toLowerCase().match(WORD) ?? [];
}

export function registerStringFunctions(env: Environment): void {
  env.registerFunction('lower(string): string', (s: string) => s.toLowerCase(), { description: 'lower-cases a string' });
  env.registerFunction('upper(string): string', (s: string) => s.toUpperCase(), { description: 'upper-cases a string' });
  env.registerFunction('trim(string): string', (s: string) => s.trim(), { description: 'removes leading and trailing white space' });
  env.registerFunction('split(string, string): list<string>', splitFn, {
    description: 'splits around matches of a JavaScript regular expression, keeping empty strings',
  });
  env.registerFunction('words(string): list<string>', wordsFn, { description: 'lower-cased \\W+ split without empty strings' });
}
