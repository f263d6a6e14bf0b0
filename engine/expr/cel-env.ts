/**
 * The @marcbachmann/cel-js environment used by Duality expressions: JSON number
 * handling, timestamp conversions, compile-time regex validation and the
 * AST instrumentation that enforces the cost budget (see cel-runtime.ts).
 */
import { Environment } from '@marcbachmann/cel-js';
import { budgetExceeded, charge, CostLimitExceeded, DROPPED_KEYS, mapLiteral } from './cel-runtime.js';
import { compileRegex, invalidRegex, matches } from './cel-regex.js';
import { registerStringFunctions } from './cel-strings.js';

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
  // `int == double` exists in cel-js, the mirror image does not (1.0 == 1 failed to type-check).
  env.registerOperator('double == int', (a: number, b: bigint) => a === num(b));
}

function registerConversions(env: Environment): void {
  // Standard CEL conversions cel-js lacks (timestamps there are JS Dates, millisecond precision).
  env.registerFunction('int(google.protobuf.Timestamp): int', (d: Date) => BigInt(Math.floor(d.getTime() / 1000)), {
    description: 'seconds since the Unix epoch',
  });
  env.registerFunction('string(google.protobuf.Timestamp): string', (d: Date) => d.toISOString().replace('.000Z', 'Z'), {
    description: 'RFC 3339 form',
  });
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
    registerStringFunctions(env);
    registerConversions(env);
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
  /** How the node evaluates (`evaluate`), read at its first evaluation. */
  setMeta(key: 'evaluate', value: (ev: Evaluator, ast: AstNode, ctx: unknown) => unknown): AstNode;
}

/** The part of cel-js's evaluator that a node's `evaluate` uses. */
interface Evaluator {
  run(ast: AstNode, ctx: unknown): unknown;
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
 * charge the cost budget: comprehensions, `+`, `in` and `join`; points cel-js's
 * `s.matches(re)`, a backtracking JavaScript RegExp, at RE2 (cel-regex.ts); and
 * makes map literals whose keys are not all plain literals keep every key
 * (mapLiteral in cel-runtime.ts).
 */
export function instrument(root: AstNode): void {
  walk(root, (n) => {
    if (n.op === 'map' && Array.isArray(n.args) && !(n.args as [AstNode, AstNode][]).every(([k]) => k.op === 'value' && !DROPPED_KEYS.has(k.args))) {
      const entries = n.args as [AstNode, AstNode][];
      n.setMeta('evaluate', (ev, _ast, ctx) => mapLiteral(entries.map(([k, v]) => [ev.run(k, ctx), ev.run(v, ctx)] as const)));
    }
    const h = n.handle as ((...a: unknown[]) => unknown) | undefined;
    if (typeof h !== 'function') return;
    switch (n.op) {
      case 'comprehension': {
        n.handle = (items: unknown, args: unknown, ev: unknown, ctx: unknown): unknown => {
          charge(sizeOf(items));
          return h(items, args, ev, ctx);
        };
        // all/exists swallow errors of single iterations and go on with the next
        // element; their loop condition is checked before every iteration, so an
        // exhausted budget ends the loop there.
        const c = n.args as { condition?: (accu: unknown) => boolean };
        const cond = c.condition;
        if (typeof cond === 'function') {
          c.condition = (accu: unknown): boolean => {
            if (budgetExceeded()) throw new CostLimitExceeded();
            return cond(accu);
          };
        }
        break;
      }
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
      case 'rcall':
        if ((n.args as unknown[])[0] === 'join') {
          // [list, separator?]: charged what it would build before building it, as `+` is after:
          // a list of one long string repeated would otherwise make a string of any size.
          n.handle = (args: unknown[], ev: unknown, ast: unknown): unknown => {
            const [items, separator] = args;
            if (Array.isArray(items)) {
              let length = typeof separator === 'string' ? separator.length * Math.max(0, items.length - 1) : 0;
              for (const item of items) if (typeof item === 'string') length += item.length;
              charge(items.length + (length >> 5));
            }
            return h(args, ev, ast);
          };
          break;
        }
        if ((n.args as unknown[])[0] !== 'matches') break;
        // [receiver, pattern]; other types go on to cel-js, which reports the missing overload.
        n.handle = (args: unknown[], ev: unknown, ast: unknown): unknown =>
          args.length === 2 && typeof args[0] === 'string' && typeof args[1] === 'string' ? matches(args[0], args[1]) : h(args, ev, ast);
        break;
    }
  });
}

/** The variables among `variables` that the expression reads. */
export function referencedVariables(root: AstNode, variables: readonly string[]): string[] {
  const used = new Set<string>();
  walk(root, (n) => {
    if (n.op === 'id' && typeof n.args === 'string' && variables.includes(n.args)) used.add(n.args);
  });
  return [...used];
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

/** Finds a regex literal passed to split() or matches() that RE2 cannot compile. */
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
      compileRegex(pattern);
    } catch (e) {
      found = { message: invalidRegex(pattern, e), offset: arg.start };
    }
  });
  return found;
}
