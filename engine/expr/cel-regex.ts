/**
 * Regular expressions in expressions (split, matches): RE2 syntax and semantics, run by re2js, a
 * JavaScript port of RE2, which matches in time linear in the length of the text; JavaScript's
 * own engine backtracks, and `(a+)+$` on 28 characters held the event loop for seconds.
 *
 * A search costs at most (characters it may read) x (program size) steps, and the evaluation
 * budget (cel-runtime.ts) is charged that, one unit per 32 steps, before the search starts
 * (cel-go charges `matches` the same way, string length times regex length): no search runs past
 * the budget, as a large program over a megabyte could (96 s for one search in re2js's NFA).
 *
 * A split runs one search per separator, from the end of the last one, and each may read to the
 * end of the text: a pattern whose preferred branch reads on before giving way (`a(.*z)?` on
 * "aaaa...") makes the split quadratic in every RE2 engine (Go's, Rust's); 10,000 characters took
 * 1.2 s in re2js. Each search is therefore charged for the rest of the text, and that split stops
 * at the budget after 90 ms. The price: a pattern that V8 does not split (below) over a long text
 * with many separators can exceed the budget, `\s*,\s*` at about 900 separators in 10,000
 * characters, though it would take 3 ms.
 */
import { RE2JS, RE2JSSyntaxException } from 're2js';
import { charge, ExpressionError } from './cel-runtime.js';

const STEPS_PER_UNIT = 32;

export interface Regex {
  readonly re: RE2JS;
  /** RE2's program size: the most steps the machine takes per character. */
  readonly size: number;
  /** For a pattern on which V8's RegExp is linear and splits exactly as RE2 does (see simpleSeparator). */
  readonly js?: RegExp;
}

/*
 * re2js costs about half a microsecond a match, ten times V8's RegExp: a WordCount line of ten
 * words took 4.5 µs to split instead of 0.5 (bench/cel.ts). Separators that are a literal text,
 * or one or more characters of an ASCII-defined set (`\W+`, `\s+`, `[,;]+`, `[^a-z0-9]+`),
 * cannot make V8 backtrack, and it finds the same separators: such patterns are split with V8's
 * RegExp, in one linear pass. RE2's `\s` is ASCII white space, V8's is not: it is spelled out.
 * The set must be repeated (`+`) when it holds non-ASCII characters, so that both engines take a
 * surrogate pair as one piece.
 */
const SIMPLE_SEPARATOR =
  /^(?:(?:[A-Za-z0-9 !"#%&',/:;<=>@_`~-]|\\[\\^$.|?*+()[\]{}/-])+|(?<set>\\[wWdDsS]|\[\^?(?:[A-Za-z0-9](?:-[A-Za-z0-9])?|[ !"#%&',/:;<=>@_`~.*+?()|{}$]|\\[\\^\][.*+?()|{}$/-]|\\[wWdDs])+\])(?<plus>\+)?)$/;

const RE2_SPACE = '\\t\\n\\f\\r ';

/** V8's RegExp for a pattern it splits linearly and as RE2 does; undefined for every other pattern. */
function simpleSeparator(pattern: string): RegExp | undefined {
  const m = SIMPLE_SEPARATOR.exec(pattern);
  if (m === null) return undefined;
  const set = m.groups?.['set'];
  if (set !== undefined && m.groups?.['plus'] === undefined && (set.startsWith('[^') || /\\[WDS]/.test(set))) return undefined;
  let inSet = false;
  const v8 = pattern.replace(/\\.|[[\]]/g, (t) => {
    if (t === '[' || t === ']') inSet = t === '[';
    if (t === '\\s') return inSet ? RE2_SPACE : `[${RE2_SPACE}]`;
    if (t === '\\S') return `[^${RE2_SPACE}]`;
    return t;
  });
  return new RegExp(v8, 'g');
}

const cache = new Map<string, Regex>();
const CACHE_MAX = 1000;

/** Compiles `pattern` (once; cached); throws RE2JSSyntaxException (see invalidRegex). */
export function compileRegex(pattern: string): Regex {
  let c = cache.get(pattern);
  if (c === undefined) {
    const re = RE2JS.compile(pattern);
    const js = simpleSeparator(pattern);
    c = js === undefined ? { re, size: re.programSize() } : { re, size: re.programSize(), js };
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(pattern, c);
  }
  return c;
}

/** What is wrong with `pattern`, from the error compileRegex threw. */
export function invalidRegex(pattern: string, e: unknown): string {
  let problem = e instanceof Error ? e.message : String(e);
  if (e instanceof RE2JSSyntaxException) {
    const what = e.getDescription();
    const at = e.getPattern();
    const unsupported = what === 'invalid or unsupported Perl syntax' || what === 'invalid named capture' || (what === 'invalid escape sequence' && /^\\[1-9k]/.test(at ?? ''));
    problem = `${what}${at ? ` at ${JSON.stringify(at)}` : ''}${unsupported ? ' (RE2 syntax: no lookahead, lookbehind or backreferences)' : ''}`;
  }
  return `invalid regular expression ${JSON.stringify(pattern)}: ${problem}`;
}

function regexFor(pattern: string): Regex {
  try {
    return compileRegex(pattern);
  } catch (e) {
    throw new ExpressionError(invalidRegex(pattern, e), '', { cause: e });
  }
}

/** The most a search over `chars` characters can cost, in budget units. */
const units = (chars: number, r: Regex): number => Math.ceil((chars * r.size) / STEPS_PER_UNIT);

/** CEL's `s.matches(re)`: whether `re` matches anywhere in `s`. */
export function matches(s: string, pattern: string): boolean {
  const r = regexFor(pattern);
  charge(units(s.length, r));
  return r.re.test(s);
}

/** split(s, pattern) as exposed to expressions; charges the budget for the search and the parts. */
export function split(s: string, pattern: string): string[] {
  const r = regexFor(pattern);
  let parts: string[];
  if (r.js === undefined) parts = splitRegex(s, r);
  else {
    charge(units(s.length, r));
    parts = s.split(r.js);
  }
  charge(parts.length);
  return parts;
}

/**
 * Splits `s` around the matches of `r` with the semantics of JavaScript's
 * String.prototype.split(regex), except that capture groups are NOT spliced into
 * the result (as in Java). Empty strings are kept, including a leading one
 * ("  The cat" on \W+ → ["", "The", "cat"]) and a trailing one. An empty match
 * right after a separator (or at the end) separates nothing; characters are not
 * split into UTF-16 halves.
 */
export function splitRegex(s: string, r: Regex): string[] {
  const size = s.length;
  const m = r.re.matcher(s);
  if (size === 0) {
    charge(units(1, r));
    return m.find(0) ? [] : [''];
  }
  const out: string[] = [];
  let p = 0; // end of the last separator
  let q = 0; // where to search from
  while (q < size) {
    charge(units(size - q, r));
    const found = m.find(q);
    const start = found ? m.start() : size;
    if (!found || start >= size) break;
    const end = m.end();
    if (end === p) {
      // empty match right after the previous separator: not a separator
      q = start + (isSurrogatePair(s, start) ? 2 : 1);
      continue;
    }
    out.push(s.slice(p, start));
    p = end;
    q = end;
  }
  out.push(s.slice(p));
  return out;
}

function isSurrogatePair(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
}
