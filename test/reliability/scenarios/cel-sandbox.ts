import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileExpression, RECORD_VARIABLES } from '../../../engine/expr/cel.js';
import { ROOT } from '../../root.js';
import { Compiler } from '../compile-worker.js';
import { Instance, waitFor } from '../instance.js';
import { RssSampler } from '../rss.js';
import { outcome, type Scenario } from '../scenario.js';

/** A hostile expression: in a `mapValues` (or a `filter`) of its own table, given one record. */
interface Case {
  readonly what: string;
  readonly expr: string;
  readonly step?: 'filter' | 'mapValues';
  /** The record's value; `{"s": "x", "n": 1, "l": [1, 2, 3], "m": {"a": 1}}` when not given. */
  readonly value?: unknown;
  /** It must never give a result: refused at load or sent to the dead letters (else any outcome but an escape will do). */
  readonly refuse?: boolean;
}

/** What the instance has in its environment and nothing may show: an expression that reads it escaped. */
const CANARY = 'canary-7c1e-do-not-leak';
const tens = `[${Array.from({ length: 10 }, (_, i) => i).join(',')}]`;
const aaa = (n: number): string => `${'a'.repeat(n)}!`;

const CASES: readonly Case[] = [
  // The host: nothing outside the record's variables and CEL's functions may be reached.
  ...['this', 'constructor', '__proto__', 'process', 'globalThis', 'global', 'window', 'module', 'Function', 'eval'].map((name) => ({ what: `the host name ${name}`, expr: name, refuse: true })),
  { what: 'require', expr: 'require("fs")', refuse: true },
  { what: 'process.env', expr: `process.env.DUALITY_CANARY`, refuse: true },
  { what: 'eval', expr: 'eval("process")', refuse: true },
  { what: "a value's constructor", expr: 'value.constructor', refuse: true },
  { what: "a value's __proto__ by index", expr: 'value["__proto__"]', refuse: true },
  { what: 'the Function constructor through a value', expr: 'value["constructor"]["constructor"]("return process")()', refuse: true },
  { what: "a string's constructor", expr: '"".constructor', refuse: true },
  { what: "a map literal's constructor", expr: '{}.constructor', refuse: true },
  { what: "a list's constructor", expr: '[].constructor', refuse: true },
  { what: "the headers' prototype", expr: 'headers.__proto__', refuse: true },
  { what: "a string's methods", expr: 'value.s.toString', refuse: true },
  { what: 'prototype pollution by a map literal', expr: '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}' },
  { what: 'prototype pollution by a record', expr: 'value', value: JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}') },
  { what: 'a record field named __proto__', expr: 'value.__proto__', value: JSON.parse('{"__proto__": {"x": 1}}') },
  { what: 'a type as a value', expr: 'type(value)' },
  { what: 'an unknown function', expr: 'value.s.exec("x")', refuse: true },
  // Regular expressions that backtrack exponentially in a backtracking engine, on long texts.
  { what: 'ReDoS (a+)+$', expr: 'value.s.matches("(a+)+$")', value: { s: aaa(50_000) } },
  { what: 'ReDoS (a|aa)+$', expr: 'value.s.matches("(a|aa)+$")', value: { s: aaa(50_000) } },
  { what: 'ReDoS (a*)*b', expr: 'value.s.matches("(a*)*b")', value: { s: aaa(50_000) } },
  { what: 'ReDoS nested ten deep', expr: 'value.s.matches("((((((((((a*)*)*)*)*)*)*)*)*)*)*b")', value: { s: aaa(20_000) } },
  { what: 'ReDoS (.*a){20}', expr: 'value.s.matches("(.*a){20}$")', value: { s: aaa(20_000) } },
  { what: 'ReDoS e-mail', expr: 'matches(value.s, "^([a-zA-Z0-9])(([\\\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$")', value: { s: `${'a'.repeat(30_000)}@` } },
  { what: 'ReDoS in a filter', step: 'filter', expr: 'value.s.matches("^(a+)+$")', value: { s: aaa(50_000) } },
  { what: 'ReDoS pattern from the record', expr: 'value.s.matches(value.p)', value: { s: aaa(50_000), p: '(a+)+$' } },
  { what: 'ReDoS split', expr: 'size(split(value.s, "(a+)+b"))', value: { s: aaa(50_000) } },
  { what: 'a backreference', expr: 'value.s.matches("(a)\\\\1")', refuse: true },
  { what: 'a lookahead', expr: 'value.s.matches("(?=a)a")', refuse: true },
  { what: 'a bad pattern from the record', expr: 'value.s.matches(value.p)', value: { s: 'x', p: '(a' }, refuse: true },
  { what: 'a backreference from the record', expr: 'value.s.matches(value.p)', value: { s: 'aa', p: '(a)\\1' }, refuse: true },
  { what: 'a huge repetition', expr: 'value.s.matches("((a{1000}){1000}){1000}")', refuse: true },
  { what: 'split with many separators', expr: 'size(split(value.s, "\\\\s*,\\\\s*"))', value: { s: 'a , '.repeat(50_000) } },
  // Nesting and size: refused at load.
  { what: 'parentheses 5,000 deep', expr: `${'('.repeat(5_000)}1${')'.repeat(5_000)}`, refuse: true },
  { what: 'negations 10,000 deep', expr: `${'!'.repeat(10_000)}true`, refuse: true },
  { what: 'lists 3,000 deep', expr: `${'['.repeat(3_000)}${']'.repeat(3_000)}`, refuse: true },
  { what: 'conditionals 2,000 deep', expr: `${'true ? '.repeat(2_000)}1${' : 0'.repeat(2_000)}`, refuse: true },
  { what: 'a sum of 20,000 terms', expr: Array(20_000).fill('1').join(' + '), refuse: true },
  { what: 'a list literal of 20,000 items', expr: `[${Array(20_000).fill('1').join(',')}]`, refuse: true },
  { what: 'a field chain 5,000 long', expr: `value${'.a'.repeat(5_000)}`, refuse: true },
  // Building enormous values: the evaluation budget stops them.
  { what: 'a million-element comprehension', expr: `${tens}.map(a, ${tens}.map(b, ${tens}.map(c, ${tens}.map(d, ${tens}.map(e, ${tens}.map(f, a))))))`, refuse: true },
  { what: 'a comprehension over a big record list', expr: 'value.l.map(x, value.l.map(y, value.l))', value: { l: Array.from({ length: 2_000 }, (_, i) => i) }, refuse: true },
  { what: 'string doubling by a comprehension', expr: 'value.l.map(x, value.s).join()', value: { s: 'x'.repeat(100_000), l: Array.from({ length: 5_000 }, (_, i) => i) }, refuse: true },
  { what: 'a string concatenated with itself', expr: 'value.s + value.s + value.s + value.s + value.s + value.s + value.s + value.s', value: { s: 'x'.repeat(200_000) } },
  { what: 'a list concatenated with itself', expr: '[value.l + value.l + value.l + value.l, value.l + value.l]', value: { l: Array.from({ length: 50_000 }, (_, i) => i) } },
  { what: 'exists over a big list', expr: 'value.l.exists(x, value.l.exists(y, x + y < 0))', value: { l: Array.from({ length: 5_000 }, (_, i) => i) }, refuse: true },
  { what: 'in over a big list, nested', expr: 'value.l.all(x, x in value.l)', value: { l: Array.from({ length: 5_000 }, (_, i) => i) }, refuse: true },
  // Arithmetic.
  { what: 'integer division by zero', expr: '1 / 0', refuse: true },
  { what: 'integer modulo zero', expr: '1 % 0', refuse: true },
  { what: 'a number divided by zero', expr: 'value.n / 0', refuse: true },
  { what: 'an int() divided by zero', expr: 'int(value.n) / 0', refuse: true },
  { what: 'a size divided by zero', expr: 'size(value.s) / 0', refuse: true },
  { what: 'integer overflow by addition', expr: '9223372036854775807 + 1', refuse: true },
  { what: 'integer overflow by subtraction', expr: '-9223372036854775808 - 1', refuse: true },
  { what: 'integer overflow by multiplication', expr: '9223372036854775807 * 2', refuse: true },
  { what: 'integer overflow by negation', expr: '-(-9223372036854775808)', refuse: true },
  { what: 'an integer beyond 2^53', expr: '9007199254740993', refuse: true },
  { what: 'a double past the largest', expr: 'value.n * 1.7976931348623157e308 * 10.0', refuse: true },
  { what: 'int() of a huge number', expr: 'int(value.big)', value: { big: 1e300 }, refuse: true },
  { what: 'int() of a huge text', expr: 'int("99999999999999999999")', refuse: true },
  { what: 'uint() of a negative', expr: 'uint(-1)', refuse: true },
  // Past CEL's range (±10,000 years): cel-js gives a duration, cel-go an error; either is no escape.
  { what: 'a huge duration', expr: 'duration("99999999999999999h")' },
  { what: 'a bad timestamp', expr: 'timestamp(value.s)', value: { s: 'not a time' }, refuse: true },
  // Type confusion: the data decides at run time.
  { what: 'a string plus a number', expr: 'value.s + value.n', refuse: true },
  { what: 'size of a number', expr: 'size(value.n)', refuse: true },
  { what: 'an index out of range', expr: 'value.l[1000000]', refuse: true },
  { what: 'a negative index', expr: 'value.l[-1]', refuse: true },
  { what: 'a missing key', expr: 'value.m["missing"]', refuse: true },
  { what: 'substring out of range', expr: 'value.s.substring(100, 1)', refuse: true },
  { what: 'int() of a map', expr: 'int(value.m)', refuse: true },
  { what: 'join of mixed types', expr: 'value.l.join()', refuse: true },
  { what: 'a string compared with a number', expr: 'value.s < value.n', refuse: true },
  // cel-js replaces invalid UTF-8 with U+FFFD, where cel-go gives an error.
  { what: 'invalid UTF-8 bytes as a string', expr: 'b"\\xff\\xfe".string()' },
  // A filter's predicate must give true, false or null (docs/operators.md): a string is the record's error.
  { what: 'a filter that is not a boolean', step: 'filter', expr: 'value.s', refuse: true },
  { what: 'a filter comparing a number with a string', step: 'filter', expr: 'value.n > value.s', refuse: true },
  { what: 'a field of a string', expr: 'value.s.length', refuse: true },
  { what: 'a field of null', expr: 'value.z.a', value: { z: null }, refuse: true },
];

