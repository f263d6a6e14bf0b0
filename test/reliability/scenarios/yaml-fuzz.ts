import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../root.js';
import { Compiler } from '../compile-worker.js';
import { seededRandom, type Random } from '../random.js';
import { outcome, type Scenario } from '../scenario.js';

/** The topologies to mutate: topologies/*.yaml (not their test files) and every YAML example of the docs. */
function seeds(): { name: string; text: string }[] {
  const found: { name: string; text: string }[] = [];
  const dir = join(ROOT, 'topologies');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml')).sort()) found.push({ name: `topologies/${f}`, text: readFileSync(join(dir, f), 'utf8') });
  const docs = [...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'README.md'].sort();
  for (const doc of docs) {
    let n = 0;
    for (const m of readFileSync(join(ROOT, doc), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)) found.push({ name: `${doc}#${++n}`, text: m[1]! });
  }
  return found;
}

/** Billion laughs: ten levels of ten aliases each, 10^10 nodes if expanded. */
const ALIAS_BOMB = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...Array.from({ length: 9 }, (_, i) => {
  const [me, prev] = [String.fromCharCode(98 + i), String.fromCharCode(97 + i)];
  return `${me}: &${me} [${Array(10).fill(`*${prev}`).join(',')}]`;
})].join('\n');

/** Values no topology has, for a scalar's place. */
function oddValue(r: Random): string {
  const values = [
    () => '9'.repeat(r.int(20, 400)),
    () => '-1',
    () => '1e309',
    () => '-5m',
    () => '-0',
    () => '0x7fffffffffffffff',
    () => '.nan',
    () => '.inf',
    () => '~',
    () => '""',
    () => `"${'x'.repeat(r.int(1_000, 200_000))}"`,
    () => '"\u202e\u0000\ud800 ünïcödé 名前 🦆\u200b"',
    () => 'ünïcödé-名前-🦆',
    () => '\t',
    () => Buffer.from(Array.from({ length: r.int(1, 64) }, () => r.int(0, 255))).toString('latin1'),
    () => '['.repeat(r.int(50, 5_000)),
    () => `${'['.repeat(r.int(50, 2_000))}1${']'.repeat(r.int(50, 2_000))}`,
    () => `${'{a: '.repeat(r.int(50, 2_000))}1${'}'.repeat(r.int(50, 2_000))}`,
    () => '*nowhere',
    () => '&anchor value',
    () => '!!binary aGVsbG8=',
    () => '!!js/function "function () { return process }"',
    () => '!<tag:yaml.org,2002:str> x',
    () => '|\n  block',
    () => '>-',
    () => '? complex',
    () => '"${DUALITY_NOPE}"',
    () => 'P1Y',
    () => '1m1m',
    () => '99999999999999999999d',
    () => 'true',
    () => '{}',
    () => '[]',
    () => '%YAML 1.1',
  ];
  return r.pick(values)();
}

type Mutation = (lines: string[], r: Random) => string[];

