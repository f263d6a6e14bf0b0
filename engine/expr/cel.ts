/**
 * CEL expressions for Duality topologies (docs/language.md, Expressions).
 *
 * Built on @marcbachmann/cel-js (chosen over @bufbuild/cel: it has a type checker,
 * so unknown variables/functions are compile-time errors with a source position,
 * and it evaluates several times faster; numbers in bench/cel.ts and
 * bench/cel-conformance.ts). Helpers: cel-env.ts (environment, JSON numbers,
 * cost instrumentation), cel-strings.ts (lower/upper/trim/split/words),
 * cel-regex.ts (RE2 regular expressions for split and matches),
 * cel-runtime.ts (errors, cost budget, result conversion to JSON).
 *
 * Compile once with compileExpression(); evaluate many times. Every variable is
 * typed `dyn`. Results are plain JSON data (see toJson in cel-runtime.ts).
 */
import { ParseError } from '@marcbachmann/cel-js';
import {
  environmentFor,
  functionNames,
  instrument,
  invalidRegexLiteral,
  referencedVariables,
  type AstNode,
} from './cel-env.js';
import {
  budgetExceeded,
  celVars,
  costLimitMessage,
  CostLimitExceeded,
  ExpressionError,
  resetBudget,
  toJson,
} from './cel-runtime.js';

export { ExpressionError, COST_LIMIT } from './cel-runtime.js';

export type ExprVariable = 'key' | 'value' | 'timestamp' | 'headers' | 'topic' | 'partition' | 'offset' | 'agg' | 'left' | 'right' | 'source';

/** The variables of every record: key value timestamp headers topic partition offset. */
export const RECORD_VARIABLES: readonly ExprVariable[] = Object.freeze(['key', 'value', 'timestamp', 'headers', 'topic', 'partition', 'offset'] as const);

export interface CompiledExpression {
  readonly source: string;
  /** Evaluates with the given variables; returns plain JSON data (numbers not BigInt, plain objects/arrays, null). Throws ExpressionError on a run-time error. */
  evaluate(vars: Partial<Record<ExprVariable, unknown>>): unknown;
}

export type CompileResult =
  | { ok: true; expression: CompiledExpression }
  | { ok: false; message: string; offset: number };

/** The shape of cel-js errors (ParseError, TypeError, EvaluationError). */
interface CelErrorLike {
  readonly code?: string;
  readonly summary?: string;
  readonly message: string;
  readonly node?: AstNode;
  readonly range?: { start: number; end: number };
}

function isCelError(e: unknown): e is CelErrorLike & Error {
  return e instanceof Error && typeof (e as CelErrorLike).summary === 'string';
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return (i < 0 ? s : s.slice(0, i)).trim();
}

function quoteList(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.join(', ');
}

/** Leftmost source offset of a select/index chain such as `value.a.b`. */
function chainStart(n: AstNode): number {
  let start = n.start;
  let cur: AstNode | undefined = n;
  while (cur !== undefined && (cur.op === '.' || cur.op === '[]' || cur.op === '.?' || cur.op === '[?]')) {
    const inner: unknown = (cur.args as unknown[])[0];
    if (typeof inner !== 'object' || inner === null) break;
    cur = inner as AstNode;
    start = Math.min(start, cur.start);
  }
  return start;
}

const TOKENS: Record<string, string> = {
  EOF: 'end of expression', RPAREN: '")"', LPAREN: '"("', RBRACKET: '"]"', LBRACKET: '"["', RBRACE: '"}"', LBRACE: '"{"',
  COMMA: '","', COLON: '":"', DOT: '"."', QUESTION: '"?"', IDENT: 'a name', IDENTIFIER: 'a name',
};

/** The parser's token names (`Expected RPAREN`) as the characters a person types. */
function readableTokens(message: string): string {
  return message.replace(/\b[A-Z]{2,}\b/g, (t) => TOKENS[t] ?? t);
}

function compileError(e: unknown, source: string, variables: readonly ExprVariable[]): { ok: false; message: string; offset: number } {
  if (e instanceof RangeError) return { ok: false, message: 'the expression is nested too deeply', offset: 0 };
  if (!isCelError(e)) {
    return { ok: false, message: firstLine(e instanceof Error ? e.message : String(e)) || 'invalid expression', offset: 0 };
  }
  const summary = firstLine(e.summary ?? e.message);
  const node = e.node;
  const offset = Math.max(0, Math.min(source.length, e.range?.start ?? node?.start ?? 0));
  if (e instanceof ParseError) return { ok: false, message: `syntax error: ${readableTokens(summary)}`, offset };
  if (e.code === 'unknown_variable' && node?.op === 'id') {
    return { ok: false, message: `unknown variable '${String(node.args)}' (available here: ${quoteList(variables)})`, offset: node.start };
  }
  if ((e.code === 'no_matching_overload' || e.code === 'no_such_overload') && node !== undefined && (node.op === 'call' || node.op === 'rcall')) {
    const args = node.args as unknown[];
    const name = String(args[0]);
    if (!functionNames().has(name)) {
      let at = node.start;
      if (node.op === 'rcall') {
        const receiver = args[1] as AstNode;
        const i = source.indexOf(name, receiver.end);
        if (i >= 0) at = i;
      }
      return { ok: false, message: `unknown function '${name}'`, offset: at };
    }
  }
  return { ok: false, message: summary, offset };
}

