/**
 * Mutation fuzzing of the validator: random edits of the example topologies must never make
 * `compileTopology` throw, and every diagnostic must be well formed (positioned inside the text,
 * one non-empty line, no stack traces or JavaScript internals).
 *
 * Deterministic: a seeded PRNG (override with DUALITY_FUZZ_SEED, and the number of cases with
 * DUALITY_FUZZ_CASES; DUALITY_FUZZ_CASE=N replays case N alone). A failure prints the seed, the
 * case number, the mutations and the mutated text, once per kind of problem. A value that is not
 * a whole number, or 0 cases, is refused rather than run as a fuzz that checks nothing.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from '../engine/api/diagnostics.js';
import { compileTopology } from '../engine/compiler/index.js';
import { envInteger, envSeed, prng } from './seeded.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The run's seed, number of cases and the one case to replay (its number as a failure prints it). */
function fuzzSettings(env: NodeJS.ProcessEnv): { seed: number; cases: number; only: number | undefined } {
  return {
    seed: envSeed('DUALITY_FUZZ_SEED', 20261124, env),
    cases: envInteger('DUALITY_FUZZ_CASES', 2000, 1, 10_000_000, env),
    only: env.DUALITY_FUZZ_CASE === undefined ? undefined : envInteger('DUALITY_FUZZ_CASE', 0, 0, 0xffffffff, env),
  };
}
const { seed: SEED, cases: CASES, only: ONLY } = fuzzSettings(process.env);