const MUTATIONS: Record<string, Mutation> = {
  delete: (l, r) => l.filter((_, i) => i !== r.int(0, l.length - 1)),
  duplicate: (l, r) => {
    const i = r.int(0, l.length - 1);
    return [...l.slice(0, i + 1), l[i]!, ...l.slice(i + 1)];
  },
  swap: (l, r) => {
    const [i, j] = [r.int(0, l.length - 1), r.int(0, l.length - 1)];
    const c = [...l];
    [c[i], c[j]] = [c[j]!, c[i]!];
    return c;
  },
  indent: (l, r) => l.map((s, i) => (i === r.int(0, l.length - 1) ? (r.int(0, 1) ? ' '.repeat(r.int(1, 5)) + s : s.replace(/^ {1,4}/, '')) : s)),
  tab: (l, r) => l.map((s, i) => (i === r.int(0, l.length - 1) ? s.replace(/^ */, (m) => (m.length > 0 ? '\t' : '\t ')) : s)),
  scalar: (l, r) => {
    const at = l.map((s, i) => (/:\s+\S/.test(s) || /^\s*-\s+\S/.test(s) ? i : -1)).filter((i) => i >= 0);
    if (at.length === 0) return l;
    const i = r.pick(at);
    const c = [...l];
    c[i] = c[i]!.replace(/(:\s+|^\s*-\s+)(.*)$/, (_, lead: string) => lead + oddValue(r));
    return c;
  },
  key: (l, r) => {
    const i = r.int(0, l.length - 1);
    const c = [...l];
    c[i] = c[i]!.replace(/^(\s*-?\s*)[\w.-]+:/, (_, lead: string) => `${lead}${r.pick(['ünïcödé', '__proto__', 'constructor', 'x'.repeat(r.int(1, 20_000)), '<<', '"key with spaces"', '? '])}:`);
    return c;
  },
  aliasBomb: (l, r) => (r.int(0, 1) ? [...ALIAS_BOMB.split('\n'), ...l] : [...l, ...ALIAS_BOMB.split('\n'), 'extra: *j']),
  aliasValue: (l) => {
    // The bomb inside the document, its last level used as a value: must be refused, never expanded.
    const c = [...l];
    const i = c.findIndex((s) => /^\s+\w[\w-]*:\s+[^\s#{[]/.test(s));
    return i < 0 ? [...ALIAS_BOMB.split('\n'), ...c] : [...ALIAS_BOMB.split('\n'), ...c.slice(0, i), c[i]!.replace(/:\s+.*$/, ': *j'), ...c.slice(i + 1)];
  },
  deepNesting: (l, r) => {
    const depth = r.int(65, 3_000);
    return [...l, `deep: ${'['.repeat(depth)}${']'.repeat(depth)}`];
  },
  deepBlock: (l, r) => {
    const depth = r.int(65, 400);
    return [...l, ...Array.from({ length: depth }, (_, d) => `${' '.repeat(d)}k${d}:`), `${' '.repeat(depth)}v`];
  },
  longLine: (l, r) => [...l, `# ${'x'.repeat(r.int(10_000, 300_000))}`],
  huge: (l) => [...l, `big: "${'y'.repeat(1_100_000)}"`],
  garbage: (l, r) => {
    const text = l.join('\n');
    const at = r.int(0, text.length);
    const junk = Buffer.from(Array.from({ length: r.int(1, 200) }, () => r.int(0, 255))).toString('latin1');
    return (text.slice(0, at) + junk + text.slice(at)).split('\n');
  },
  truncate: (l, r) => {
    const text = l.join('\n');
    return text.slice(0, r.int(0, text.length)).split('\n');
  },
  documents: (l) => [...l, '---', ...l],
  crlf: (l) => l.map((s) => `${s}\r`),
  bom: (l) => [`\ufeff${l[0] ?? ''}`, ...l.slice(1)],
};

/** A bomb must be refused for its aliases: a diagnostic that says so. */
const isBomb = (applied: readonly string[]): boolean => applied.includes('aliasBomb') || applied.includes('aliasValue');

export const scenario: Scenario = {
  name: 'yaml-fuzz',
  order: 70,
  what: 'mutated topologies (from topologies/ and the docs: lines deleted, duplicated, swapped, re-indented; odd scalars, alias bombs, deep nesting, long strings, unicode, tabs, garbage) through duality validate: each answered in time with a graph or positioned diagnostics, never an exception',
  mirrors: 'grammar-based fuzzing of a configuration parser (OSS-Fuzz style, e.g. the yaml and libyaml fuzzers); Kafka Streams has no topology language to fuzz',
  options: {
    cases: { default: '2000', help: 'mutated topologies to validate in-process' },
    cli: { default: '50', help: 'of those, how many also go through the real `duality validate` command' },
    seed: { default: '1', help: 'the seed of the mutations: the same seed, the same cases' },
    'max-ms': { default: '5000', help: 'how long one case may take before it counts as hung' },
    'heap-mb': { default: '512', help: 'the compiler\'s heap (a worker\'s old generation); running out is a crash' },
  },
  short: { cases: '300', cli: '5' },

  async run({ options, workDir, say }) {
    const r = seededRandom(Number(options.seed));
    const maxMs = Number(options['max-ms']);
    const cases = Number(options.cases);
    const cliEvery = Math.max(1, Math.floor(cases / Math.max(1, Number(options.cli))));
    const sources = seeds();
    say(`${sources.length} topologies to mutate (${sources.filter((s) => s.name.startsWith('topologies/')).length} of topologies/, the rest from the docs)`);
    const topologies = sources.filter((s) => s.name.startsWith('topologies/'));
    const names = Object.keys(MUTATIONS);
    const compiler = new Compiler({ maxMs, heapMb: Number(options['heap-mb']) });
    let valid = 0, rejected = 0, crashes = 0, hangs = 0, slowestMs = 0, bombs = 0, cliRuns = 0, cliMaxMs = 0, unpositioned = 0;
    const failures: string[] = [];
    const note = (f: string): void => {
      if (failures.length < 20) failures.push(f);
    };
    try {
      for (let i = 0; i < cases; i++) {
        // Every 50th case a bomb alone in a valid topology: it must be refused for its aliases.
        const pureBomb = i % 50 === 49;
        const source = r.pick(pureBomb ? topologies : sources);
        const applied = pureBomb ? [i % 100 === 99 ? 'aliasValue' : 'aliasBomb'] : Array.from({ length: r.int(1, 3) }, () => r.pick(names));
        // A mutation needs a line to work on: a document cut to nothing is one empty line.
        const text = applied.reduce((lines, m) => MUTATIONS[m]!(lines.length > 0 ? lines : [''], r), source.text.split('\n')).join('\n');
        const file = `case-${i}.yaml`;
        const what = `case ${i} (${source.name}, ${applied.join('+')})`;
        const c = await compiler.compile(file, text);
        slowestMs = Math.max(slowestMs, c.ms);
        if (c.kind === 'hang' || c.ms > maxMs) {
          hangs++;
          note(`${what}: ${Math.round(c.ms)} ms`);
          writeFileSync(join(workDir, file), text);
        } else if (c.kind === 'crash') {
          crashes++;
          note(`${what}: ${c.error}`);
          writeFileSync(join(workDir, file), text);
        } else if (c.kind === 'valid') {
          valid++;
          if (isBomb(applied)) note(`${what}: an alias bomb was accepted`);
        } else {
          rejected++;
          const bad = c.diagnostics.filter((d) => d.file !== file || !(d.line >= 1) || !(d.col >= 1) || !d.message || /\n\s+at /.test(d.message));
          if (bad.length > 0) {
            unpositioned++;
            note(`${what}: a diagnostic without file:line:col or with a stack: ${JSON.stringify(bad[0]).slice(0, 400)}`);
          }
          if (isBomb(applied)) bombs++;
          if (pureBomb && !c.diagnostics.some((d) => /aliases expand/.test(d.message))) note(`${what}: an alias bomb refused, but not for its aliases: ${c.diagnostics.map((d) => d.message).join('; ').slice(0, 400)}`);
        }
        if (i % cliEvery === 0 && cliRuns < Number(options.cli)) {
          cliRuns++;
          const checked = validateByCli(workDir, file, text, c.kind === 'valid', maxMs);
          cliMaxMs = Math.max(cliMaxMs, checked.ms);
          if (checked.problem) {
            if (checked.hung) hangs++;
            else crashes++;
            note(`${what} through the CLI: ${checked.problem}`);
          }
        }
        if ((i + 1) % 500 === 0) say(`${i + 1} cases: ${valid} valid, ${rejected} rejected, ${crashes} crashes, ${hangs} hangs`);
      }
    } finally {
      await compiler.close();
    }
    const peakRss = Math.round(process.resourceUsage().maxRSS / 1024);
    return outcome(
      { cases, valid, rejected, crashes, hangs, max_ms: Math.round(slowestMs), alias_bombs_refused: bombs, cli_runs: cliRuns, cli_max_ms: cliMaxMs, peak_rss_mb: peakRss },
      [
        [crashes === 0, `${crashes} crashes`],
        [hangs === 0, `${hangs} cases over ${maxMs} ms`],
        [unpositioned === 0, `${unpositioned} cases with a diagnostic that is not at file:line:col`],
        [valid + rejected + crashes + hangs === cases, 'cases unaccounted for'],
        ...failures.map((f): [boolean, string] => [false, f]),
      ],
    );
  },
};

/** One case through `duality validate FILE`: its answer must be `FILE: ok` or positioned problems, never a stack. */
function validateByCli(dir: string, file: string, text: string, valid: boolean, maxMs: number): { ms: number; problem?: string; hung?: boolean } {
  const path = join(dir, file);
  writeFileSync(path, text);
  const began = Date.now();
  // Node's start-up counts too: the bound here is the case's plus ten seconds for a loaded machine.
  const p = spawnSync(process.execPath, [join(ROOT, 'bin/duality.js'), 'validate', path], { encoding: 'utf8', timeout: maxMs + 10_000, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
  const ms = Date.now() - began;
  const out = `${p.stdout}${p.stderr}`;
  if (p.error || p.signal) return { ms, hung: p.signal === 'SIGTERM', problem: `${p.error?.message ?? p.signal}` };
  if (/^\s+at .+:\d+:\d+\)?$/m.test(out)) return { ms, problem: `a stack trace (exit ${p.status}):\n${out.slice(0, 2000)}` };
  if (valid) return p.status === 0 && out.includes(`${path}: ok`) ? { ms } : { ms, problem: `valid in-process, but exit ${p.status}:\n${out.slice(0, 1000)}` };
  const positioned = out.split('\n').filter((l) => l.startsWith(`${path}:`) && /^:\d+:\d+: /.test(l.slice(path.length)));
  return p.status === 1 && positioned.length > 0 ? { ms } : { ms, problem: `no file:line:col diagnostic (exit ${p.status}):\n${out.slice(0, 1000)}` };
}
