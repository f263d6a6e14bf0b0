/**
 * The @marcbachmann/cel-js environment used by Duality expressions: JSON number
 * handling, the extra string functions, compile-time regex validation and the
 * AST instrumentation that enforces the cost budget (see cel-runtime.ts).
 */
import { Environment } from '@marcbachmann/cel-js';
import { charge, ExpressionError } from './cel-runtime.js';

/* ------------------------------------------------------------------------- *
 * JSON numbers.
 *
 * cel-js maps a JS number to CEL `double` and a BigInt to CEL `int`; integer
 * literals in the expression are `int`. JSON has one number type, so a JSON
 * value reaches the expression as a double, and `value.qty + 1` would be
 * `double + int`, which standard CEL rejects ("no such overload").
 *
 * Chosen: keep JSON numbers as JS numbers (CEL double) and register the mixed
 * overloads `double ⊕ int` and `int ⊕ double` (⊕ ∈ + - * / %, result double),
 * plus `double % double`. Comparisons and equality between int and double are
 * already defined by CEL. Consequences, all as a JSON user expects:
 *   value.qty + 1   → 6 (qty 5), 6.5 (qty 5.5)      value.qty / 2 → 2.5 (qty 5)
 *   1 + 2.5         → 3.5                            value.qty % 2 → 1 (qty 5)
 * Two CEL ints still use CEL integer arithmetic: `5 / 2` (two literals) and
 * `size(x) / 2` are integer division (2), with overflow checks.
 *
 * Rejected: converting integral JSON numbers to BigInt on input. It needs a deep
 * walk (and copy) of every record before every evaluation (measured in
 * bench/cel.ts: `raw cel-js + BigInt input`), still needs the mixed overloads
 * for 5.5 + 1, and makes `value.qty / 2` integer division (2, not 2.5).
 * Cost of the chosen way: none for expressions without mixed arithmetic; a
 * mixed operation is one overload lookup like any other dyn operation.
 * Known limit: functions declared with int parameters (e.g. `s.substring(n)`)
 * do not accept a JSON number; `int(value.n)` converts explicitly.
 * ------------------------------------------------------------------------- */

const ARITHMETIC = ['+', '-', '*', '/'] as const;

function registerNumberOverloads(env: Environment): void {
  const num = (b: unknown): number => Number(b as bigint);
  const ops: Record<(typeof ARITHMETIC)[number] | '%', (a: number, b: number) => number> = {
    '+': (a, b) => a + b,
    '-': (a, b) => a - b,
    '*': (a, b) => a * b,
    '/': (a, b) => a / b,
    '%': (a, b) => a % b,
  };
  for (const op of [...ARITHMETIC, '%'] as const) {
    const f = ops[op];
    env.registerOperator(`double ${op} int: double`, (a: number, b: bigint) => f(a, num(b)));
    env.registerOperator(`int ${op} double: double`, (a: bigint, b: number) => f(num(a), b));
  }
  env.registerOperator('double % double: double', (a: number, b: number) => a % b);
}

/* ------------------------------------------------------------------------- *
 * Extra functions: lower, upper, trim, split (JS regex), words.
 * ------------------------------------------------------------------------- */

const regexCache = new Map<string, RegExp>();
const REGEX_CACHE_MAX = 1000;

/** Compiles (once; cached) `pattern` as a global JS regex; throws the JS SyntaxError. */
export function compileRegex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    re = new RegExp(pattern, 'g');
    if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