function runtimeError(e: unknown, source: string): ExpressionError {
  if (e instanceof CostLimitExceeded || budgetExceeded()) return new ExpressionError(costLimitMessage(), source);
  if (e instanceof ExpressionError) return e.source === source ? e : new ExpressionError(e.message, source, { cause: e.cause ?? e });
  if (!isCelError(e)) {
    return new ExpressionError(firstLine(e instanceof Error ? e.message : String(e)) || 'expression failed', source, { cause: e });
  }
  const summary = firstLine(e.summary ?? e.message);
  const node = e.node;
  if (e.code === 'no_such_key' && node !== undefined && (node.op === '.' || node.op === '[]')) {
    const obj = (node.args as unknown[])[0] as AstNode;
    const objText = source.slice(chainStart(obj), obj.end).trim() || 'the object';
    const prefix = 'No such key: ';
    const name = summary.startsWith(prefix) ? summary.slice(prefix.length) : node.op === '.' ? String((node.args as unknown[])[1]) : '?';
    const what = node.op === '.' ? 'field' : 'key';
    return new ExpressionError(`no such ${what} '${name}' in ${objText} (use has(...) to test for it)`, source, { cause: e });
  }
  if (e.code === 'unknown_variable' && node?.op === 'id') {
    return new ExpressionError(`variable '${String(node.args)}' has no value here`, source, { cause: e });
  }
  const r = e.range;
  let where = '';
  if (r !== undefined && r.end > r.start && (r.start > 0 || r.end < source.length)) {
    const snippet = source.slice(r.start, r.end);
    where = snippet.length <= 60 ? ` in '${snippet}'` : ` at offset ${r.start}`;
  }
  return new ExpressionError(`${summary}${where}`, source, { cause: e });
}

/** The compiled program of cel-js: call with the variables. */
type Program = (vars: object) => unknown;

class CelExpression implements CompiledExpression {
  constructor(
    readonly source: string,
    private readonly program: Program,
    /** The variables the expression reads: only their values are converted for cel-js. */
    private readonly used: readonly string[],
  ) {}

  evaluate(vars: Partial<Record<ExprVariable, unknown>>): unknown {
    resetBudget();
    let r: unknown;
    try {
      r = this.program(celVars(vars, this.used));
    } catch (e) {
      throw runtimeError(e, this.source);
    }
    // A budget overrun can be absorbed by CEL's error-tolerant && || exists;
    // it still ends the evaluation.
    if (budgetExceeded()) throw new ExpressionError(costLimitMessage(), this.source);
    const t = typeof r;
    if (t === 'boolean' || t === 'string') return r;
    try {
      return toJson(r, this.source);
    } catch (e) {
      throw runtimeError(e, this.source);
    }
  }
}

/**
 * Parses and type-checks `source` against `variables` (all typed dyn).
 * Errors: syntax errors, unknown variables, unknown functions, type errors and
 * invalid regex literals in split()/matches(), with the 0-based offset of the
 * offending token where known.
 */
export function compileExpression(source: string, variables: readonly ExprVariable[], expect?: ExpectedType): CompileResult {
  try {
    return compileChecked(source, variables, expect);
  } catch (e) {
    // The parser and checker recurse: a pathologically nested expression overflows the stack.
    if (e instanceof RangeError) return { ok: false, message: 'the expression is nested too deeply', offset: 0 };
    throw e;
  }
}

/** What a position needs an expression to give, when the checker can tell (not for `dyn`). */
export type ExpectedType = 'bool' | 'list';

const EXPECTED: Record<ExpectedType, { test: (type: string) => boolean; words: string }> = {
  bool: { test: (t) => t === 'bool', words: 'true or false (a predicate)' },
  list: { test: (t) => t.startsWith('list'), words: 'a list' },
};

function compileChecked(source: string, variables: readonly ExprVariable[], expect: ExpectedType | undefined): CompileResult {
  if (typeof source !== 'string') return { ok: false, message: 'an expression must be a string', offset: 0 };
  if (source.trim() === '') return { ok: false, message: 'empty expression', offset: 0 };
  const env = environmentFor(variables);
  let parsed;
  try {
    parsed = env.parse(source);
  } catch (e) {
    return compileError(e, source, variables);
  }
  const checked = parsed.check();
  if (!checked.valid) return compileError(checked.error, source, variables);
  const type = String(checked.type);
  if (expect && type !== 'dyn' && !EXPECTED[expect].test(type)) {
    return { ok: false, message: `must give ${EXPECTED[expect].words}, but gives ${type}`, offset: 0 };
  }
  const ast = parsed.ast as unknown as AstNode;
  const badRegex = invalidRegexLiteral(ast);
  if (badRegex !== undefined) return { ok: false, ...badRegex };
  instrument(ast);
  return { ok: true, expression: new CelExpression(source, parsed as unknown as Program, referencedVariables(ast, variables)) };
}
