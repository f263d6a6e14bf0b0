/**
 * The invalid corpus: every file in test/invalid/ is a small topology a user could plausibly
 * write, with the diagnostics it must produce in its leading comments:
 *
 *   # expect: LINE:COL FRAGMENT   (one or more; some diagnostic at LINE:COL whose message contains FRAGMENT)
 *   # why: ...                    (what the author got wrong)
 *   # env: NAME=value             (optional; the only variables the file sees: never process.env)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from '../engine/api/diagnostics.js';
import { compileTopology } from '../engine/compiler/index.js';

/** The repository root: this file runs from dist/test/. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CORPUS_DIR = 'test/invalid';
const CLI = join(ROOT, 'bin', 'duality.js');

/**
 * Files whose expectation is right but whose diagnostic is not yet (reported as compiler bugs).
 * Each runs as a `todo` test: reported, not failing, until the bug is fixed.
 */
const KNOWN_BUGS: Record<string, string> = {
};

interface Expectation {
  readonly line: number;
  readonly col: number;
  readonly fragment: string;
}

interface CorpusFile {
  readonly name: string;
  /** Relative to the root, as passed to the compiler and the CLI. */
  readonly path: string;
  readonly text: string;
  readonly expects: Expectation[];
  readonly env: Record<string, string>;
}

function parseHeader(name: string, text: string): Pick<CorpusFile, 'expects' | 'env'> {
  const expects: Expectation[] = [];
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break; // the header is the leading comment block
    const expect = /^# expect: (\d+):(\d+) (.+)$/.exec(line);
    if (expect) expects.push({ line: Number(expect[1]), col: Number(expect[2]), fragment: expect[3]!.trim() });
    else if (line.startsWith('# expect:')) throw new Error(`${name}: malformed expectation "${line}" (want "# expect: LINE:COL FRAGMENT")`);
    const variable = /^# env: ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (variable) env[variable[1]!] = variable[2]!;
    else if (line.startsWith('# env:')) throw new Error(`${name}: malformed variable "${line}" (want "# env: NAME=value")`);
  }
  return { expects, env };
}

function loadCorpus(): CorpusFile[] {
  return readdirSync(join(ROOT, CORPUS_DIR))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((name) => {
      const path = `${CORPUS_DIR}/${name}`;
      const text = readFileSync(join(ROOT, path), 'utf8');
      return { name, path, text, ...parseHeader(name, text) };
    });
}

const show = (list: readonly Diagnostic[]): string => list.map((d) => `  ${d.line}:${d.col} ${d.path}: ${d.message}`).join('\n') || '  (none)';

/** Checks that hold for every diagnostic of any input. */
function assertWellFormed(d: Diagnostic, file: string): void {
  assert.equal(d.file, file, `diagnostic names file ${d.file}`);
  assert.ok(Number.isInteger(d.line) && d.line >= 1, `line ${d.line}`);
  assert.ok(Number.isInteger(d.col) && d.col >= 1, `col ${d.col}`);
  assert.equal(typeof d.message, 'string');
  assert.ok(d.message.trim() !== '', 'empty message');
  assert.ok(!d.message.includes('\n'), `multi-line message: ${JSON.stringify(d.message)}`);
  assert.doesNotMatch(d.message, /\bat [^\s]+ \(|\bat (?:file|node):|^\s*at /m, `stack frame in message: ${d.message}`);
  assert.doesNotMatch(d.message, /Error:/, `error dump in message: ${d.message}`);
  assert.doesNotMatch(d.message, /\[object Object\]/, `message: ${d.message}`);
}

const corpus = loadCorpus();

test('the corpus has at least 45 files, each with an expectation', () => {
  assert.ok(corpus.length >= 45, `only ${corpus.length} files in ${CORPUS_DIR}`);
  for (const f of corpus) assert.ok(f.expects.length > 0, `${f.name} has no "# expect:" line`);
  for (const name of Object.keys(KNOWN_BUGS)) assert.ok(corpus.some((f) => f.name === name), `KNOWN_BUGS names a missing file ${name}`);
});

for (const f of corpus) {
  const todo = KNOWN_BUGS[f.name];
  test(`invalid: ${f.name}`, todo ? { todo } : {}, () => {
    const result = compileTopology(f.path, f.text, { env: f.env });
    const list = result.diagnostics;
    assert.ok(list.length > 0, `${f.name} passed validation`);
    assert.equal(result.graph, undefined, `${f.name} produced a graph despite diagnostics`);
    for (const d of list) assertWellFormed(d, f.path);
    for (const e of f.expects) {
      const hit = list.some((d) => d.line === e.line && d.col === e.col && d.message.includes(e.fragment));
      assert.ok(hit, `${f.name}: expected ${e.line}:${e.col} "${e.fragment}"; got:\n${show(list)}`);
    }
  });
}

test('oversized input is refused before it is parsed: one clear diagnostic, none of its YAML errors', () => {
  // Parsing 1 MiB of YAML is what the limit spares (bench/validate.ts times the refusal): the YAML
  // error at the end would give a second diagnostic if the file were parsed.
  const line = '# padding so that the file is larger than one mebibyte\n';
  const withPadding = (lines: number): string => 'version: 1\nname: big\n' + line.repeat(lines) + 'streams: [unclosed\n';
  assert.match(show(compileTopology('small.yaml', withPadding(1), { env: {} }).diagnostics), /: YAML syntax: Flow sequence/, 'the same text, small, is parsed');
  const text = withPadding(Math.ceil((1024 * 1024 + 1) / line.length));
  assert.ok(Buffer.byteLength(text) > 1024 * 1024);
  const { graph, diagnostics } = compileTopology('big.yaml', text, { env: {} });
  assert.equal(graph, undefined);
  assert.equal(diagnostics.length, 1, show(diagnostics));
  const d = diagnostics[0]!;
  assertWellFormed(d, 'big.yaml');
  assert.deepEqual([d.line, d.col], [1, 1]);
  assert.equal(d.message, `file is ${Buffer.byteLength(text).toLocaleString('en')} bytes; a topology may be at most 1,048,576 bytes (1 MiB)`);
});

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the CLI reports corpus files as file:line:col lines on stderr and exits 1', () => {
  const files = ['yaml-duplicate-key.yaml', 'schema-unknown-step.yaml', 'cel-agg-in-filter.yaml'].map((n) => `${CORPUS_DIR}/${n}`);
  const { status, stdout, stderr } = cli('validate', ...files);
  assert.equal(status, 1, stderr);
  assert.equal(stdout, '');
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.ok(lines.length >= files.length, stderr);
  for (const l of lines) {
    assert.match(l, /^[^:]+:\d+:\d+: /);
    assert.doesNotMatch(l, /^\s*at |\bat [^\s]+ \(|\bat (?:file|node):/);
  }
  for (const f of files) assert.ok(lines.some((l) => l.startsWith(`${f}:`)), `nothing reported for ${f}:\n${stderr}`);
  assert.ok(lines.some((l) => l.startsWith(`${CORPUS_DIR}/schema-unknown-step.yaml:13:9: `) && l.includes('did you mean "flatMap"?')), stderr);
});

test('the CLI validates a valid topology: exit 0, ok', () => {
  const { status, stdout, stderr } = cli('validate', 'topologies/wordcount.yaml');
  assert.equal(status, 0, stderr);
  assert.equal(stderr, '');
  assert.match(stdout, /\bok\b/);
});