function regexFor(pattern: string): RegExp {
  try {
    return compileRegex(pattern);
  } catch (e) {
    throw new ExpressionError(`invalid regular expression ${JSON.stringify(pattern)}: ${regexProblem(e)}`, '', { cause: e });
  }
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

function registerFunctions(env: Environment): void {
  env.registerFunction('lower(string): string', (s: string) => s.toLowerCase(), { description: 'lower-cases a string' });
  env.registerFunction('upper(string): string', (s: string) => s.toUpperCase(), { description: 'upper-cases a string' });
  env.registerFunction('trim(string): string', (s: string) => s.trim(), { description: 'removes leading and trailing white space' });
  env.registerFunction('split(string, string): list<string>', (s: string, pattern: string) => splitRegex(s, regexFor(pattern)), {
    description: 'splits around matches of a JavaScript regular expression, keeping empty strings',
  });
  env.registerFunction('words(string): list<string>', words, { description: 'lower-cased \\W+ split without empty strings' });
}

/* ------------------------------------------------------------------------- *
 * Environments (one per set of declared variables, all cloned from the base).
 * ------------------------------------------------------------------------- */

let base: Environment | undefined;
let knownFunctions: ReadonlySet<string> | undefined;
const envs = new Map<string, Environment>();

function baseEnvironment(): Environment {
  if (base === undefined) {
    const env = new Environment({
      // JSON data is heterogeneous: allow ["a", 1] and {"n": 1, "s": "x"}
      homogeneousAggregateLiterals: false,
      limits: { maxAstNodes: 10_000 },
    });
    registerNumberOverloads(env);
    registerFunctions(env);
    knownFunctions = new Set(env.getDefinitions().functions.map((f) => f.name));
    base = env;
  }
  return base;
}

/** Names of all functions, methods and macros available in expressions. */
export function functionNames(): ReadonlySet<string> {
  baseEnvironment();
  return knownFunctions as ReadonlySet<string>;
}

export function environmentFor(variables: readonly string[]): Environment {
  const key = [...new Set(variables)].sort().join(',');
  let env = envs.get(key);
  if (env === undefined) {
    env = baseEnvironment().clone();
    for (const v of key === '' ? [] : key.split(',')) env.registerVariable(v, 'dyn');
    envs.set(key, env);
  }
  return env;
}

/* ------------------------------------------------------------------------- *
 * AST access. cel-js exposes its parsed AST (`parse(expr).ast`); these are the
 * parts of its (untyped) node shape used here.
 * ------------------------------------------------------------------------- */

export interface AstNode {
  readonly op: string;
  readonly args: unknown;
  readonly start: number;
  readonly end: number;
  readonly meta: { readonly alternate?: AstNode; readonly macro?: Record<string, unknown> };
  handle?: (...args: never[]) => unknown;
}

/** Visits every node once (macro expansions included). */
export function walk(root: AstNode, visit: (n: AstNode) => void): void {
  const NodeClass = (root as object).constructor;
  const seen = new Set<AstNode>();
  const go = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) go(y);
      return;
    }
    if (!(x instanceof NodeClass)) return;
    const n = x as AstNode;
    if (seen.has(n)) return;
    seen.add(n);
    visit(n);
    const meta = n.meta;
    go(meta.alternate);
    if (meta.macro !== undefined) for (const v of Object.values(meta.macro)) go(v);
    const args = n.args;
    if (n.op === 'comprehension' && typeof args === 'object' && args !== null) {
      const c = args as Record<string, unknown>;
      go(c['iterable']);
      go(c['init']);
      go(c['step']);
    } else go(args);
  };
  go(root);
}

function sizeOf(x: unknown): number {
  if (Array.isArray(x)) return x.length;
  if (x instanceof Map || x instanceof Set) return x.size;
  if (typeof x === 'object' && x !== null) return Object.keys(x).length;
  return 0;
}

function resultCost(r: unknown): number {
  if (typeof r === 'string') return r.length >> 5;
  if (Array.isArray(r)) return r.length;
  if (r instanceof Uint8Array) return r.length >> 5;
  return 0;
}

/**
 * Wraps the (type-checked) nodes that can do super-linear work so that they
 * charge the cost budget: comprehensions, `+` and `in`.
 */
export function instrument(root: AstNode): void {
  walk(root, (n) => {
    const h = n.handle as ((...a: unknown[]) => unknown) | undefined;
    if (typeof h !== 'function') return;
    switch (n.op) {
      case 'comprehension':
        n.handle = (items: unknown, args: unknown, ev: unknown, ctx: unknown): unknown => {
          charge(sizeOf(items));
          return h(items, args, ev, ctx);
        };
        break;
      case '+':
        n.handle = (l: unknown, r: unknown, ast: unknown, ev: unknown): unknown => {
          const res = h(l, r, ast, ev);
          if (typeof res === 'object' || typeof res === 'string') charge(resultCost(res));
          return res;
        };
        break;
      case 'in':
        n.handle = (l: unknown, r: unknown, ast: unknown, ev: unknown): unknown => {
          if (Array.isArray(r)) charge(r.length);
          return h(l, r, ast, ev);
        };
        break;
    }
  });
}

/** The string literal argument `i` of a call node, if it is one. */
function literalArg(n: AstNode, i: number): AstNode | undefined {
  let list: unknown;
  if (n.op === 'call') list = (n.args as unknown[])[1];
  else if (n.op === 'rcall') list = (n.args as unknown[])[2];
  if (!Array.isArray(list)) return undefined;
  const a = list[i] as AstNode | undefined;
  return a !== undefined && a.op === 'value' && typeof a.args === 'string' ? a : undefined;
}

/** Finds a regex literal passed to split() or matches() that JS cannot compile. */
export function invalidRegexLiteral(root: AstNode): { message: string; offset: number } | undefined {
  let found: { message: string; offset: number } | undefined;
  walk(root, (n) => {
    if (found !== undefined || (n.op !== 'call' && n.op !== 'rcall')) return;
    const name = (n.args as unknown[])[0];
    let arg: AstNode | undefined;
    if (name === 'split' && n.op === 'call') arg = literalArg(n, 1);
    else if (name === 'matches') arg = literalArg(n, n.op === 'call' ? 1 : 0);
    if (arg === undefined) return;
    const pattern = arg.args as string;
    try {
      if (name === 'split') compileRegex(pattern);
      else new RegExp(pattern);
    } catch (e) {
      found = { message: `invalid regular expression ${JSON.stringify(pattern)}: ${regexProblem(e)}`, offset: arg.start };
    }
  });
  return found;
}