/** The seed of case `i`: each case can be replayed on its own. */
const caseSeed = (i: number): number => (Math.imul(SEED ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;

class Rng {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const LONG = 'x'.repeat(10_000);
const CEL_JUNK: readonly string[] = celJunk();
const SCALARS: readonly string[] = [
  // numbers
  '0', '-1', '1.5', '1e309', '-0', '0x1F', '0o17', '.inf', '.nan', '99999999999999999999999', '1_000',
  // strings and YAML specials
  'hello', '"quoted"', "'single'", '""', "''", 'null', '~', 'true', 'no', '[]', '{}', '[a, b]', '{a: 1}', '{with: x}',
  '*x', '&a', '&a value', '*a', '!!str 1', '!!int x', '!custom x', '!!binary aGVsbG8=', '2026-11-24', '2026-11-24T10:00:00Z',
  '|', '>', '-', ': x', '? x', '#', '- - -', '---', '...', '%YAML 1.2', '@x', '`x`', '"\\u0000"', '"\\x"',
  // variables
  '${X}', '${X:-d}', '${1X}', '$${X}', '${}', '${X', 'pre-${UNSET}-post', '${X:-}',
  // odd unicode
  'caf\u00e9', '\u202eevil', 'zero\u200bwidth', '\ud83d\ude00', '\u00a0', '\ufeffbom', '\u0085', '\u2028', 'Ω≈ç√',
  // long
  LONG, `"${LONG}"`, 'a-'.repeat(100),
  // durations and names that almost work
  '10m', '0s', '10 minutes', '1h30m', '10M', '-5s', 'inner', 'left', 'outer', 'tumbling', 'session', 'hopping',
  'sliding', 'final', 'changes', 'exactly_once', 'json', 'long', 'avro', 'lines', 'clicks', 'sales', 'users',
  // CEL-looking junk (also used alone by the expression mutation)
  ...CEL_JUNK,
];
function celJunk(): string[] {
  return [
    'value.qty > > 1', '(((', "'value", '"value', 'value.', 'size(value) ==', 'value[0].x.y ? : 1', 'has(value.)',
    '1/0', '[x for x]', 'agg + 1', 'left.x', 'source', 'value.map(x, x)', 'value.all(', '{"a": }', 'a.b.c.d.e.f',
    '!value', 'value in [1, 2', 'matches(value, "[")', 'split(value, "(")', 'int("x")', 'value ? 1 : 2',
    '"${X}" + value', 'lower(value, 1)', 'words()', 'timestamp(value)', 'dyn(value).x', '-'.repeat(300) + '1',
    '('.repeat(300) + '1' + ')'.repeat(300), '!'.repeat(4000) + 'true', '['.repeat(3000) + ']'.repeat(3000),
    'value.qty +', 'key == ', 'value.qty > 10 &&& true', '"unterminated', "value['a'", 'size(', 'value.qty * 1.5.x',
    'upper(value) + 1', 'words(value).filter(w, w.size() > 3)', '{"a": value}.b', 'null.x', 'headers["x"]', 'offset + partition',
  ];
}
/** The fields whose value is an expression (`- filter: ...`, `value: ...` in a join or map, ...). */
const EXPRESSION_KEYS = /^(?:filter|mapValues|selectKey|flatMapValues|flatMap|groupBy|sum|min|max|avg|reduce|initial|add|value|key|timestamp)$/;
const KEYS: readonly string[] = [
  'version', 'name', 'streams', 'tables', 'topic', 'key', 'value', 'from', 'steps', 'to', 'emit', 'timestamp', 'processing',
  'guarantee', 'commitInterval', 'errors', 'policy', 'kafka', 'brokers', 'with', 'type', 'within', 'grace', 'size', 'advance',
  'gap', 'retention', 'initial', 'add', 'filter', 'map', 'mapValues', 'groupBy', 'groupByKey', 'count', 'sum', 'window',
  'join', 'toStream', 'toTable', 'aggregate', 'reduce', 'flatMap', 'flatMapValues', 'selectKey', 'min', 'max', 'avg',
  '<<', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'x',
];

interface Mutated {
  readonly text: string;
  readonly ops: string[];
}

const KEY_LINE = /^(\s*(?:-\s+)?)([^\s:#][^:#]*?):(\s+|$)(.*)$/;

function mutate(source: string, rng: Rng): Mutated {
  let lines = source.split('\n');
  const ops: string[] = [];
  const count = 1 + rng.int(3);
  for (let k = 0; k < count; k++) {
    if (lines.length === 0) lines = [''];
    const i = rng.int(lines.length);
    const line = lines[i]!;
    switch (rng.int(10)) {
      case 0:
        lines.splice(i, 1);
        ops.push(`delete line ${i + 1}`);
        break;
      case 1:
        lines.splice(i, 0, line);
        ops.push(`duplicate line ${i + 1}`);
        break;
      case 2: {
        if (i + 1 >= lines.length) break;
        [lines[i], lines[i + 1]] = [lines[i + 1]!, line];
        ops.push(`swap lines ${i + 1} and ${i + 2}`);
        break;
      }
      case 3: {
        // swap the keys of two lines that have keys
        const withKeys = lines.map((l, n) => (KEY_LINE.test(l) ? n : -1)).filter((n) => n >= 0);
        if (withKeys.length < 2) break;
        const a = rng.pick(withKeys);
        const b = rng.pick(withKeys);
        const ma = KEY_LINE.exec(lines[a]!)!;
        const mb = KEY_LINE.exec(lines[b]!)!;
        lines[a] = `${ma[1]}${mb[2]}:${ma[3]}${ma[4]}`;
        lines[b] = `${mb[1]}${ma[2]}:${mb[3]}${mb[4]}`;
        ops.push(`swap keys of lines ${a + 1} and ${b + 1}`);
        break;
      }
      case 4:
      case 5: {
        // replace a value (or a bare list item) with a random scalar
        const scalar = rng.pick(SCALARS);
        const m = KEY_LINE.exec(line);
        if (m) lines[i] = `${m[1]}${m[2]}: ${scalar}`;
        else if (/^\s*-\s/.test(line)) lines[i] = line.replace(/^(\s*-\s+).*$/, `$1${scalar}`);
        else lines[i] = `${line.match(/^\s*/)![0]}${scalar}`;
        ops.push(`value of line ${i + 1} := ${JSON.stringify(scalar.length > 40 ? scalar.slice(0, 40) + '...' : scalar)}`);
        break;
      }
      case 6: {
        // replace a key with another known key (reaches the semantic passes more often than junk)
        const m = KEY_LINE.exec(line);
        if (!m) break;
        const key = rng.pick(KEYS);
        lines[i] = `${m[1]}${key}:${m[3] || ' '}${m[4]}`;
        ops.push(`key of line ${i + 1} := ${JSON.stringify(key)}`);
        break;
      }
      case 7: {
        const how = rng.int(4);
        if (how === 0) lines[i] = ' '.repeat(1 + rng.int(4)) + line;
        else if (how === 1) lines[i] = line.replace(/^ {1,2}/, '');
        else if (how === 2) lines[i] = '\t' + line;
        else lines[i] = line.trimStart();
        ops.push(`indent line ${i + 1} (${['more', 'less', 'tab', 'none'][how]})`);
        break;
      }
      case 9: {
        // replace an expression with CEL junk, quoted as YAML needs
        const exprLines = lines.map((l, n) => (EXPRESSION_KEYS.test(KEY_LINE.exec(l)?.[2] ?? '') ? n : -1)).filter((n) => n >= 0);
        if (exprLines.length === 0) break;
        const n = rng.pick(exprLines);
        const m = KEY_LINE.exec(lines[n]!)!;
        const junk = rng.pick(CEL_JUNK);
        lines[n] = `${m[1]}${m[2]}: ${rng.chance(0.5) ? `'${junk.replace(/'/g, "''")}'` : JSON.stringify(junk)}`;
        ops.push(`expression of line ${n + 1} := ${JSON.stringify(junk.length > 40 ? junk.slice(0, 40) + '...' : junk)}`);
        break;
      }
      case 8: {
        const text = lines.join('\n');
        const at = rng.int(text.length + 1);
        lines = text.slice(0, at).split('\n');
        ops.push(`truncate at ${at}`);
        break;
      }
    }
  }
  return { text: lines.join('\n'), ops };
}

/** Lines of `text` as yaml's LineCounter counts them (by "\n"). */
const textLines = (text: string): string[] => text.split('\n');

const FORBIDDEN: readonly [RegExp, string][] = [
  [/Error:/, 'an error dump ("Error:")'],
  [/^\s*at |\bat [^\s]+ \(|\bat (?:file|node):/, 'a stack frame ("at ...")'],
  [/\bundefined\b/, '"undefined"'],
  [/\[object Object\]/, '"[object Object]"'],
  [/Maximum call stack size exceeded/, 'a JavaScript stack overflow'],
  [/parseAllDocuments|YAML\.\w+\(/, 'yaml library API advice'],
  [/\b[a-z]+(?:-[a-z]+)+ token\b/, 'a YAML lexer token name (e.g. "map-value-ind token")'],
];

/** Why `d` is not an acceptable diagnostic for `text`, or undefined when it is. */
function problemWith(d: Diagnostic, text: string): string | undefined {
  const lines = textLines(text);
  if (!Number.isInteger(d.line) || d.line < 1) return `line ${d.line} < 1`;
  if (!Number.isInteger(d.col) || d.col < 1) return `col ${d.col} < 1`;
  if (d.line > lines.length + 1) return `line ${d.line} beyond the text (${lines.length} lines)`;
  if (d.line <= lines.length && d.col > lines[d.line - 1]!.length + 1) return `col ${d.col} beyond line ${d.line} (${lines[d.line - 1]!.length} chars)`;
  if (typeof d.message !== 'string' || d.message.trim() === '') return 'empty message';
  if (d.message.includes('\n')) return 'multi-line message';
  for (const [re, what] of FORBIDDEN) if (re.test(d.message)) return `message contains ${what}`;
  if (d.file !== 'fuzz.yaml') return `file is ${JSON.stringify(d.file)}`;
  return undefined;
}

interface Failure {
  readonly caseNo: number;
  readonly source: string;
  readonly ops: string[];
  readonly text: string;
  readonly problem: string;
}

function loadSources(): { name: string; text: string }[] {
  const dir = join(ROOT, 'topologies');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

test(`fuzz: ${CASES} mutations of the example topologies (seed ${SEED})`, (t) => {
  const sources = loadSources();
  assert.equal(sources.length, 6, `expected the six example topologies, found ${sources.map((s) => s.name).join(', ')}`);
  for (const s of sources) {
    const r = compileTopology('fuzz.yaml', s.text, { env: {} });
    assert.deepEqual(r.diagnostics, [], `${s.name} is not valid as it is`);
  }

  t.diagnostic(`seed ${SEED} (DUALITY_FUZZ_SEED), ${CASES} cases (DUALITY_FUZZ_CASES)`);
  const started = performance.now();
  const failures: Failure[] = [];
  let valid = 0;
  let ran = 0;
  for (let caseNo = ONLY ?? 0; caseNo < (ONLY === undefined ? CASES : ONLY + 1); caseNo++) {
    ran++;
    const rng = new Rng(prng(caseSeed(caseNo)));
    const source = rng.pick(sources);
    const { text, ops } = mutate(source.text, rng);
    const fail = (problem: string): void => void failures.push({ caseNo, source: source.name, ops, text, problem });
    let result;
    try {
      result = compileTopology('fuzz.yaml', text, { env: { X: 'x' } });
    } catch (e) {
      fail(`compileTopology threw: ${e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 3).join(' | ') : String(e)}`);
      continue;
    }
    if (result.diagnostics.length === 0) {
      if (result.graph === undefined) fail('no diagnostics and no graph');
      else valid++;
      continue;
    }
    if (result.graph !== undefined) fail('a graph despite diagnostics');
    // Every kind of problem in the case, so that one does not hide another.
    const seen = new Set<string>();
    for (const d of result.diagnostics) {
      const problem = problemWith(d, text);
      if (problem && !seen.has(problem.replace(/\d+/g, 'N'))) {
        seen.add(problem.replace(/\d+/g, 'N'));
        fail(`${problem}: ${d.line}:${d.col} ${d.path}: ${d.message}`);
      }
    }
  }
  const ms = performance.now() - started;
  assert.equal(ran, ONLY === undefined ? CASES : 1, 'every case asked for ran');
  const failedCases = new Set(failures.map((f) => f.caseNo)).size;
  t.diagnostic(`${ran} cases in ${ms.toFixed(0)} ms; ${valid} still valid, ${failedCases} failed`);

  if (failures.length > 0) {
    // One report per kind of problem (the message without positions and quoted values).
    const kinds = new Map<string, Failure[]>();
    for (const f of failures) {
      const kind = f.problem.replace(/\d+/g, 'N').replace(/"[^"]*"/g, '"…"').slice(0, 160);
      if (!kinds.has(kind)) kinds.set(kind, []);
      kinds.get(kind)!.push(f);
    }
    const report = [...kinds.values()].map((group) => {
      const f = group.reduce((a, b) => (b.text.length < a.text.length ? b : a));
      return [
        `--- ${group.length} case(s): ${f.problem}`,
        `    replay: DUALITY_FUZZ_SEED=${SEED} DUALITY_FUZZ_CASE=${f.caseNo} (${f.source}: ${f.ops.join('; ')})`,
        '    text:',
        ...f.text.split('\n').map((l, n) => `    ${String(n + 1).padStart(3)}| ${l.length > 200 ? l.slice(0, 200) + '…' : l}`),
      ].join('\n');
    });
    assert.fail(`${failedCases} of ${ran} fuzz cases failed (seed ${SEED}):\n${report.join('\n')}`);
  }
});

test('fuzz settings: 0 cases, and values that are not whole numbers, are refused instead of fuzzing nothing', () => {
  assert.deepEqual(fuzzSettings({}), { seed: 20261124, cases: 2000, only: undefined });
  assert.deepEqual(fuzzSettings({ DUALITY_FUZZ_SEED: '7', DUALITY_FUZZ_CASES: '1', DUALITY_FUZZ_CASE: '0' }), { seed: 7, cases: 1, only: 0 });
  for (const [name, value] of [
    ['DUALITY_FUZZ_CASES', '0'],
    ['DUALITY_FUZZ_CASES', '-5'],
    ['DUALITY_FUZZ_CASES', 'abc'],
    ['DUALITY_FUZZ_CASES', ''],
    ['DUALITY_FUZZ_CASE', 'x'],
    ['DUALITY_FUZZ_CASE', '1.5'],
    ['DUALITY_FUZZ_SEED', '4294967296'],
    ['DUALITY_FUZZ_SEED', 'seed'],
  ] as const) {
    assert.throws(() => fuzzSettings({ [name]: value }), (e: Error) => e.message.startsWith(`${name}=${JSON.stringify(value)}: want a whole number from `));
  }
});