const DEFAULT_VALUE = { s: 'x', n: 1, l: [1, 2, 3, 'a'], m: { a: 1 } };
const tableOf = (i: number): string => `case-${i}`;

/** The topology of one case, for `duality validate`: a table of its own from the input. */
function steps(c: Case, i: number): string {
  const step = `${c.step ?? 'mapValues'}: ${JSON.stringify(c.expr)}`;
  return `  ${tableOf(i)}:\n    from: input\n    steps:\n      - filter: key == "${tableOf(i)}"\n      - ${step}\n      - toTable\n`;
}
const HEADER = 'version: 1\nname: cel-sandbox\nstreams:\n  input:\n    topic: input\n    key: string\n    value: json\ntables:\n  done:\n    from: input\n    steps:\n      - groupByKey\n      - count\n';

/** Anything in an answer that came from the host rather than the record. */
function escaped(text: string): boolean {
  return text.includes(CANARY) || /\[native code\]|function\s*\w*\s*\(|process\.|require\(|node:internal|\bat .+\.js:\d+/.test(text);
}

export const scenario: Scenario = {
  name: 'cel-sandbox',
  order: 80,
  what: 'hostile CEL in filter and mapValues (host objects, ReDoS, deep nesting, enormous values, division by zero, overflow, type confusion) through duality validate and a running instance: refused at load or sent to the dead letters with a cause, processing goes on, no host access',
  mirrors: 'sandbox escape and resource-exhaustion tests of expression languages (Google CEL conformance and cost-limit tests, OWASP ReDoS); Kafka Streams has no expression language',
  options: {
    'max-rss-mb': { default: '1024', help: 'the resident memory the instance may reach' },
    timeout: { default: '180', help: 'seconds the instance may take to process every record before the cases not done count as hung' },
    'redos-sizes': { default: '1000,4000,16000,64000,256000', help: 'text sizes (a^n!) the regular-expression timing runs over' },
  },
  short: {},

  async run({ options, workDir, say }) {
    const failures: string[] = [];
    const note = (f: string): void => void failures.push(f);

    // 1. Catastrophic backtracking, timed: RE2 matches in time linear in the text's length, where
    // JavaScript's own engine doubles its time with each character more (shown on short texts).
    const redos: string[] = [];
    const m = compileExpression('value.s.matches("(a+)+$") || value.s.matches("(a|aa)+$") || value.s.matches("(a*)*b")', RECORD_VARIABLES);
    if (!m.ok) throw new Error(m.message);
    m.expression.evaluate({ value: { s: aaa(1000) } });
    for (const n of options['redos-sizes']!.split(',').map(Number)) {
      const s = aaa(n);
      const times: number[] = [];
      for (let k = 0; k < 5; k++) {
        const began = performance.now();
        const result = m.expression.evaluate({ value: { s } });
        times.push(performance.now() - began);
        if (result !== false) note(`(a+)+$ on a^${n}! gave ${JSON.stringify(result)}, not false`);
      }
      redos.push(`${n}:${times.sort((a, b) => a - b)[2]!.toFixed(2)}ms`);
    }
    const native: string[] = [];
    for (const n of [16, 18, 20, 22]) {
      const began = performance.now();
      /(a+)+$/.test(aaa(n));
      native.push(`${n}:${(performance.now() - began).toFixed(1)}ms`);
    }
    say(`ReDoS patterns through CEL (RE2) on a^n!, median of 5: ${redos.join(' ')}; (a+)+$ in JavaScript's RegExp: ${native.join(' ')}`);

    // 2. Each case alone through the compiler, in a worker (a hang is timed out), and all through the CLI.
    const compiler = new Compiler({ maxMs: 10_000, heapMb: 512 });
    const accepted: number[] = [];
    let rejectedAtLoad = 0, crashes = 0, hangs = 0, escapes = 0;
    const files: string[] = [];
    const loadResults: boolean[] = [];
    try {
      for (const [i, c] of CASES.entries()) {
        const file = join(workDir, `${tableOf(i)}.yaml`);
        const text = HEADER + steps(c, i);
        writeFileSync(file, text);
        files.push(file);
        const r = await compiler.compile(file, text);
        if (r.kind === 'valid') accepted.push(i);
        else if (r.kind === 'rejected') {
          rejectedAtLoad++;
          const d = r.diagnostics;
          if (!d.every((x) => x.line >= 1 && x.col >= 1 && x.message) || d.some((x) => escaped(x.message))) note(`${c.what}: a diagnostic without position, or showing the host: ${JSON.stringify(d).slice(0, 500)}`);
        } else if (r.kind === 'hang') {
          hangs++;
          note(`${c.what}: validating took more than 20 s`);
        } else {
          crashes++;
          note(`${c.what}: validating crashed: ${r.error.slice(0, 1500)}`);
        }
        loadResults.push(r.kind === 'valid');
      }
    } finally {
      await compiler.close();
    }
    const cli = spawnSync(process.execPath, [join(ROOT, 'bin/duality.js'), 'validate', ...files], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
    const cliOut = `${cli.stdout}${cli.stderr}`;
    if (cli.error || cli.signal || cli.status !== (accepted.length === CASES.length ? 0 : 1) || /^\s+at .+:\d+:\d+\)?$/m.test(cliOut)) {
      crashes++;
      note(`duality validate of the ${files.length} cases: exit ${cli.status ?? cli.signal ?? cli.error?.message}:\n${cliOut.slice(0, 2000)}`);
    }
    for (const [i, file] of files.entries()) {
      const ok = cliOut.includes(`${file}: ok`);
      if (ok !== loadResults[i]) note(`${CASES[i]!.what}: duality validate says ${ok ? 'ok' : 'not ok'}, the compiler in-process the other`);
    }
    say(`${CASES.length} cases: ${rejectedAtLoad} rejected at load, ${accepted.length} to run`);

    // 3. The rest together in one running instance, a record each; then a probe for pollution.
    const file = join(workDir, 'cel-sandbox.yaml');
    writeFileSync(file, HEADER + accepted.map((i) => steps(CASES[i]!, i)).join('') + '  probe:\n    from: input\n    steps:\n      - filter: key == "probe"\n      - mapValues: \'[has(value.polluted), has(value.m.polluted), has(headers.polluted)]\'\n      - toTable\n');
    const instance = new Instance([file, '--port', '0', '--state-dir', join(workDir, 'state')], { DUALITY_CANARY: CANARY });
    const rss = new RssSampler(instance.child.pid!);
    let toDlq = 0, processedOk = 0, runMs = 0;
    try {
      const url = await instance.ready();
      const began = performance.now();
      for (const i of accepted) {
        const post = (): Promise<Response> => fetch(`${url}/topics/input/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: tableOf(i), value: CASES[i]!.value ?? DEFAULT_VALUE }) });
        // A connection the server closed as idle just as it was reused is the network's, not the case's: one more try.
        const r = await post().catch(async (e: unknown) => {
          if (!instance.running) throw new Error(`duality run exited (${instance.child.exitCode ?? instance.child.signalCode}) while ${CASES[i]!.what} was posted:\n${instance.stderr.slice(-4000)}`);
          say(`${CASES[i]!.what}: posting failed (${String((e as Error).cause ?? e)}); trying once more`);
          return post();
        });
        if (r.status !== 200) note(`${CASES[i]!.what}: posting its record answered ${r.status} ${await r.text()}`);
      }
      const counted = async (key: string): Promise<boolean> => (await fetch(`${url}/tables/done/keys/${key}`).catch(() => undefined))?.status === 200;
      const pending = new Set(accepted);
      await waitFor('every record processed', Number(options.timeout) * 1000, async () => {
        if (!instance.running) return true;
        for (const i of [...pending]) if (await counted(tableOf(i))) pending.delete(i);
        return pending.size === 0 ? true : undefined;
      }).catch(() => undefined);
      runMs = Math.round(performance.now() - began);
      hangs += pending.size;
      for (const i of pending) note(`${CASES[i]!.what}: its record was not processed within ${options.timeout} s`);
      if (!instance.running) {
        crashes++;
        note(`duality run exited while processing:\n${instance.stderr.slice(-3000)}`);
      } else {
        // Every other case's record processed first: now nothing may see a polluted prototype.
        await fetch(`${url}/topics/input/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'probe', value: { m: {} } }) });
        const probe = await waitFor('the probe', 60_000, async () => {
          const r = await fetch(`${url}/tables/probe/keys/probe`);
          return r.status === 200 ? ((await r.json()) as { value: unknown }).value : undefined;
        });
        if (JSON.stringify(probe) !== '[false,false,false]') {
          escapes++;
          note(`a prototype was polluted: the probe saw ${JSON.stringify(probe)}`);
        }
        // Dead letters show once their transaction commits, maybe after the count: polled until each
        // case has one or a result. A filter that dropped its record has neither; it counts as
        // processed once every other case has its outcome.
        type Letter = { key: string; headers: Record<string, string> };
        const outcomes = new Map<number, { letter?: Letter; status: number; body: string }>();
        const settled = (i: number): boolean => {
          const o = outcomes.get(i);
          return o !== undefined && (o.letter !== undefined || o.status === 200);
        };
        await waitFor('a dead letter or a result for every case', 60_000, async () => {
          const dead = ((await (await fetch(`${url}/dead-letters?limit=200`)).json()) as { records: Letter[] }).records;
          for (const i of accepted.filter((x) => !settled(x))) {
            const entry = await fetch(`${url}/tables/${tableOf(i)}/keys/${tableOf(i)}`);
            outcomes.set(i, { letter: dead.find((d) => d.key === tableOf(i)), status: entry.status, body: await entry.text() });
          }
          return accepted.every((i) => settled(i) || CASES[i]!.step === 'filter') ? true : undefined;
        }).catch(() => undefined);
        for (const i of accepted) {
          const c = CASES[i]!;
          const { letter, status, body } = outcomes.get(i)!;
          if (letter) {
            toDlq++;
            const cause = letter.headers['__streams.errors.message'] ?? '';
            if (!cause || /\n\s+at /.test(cause)) note(`${c.what}: dead letter without a clear cause: ${JSON.stringify(letter.headers)}`);
            if (escaped(JSON.stringify(letter.headers))) {
              escapes++;
              note(`${c.what}: its dead letter shows the host: ${JSON.stringify(letter.headers).slice(0, 500)}`);
            }
          } else if (status === 200 || (c.step === 'filter' && status === 404)) {
            processedOk++;
            say(`gave a result: ${c.what}: ${status === 200 ? body.slice(0, 120) : 'dropped by the filter'}`);
            if (c.refuse) note(`${c.what}: \`${c.expr.slice(0, 100)}\` gave a result instead of an error: ${body.slice(0, 300)}`);
            if (escaped(body)) {
              escapes++;
              note(`${c.what}: its result shows the host: ${body.slice(0, 500)}`);
            }
          } else note(`${c.what}: neither a dead letter nor a result after 60 s (${status} ${body.slice(0, 200)})`);
        }
        if (escaped(instance.stdout) || instance.stderr.includes(CANARY)) {
          escapes++;
          note('the instance\'s output shows the canary or host code');
        }
      }
    } finally {
      const code = await instance.stop('SIGTERM');
      if (code !== 0) {
        crashes++;
        note(`duality run exited ${code} on SIGTERM:\n${instance.stderr.slice(-2000)}`);
      }
    }
    const peakRss = rss.stop();
    return outcome(
      { cases: CASES.length, rejected_at_load: rejectedAtLoad, to_dlq: toDlq, processed_ok: processedOk, crashes, hangs, escapes, run_ms: runMs, peak_rss_mb: peakRss, redos: redos.join(','), redos_native: native.join(',') },
      [
        [crashes === 0, `${crashes} crashes`],
        [hangs === 0, `${hangs} hangs`],
        [escapes === 0, `${escapes} escapes`],
        [peakRss <= Number(options['max-rss-mb']), `the instance reached ${peakRss} MB resident, over ${options['max-rss-mb']} MB`],
        [rejectedAtLoad + toDlq + processedOk + hangs === CASES.length, 'cases without an outcome'],
        ...failures.map((f): [boolean, string] => [false, f]),
      ],
    );
  },
};
