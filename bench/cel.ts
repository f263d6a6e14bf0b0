/**
 * Evaluations per second of a typical filter and map expression:
 *   duality-cel       engine/expr/cel.ts (JSON numbers, budget, result conversion): what the engine pays
 *   raw-marcbachmann  @marcbachmann/cel-js, compiled once, library-native inputs/outputs
 *   raw-bufbuild      @bufbuild/cel, planned once, library-native inputs/outputs
 *   js                a hand-written JavaScript function
 *   marcbachmann+bigint-input  raw cel-js after converting every record's integral
 *                     numbers to BigInt (the rejected JSON-number strategy, see cel-env.ts)
 * "Library-native" means the raw variants get integers as BigInt where the
 * expression does int arithmetic (value.qty + 1), since neither package accepts
 * `double + int`; those inputs are prepared before timing.
 *
 * Then regular expressions (engine/expr/cel-regex.ts): `split(value, "(a+)+$")` on "a"×27+"b"
 * and on a 1 MiB value through RE2, the same pattern in V8's RegExp (what split ran on before,
 * doubling with every "a"), a split that is quadratic in any RE2 engine (stopped by the budget),
 * and a WordCount line's split.
 *
 *   npm run bench -- cel [--seconds 1]
 */
import { Environment } from '@marcbachmann/cel-js';
import { celEnv, isCelError, isCelMap, parse as bufParse, plan as bufPlan } from '@bufbuild/cel';
import { compileExpression, RECORD_VARIABLES } from '../engine/expr/cel.js';

const FILTER = 'value.qty > 10 && value.store == "berlin"';
const MAP = '{"sku": key, "onHand": value.qty + 1}';
const N = 1000;

interface Rec {
  key: string;
  value: { qty: number; store: string };
}

function records(): Rec[] {
  const stores = ['berlin', 'paris', 'rome', 'madrid'];
  const out: Rec[] = [];
  for (let i = 0; i < N; i++) out.push({ key: `sku-${i}`, value: { qty: (i * 7) % 25, store: stores[i % stores.length] as string } });
  return out;
}

function bigintDeep(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(bigintDeep);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = bigintDeep(x);
    return out;
  }
  return v;
}

type Fn = (r: Rec, i: number) => unknown;

let sink = 0;
function consume(x: unknown): void {
  if (x === true) sink++;
  else if (typeof x === 'object' && x !== null) sink += 2;
}

/** Runs fn over the records for about `ms`; returns evaluations per second. */
function measure(fn: Fn, recs: Rec[], ms: number): number {
  const t0 = performance.now();
  let n = 0;
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < recs.length; i++) consume(fn(recs[i] as Rec, i));
    n += recs.length;
    t = performance.now();
  }
  return (n / (t - t0)) * 1000;
}

function fmt(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

function compileOurs(src: string) {
  const c = compileExpression(src, RECORD_VARIABLES);
  if (!c.ok) throw new Error(`${src}: ${c.message}`);
  return c.expression;
}

export async function run(args: string[]): Promise<void> {
  let seconds = 1;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--seconds') seconds = Number(args[++i]);
    else throw new Error(`unknown argument ${args[i]}; usage: cel [--seconds S]`);
  }
  if (!(seconds > 0)) throw new Error('--seconds must be > 0');

  const recs = records();
  const bigRecs = recs.map((r) => ({ key: r.key, value: bigintDeep(r.value) }));

  const marcEnv = new Environment({ homogeneousAggregateLiterals: false }).registerVariable('key', 'dyn').registerVariable('value', 'dyn');
  const buf = celEnv();

  const variants: Record<string, Record<'filter' | 'map', Fn>> = {};
  {
    const f = compileOurs(FILTER);
    const m = compileOurs(MAP);
    variants['duality-cel'] = { filter: (r) => f.evaluate(r), map: (r) => m.evaluate(r) };
  }
  {
    const f = marcEnv.parse(FILTER);
    const m = marcEnv.parse(MAP);
    if (!f.check().valid || !m.check().valid) throw new Error('cel-js check failed');
    variants['raw-marcbachmann'] = { filter: (r) => f(r), map: (_r, i) => m(bigRecs[i] as object) };
    variants['marcbachmann+bigint-input'] = {
      filter: (r) => f({ key: r.key, value: bigintDeep(r.value) }),
      map: (r) => m({ key: r.key, value: bigintDeep(r.value) }),
    };
  }
  {
    const f = bufPlan(buf, bufParse(FILTER));
    const m = bufPlan(buf, bufParse(MAP));
    variants['raw-bufbuild'] = {
      filter: (r) => f(r as never),
      map: (_r, i) => m(bigRecs[i] as never),
    };
  }
  variants['js'] = {
    filter: (r) => r.value.qty > 10 && r.value.store === 'berlin',
    map: (r) => ({ sku: r.key, onHand: r.value.qty + 1 }),
  };

  // Sanity: every variant computes the same thing.
  for (const [name, v] of Object.entries(variants)) {
    for (let i = 0; i < recs.length; i += 37) {
      const r = recs[i] as Rec;
      const want = r.value.qty > 10 && r.value.store === 'berlin';
      let got = v.filter(r, i);
      if (isCelError(got)) throw got;
      if (got !== want) throw new Error(`${name} filter: got ${String(got)} for ${JSON.stringify(r)}`);
      got = v.map(r, i);
      if (isCelError(got)) throw got;
      const o = isCelMap(got) ? Object.fromEntries(got) : (got as Record<string, unknown>);
      if (o['sku'] !== r.key || Number(o['onHand']) !== r.value.qty + 1) throw new Error(`${name} map: got ${String(got)}`);
    }
  }

  const results: Record<string, Record<'filter' | 'map', number>> = {};
  console.log(`CEL evaluation speed (${N} records, ${seconds}s per measurement, node ${process.version})`);
  console.log(`  filter: ${FILTER}\n  map:    ${MAP}`);
  // Warm every variant up first, then measure in ROUNDS interleaved slices and
  // keep the best slice, so JIT warm-up and ordering do not favour any variant.
  const ROUNDS = 3;
  for (const kind of ['filter', 'map'] as const) {
    for (const v of Object.values(variants)) measure(v[kind], recs, 300);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, v] of Object.entries(variants)) {
        const perSecond = measure(v[kind], recs, (seconds * 1000) / ROUNDS);
        const entry = (results[name] ??= { filter: 0, map: 0 });
        entry[kind] = Math.max(entry[kind], perSecond);
      }
    }
    for (const name of Object.keys(variants)) console.log(`${name} ${kind}: ${fmt(results[name]?.[kind] ?? 0)} evals/s`);
  }
  const r = (a: string, b: string, kind: 'filter' | 'map'): string => ((results[a]?.[kind] ?? 0) / (results[b]?.[kind] ?? 1)).toFixed(2);
  for (const kind of ['filter', 'map'] as const) {
    console.log(`ratio cel/js ${kind}: ${r('duality-cel', 'js', kind)}`);
    console.log(`ratio duality-cel/raw-marcbachmann ${kind}: ${r('duality-cel', 'raw-marcbachmann', kind)}`);
    console.log(`ratio duality-cel/raw-bufbuild ${kind}: ${r('duality-cel', 'raw-bufbuild', kind)}`);
    console.log(`ratio raw-marcbachmann/raw-bufbuild ${kind}: ${r('raw-marcbachmann', 'raw-bufbuild', kind)}`);
    console.log(`ratio marcbachmann+bigint-input/raw-marcbachmann ${kind}: ${r('marcbachmann+bigint-input', 'raw-marcbachmann', kind)}`);
  }
  const filter = results['duality-cel']?.filter ?? 0;
  console.log(`target duality-cel filter >= 1M evals/s: ${filter >= 1e6 ? 'met' : 'MISSED'} (${fmt(filter)})`);
  regexFigures();
  if (sink === -1) console.log(sink); // keep results observable
}

function millis(fn: () => unknown): number {
  const t0 = performance.now();
  consume(fn());
  return performance.now() - t0;
}

function regexFigures(): void {
  const backtracking = compileOurs('split(value, "(a+)+$")');
  const stuck = (n: number): string => 'a'.repeat(n) + 'b';
  console.log('regular expressions (RE2):');
  console.log(`split(value, "(a+)+$") on "a"x27+"b": ${millis(() => backtracking.evaluate({ value: stuck(27) })).toFixed(2)} ms`);
  console.log(`split(value, "(a+)+$") on "a"x(1 MiB - 1)+"b": ${millis(() => backtracking.evaluate({ value: stuck((1 << 20) - 1) })).toFixed(0)} ms`);
  stuck(16).split(/(a+)+$/); // compiles V8's RegExp outside the figures
  for (const n of [20, 22, 24]) {
    console.log(`V8 RegExp /(a+)+$/ split on "a"x${n}+"b" (before): ${millis(() => stuck(n).split(/(a+)+$/)).toFixed(0)} ms`);
  }
  const quadratic = compileOurs('split(value, "a(.*z)?")');
  for (const n of [2_000, 10_000]) {
    let outcome = 'split';
    const ms = millis(() => {
      try {
        return quadratic.evaluate({ value: 'a'.repeat(n) });
      } catch (e) {
        outcome = (e as Error).message.slice(0, 40);
        return undefined;
      }
    });
    console.log(`split(value, "a(.*z)?") on "a"x${n} (each search reads to the end): ${ms.toFixed(0)} ms, ${outcome}`);
  }
  const line = 'The quick brown fox, the lazy dog and the cat sat on a mat';
  const wordcount = compileOurs('split(lower(value), "\\\\W+")');
  const general = compileOurs('split(lower(value), "[^a-z0-9_]+|\\\\s")');
  for (const [name, fn] of [
    ['split(lower(value), "\\\\W+") (V8 path)', () => wordcount.evaluate({ value: line })],
    ['split(lower(value), "[^a-z0-9_]+|\\\\s") (re2js)', () => general.evaluate({ value: line })],
    ['V8 line.toLowerCase().split(/\\W+/)', () => line.toLowerCase().split(/\W+/)],
  ] as const) {
    measureOne(fn, 200);
    const perSecond = measureOne(fn, 500);
    console.log(`${name} on a 12-word line: ${(1e6 / perSecond).toFixed(2)} µs`);
  }
}

function measureOne(fn: () => unknown, ms: number): number {
  const t0 = performance.now();
  let n = 0;
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 1000; i++) consume(fn());
    n += 1000;
    t = performance.now();
  }
  return (n / (t - t0)) * 1000;
}
