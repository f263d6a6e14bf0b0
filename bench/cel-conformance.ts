/**
 * Runs the CEL conformance test data shipped in @bufbuild/cel-spec through both
 * candidate CEL packages, @marcbachmann/cel-js and @bufbuild/cel, and prints
 * passed / failed / skipped per package and per section.
 *
 *   npm run bench -- cel-conformance [--failures marc|buf] [--limit N]
 *
 * The comparison is deliberately simple and the same for both packages:
 *  - the expected value (or the default `true`) and the actual result are both
 *    turned into a canonical string (type-tagged: int/uint/double/string/bytes/
 *    bool/null/list/map/type) and compared;
 *  - a test expecting an evaluation error passes when the package reports any
 *    error (parse, check or evaluation);
 *  - tests that need protobuf messages, enums, containers, declared custom
 *    functions or are check-only are skipped for both packages, with a reason.
 * Each package gets its natural extensions switched on (cel-js: optional types,
 * heterogeneous literals like cel-go; bufbuild: the `strings` extension).
 */
import {
  Environment,
  UnsignedInt,
} from '@marcbachmann/cel-js/evaluator';
import {
  celEnv,
  celUint,
  isCelError,
  isCelList,
  isCelMap,
  isCelType,
  isCelUint,
  parse as bufParse,
  plan as bufPlan,
} from '@bufbuild/cel';
import { strings as bufStrings } from '@bufbuild/cel/ext';

/* ---------- the serialized test data (JSON form of cel.expr protos) ---------- */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObj = { [k: string]: Json };

interface SerializedTest {
  original: JsonObj & { name?: string; expr: string };
}
interface SerializedSuite {
  name: string;
  suites?: SerializedSuite[];
  tests?: SerializedTest[];
}

interface FlatTest {
  section: string;
  path: string;
  name: string;
  t: JsonObj & { expr: string };
}

function flatten(suite: SerializedSuite, section: string, path: string, out: FlatTest[]): void {
  for (const t of suite.tests ?? []) {
    out.push({ section, path, name: t.original.name ?? t.original.expr, t: t.original });
  }
  for (const s of suite.suites ?? []) {
    flatten(s, section === '' ? s.name : section, path === '' ? s.name : `${path}/${s.name}`, out);
  }
}

/* ---------- skip rules (shared by both packages) ---------- */

const PROTO_IN_EXPR = /\b(TestAllTypes|NestedTestAllTypes|TestRequired|GlobalEnum|NestedEnum|google\.protobuf\.|proto[23]\.)/;

function containsKey(v: Json, keys: ReadonlySet<string>): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => containsKey(x, keys));
  for (const [k, x] of Object.entries(v)) {
    if (keys.has(k) || containsKey(x, keys)) return true;
  }
  return false;
}
const PROTO_KEYS = new Set(['objectValue', 'enumValue', 'messageType']);

function skipReason(t: JsonObj & { expr: string }): string | undefined {
  if (t['checkOnly'] === true) return 'check-only (type deduction)';
  const env = t['typeEnv'];
  if (Array.isArray(env) && env.some((d) => d !== null && typeof d === 'object' && !Array.isArray(d) && 'function' in d)) {
    return 'needs declared custom functions';
  }
  if (containsKey(t['typeEnv'] ?? null, PROTO_KEYS) || containsKey(t['bindings'] ?? null, PROTO_KEYS)) {
    return 'needs protobuf message / enum values';
  }
  if (containsKey(t['value'] ?? null, PROTO_KEYS) || containsKey(t['typedResult'] ?? null, PROTO_KEYS)) {
    return 'expects protobuf message / enum result';
  }
  if (PROTO_IN_EXPR.test(t.expr)) return 'uses protobuf types in the expression';
  if ('unknown' in t || 'anyUnknowns' in t) return 'expects unknowns';
  const v = t['value'];
  if (v !== undefined && v !== null && typeof v === 'object' && !Array.isArray(v) && 'typeValue' in v) {
    const name = v['typeValue'];
    if (typeof name === 'string' && name.includes('.')) return 'expects a protobuf type value';
  }
  return undefined;
}

/* ---------- canonical form ---------- */

function b64ToBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}
function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
function canonDouble(n: number): string {
  if (Number.isNaN(n)) return 'double:NaN';
  if (n === 0) return 'double:0';
  return `double:${n}`;
}
function canonMap(entries: Array<[string, string]>): string {
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `{${entries.map(([k, v]) => `${k}=>${v}`).join(',')}}`;
}

/** Canonical form of an expected cel.expr.Value (JSON form). */
function canonExpected(v: Json): string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`bad Value ${JSON.stringify(v)}`);
  if ('int64Value' in v) return `int:${BigInt(v['int64Value'] as string | number)}`;
  if ('uint64Value' in v) return `uint:${BigInt(v['uint64Value'] as string | number)}`;
  if ('doubleValue' in v) return canonDouble(Number(v['doubleValue']));
  if ('stringValue' in v) return `string:${JSON.stringify(v['stringValue'])}`;
  if ('bytesValue' in v) return `bytes:${hex(b64ToBytes(String(v['bytesValue'])))}`;
  if ('boolValue' in v) return `bool:${v['boolValue']}`;
  if ('nullValue' in v) return 'null';
  if ('typeValue' in v) return `type:${v['typeValue']}`;
  if ('listValue' in v) {
    const lv = v['listValue'] as JsonObj;
    const values = (lv['values'] ?? []) as Json[];
    return `[${values.map(canonExpected).join(',')}]`;
  }
  if ('mapValue' in v) {
    const mv = v['mapValue'] as JsonObj;
    const entries = (mv['entries'] ?? []) as JsonObj[];
    return canonMap(entries.map((e) => [canonExpected(e['key'] ?? null), canonExpected(e['value'] ?? null)]));
  }
  throw new Error(`unsupported Value ${JSON.stringify(v)}`);
}

/** Canonical form of a result of @marcbachmann/cel-js. */
function canonMarc(v: unknown): string {
  switch (typeof v) {
    case 'bigint':
      return `int:${v}`;
    case 'number':
      return canonDouble(v);
    case 'string':
      return `string:${JSON.stringify(v)}`;
    case 'boolean':
      return `bool:${v}`;
    case 'object': {
      if (v === null) return 'null';
      if (v instanceof UnsignedInt) return `uint:${v.valueOf()}`;
      if (v instanceof Uint8Array) return `bytes:${hex(v)}`;
      if (Array.isArray(v) || v instanceof Set) return `[${[...v].map(canonMarc).join(',')}]`;
      if (v instanceof Map) return canonMap([...v].map(([k, x]) => [canonMarc(k), canonMarc(x)]));
      const tag = Object.prototype.toString.call(v);
      if (tag.startsWith('[object Type<')) return `type:${(v as { name: string }).name}`;
      const proto = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) {
        return canonMap(Object.entries(v).map(([k, x]) => [canonMarc(k), canonMarc(x)]));
      }
      return `object:${tag}`;
    }
    default:
      return `unsupported:${typeof v}`;
  }
}

/** Canonical form of a result of @bufbuild/cel. */
function canonBuf(v: unknown): string {
  switch (typeof v) {
    case 'bigint':
      return `int:${v}`;
    case 'number':
      return canonDouble(v);
    case 'string':
      return `string:${JSON.stringify(v)}`;
    case 'boolean':
      return `bool:${v}`;
    case 'object': {
      if (v === null) return 'null';
      if (isCelUint(v)) return `uint:${v.value}`;
      if (v instanceof Uint8Array) return `bytes:${hex(v)}`;
      if (isCelList(v)) return `[${[...v].map(canonBuf).join(',')}]`;
      if (isCelMap(v)) return canonMap([...v].map(([k, x]) => [canonBuf(k), canonBuf(x)]));
      if (isCelType(v)) return `type:${v.name}`;
      return `object:${Object.prototype.toString.call(v)}`;
    }
    default:
      return `unsupported:${typeof v}`;
  }
}

/* ---------- inputs ---------- */

type Flavor = 'marc' | 'buf';

function inputValue(v: Json, flavor: Flavor): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`bad Value ${JSON.stringify(v)}`);
  if ('int64Value' in v) return BigInt(v['int64Value'] as string | number);
  if ('uint64Value' in v) {
    const n = BigInt(v['uint64Value'] as string | number);
    return flavor === 'marc' ? new UnsignedInt(n) : celUint(n);
  }
  if ('doubleValue' in v) return Number(v['doubleValue']);
  if ('stringValue' in v) return v['stringValue'];
  if ('bytesValue' in v) return b64ToBytes(String(v['bytesValue']));
  if ('boolValue' in v) return v['boolValue'];
  if ('nullValue' in v) return null;
  if ('listValue' in v) {
    const lv = v['listValue'] as JsonObj;
    return ((lv['values'] ?? []) as Json[]).map((x) => inputValue(x, flavor));
  }
  if ('mapValue' in v) {
    const mv = v['mapValue'] as JsonObj;
    const m = new Map<unknown, unknown>();
    for (const e of (mv['entries'] ?? []) as JsonObj[]) m.set(inputValue(e['key'] ?? null, flavor), inputValue(e['value'] ?? null, flavor));
    return m;
  }
  throw new Error(`unsupported binding ${JSON.stringify(v)}`);
}

function bindingsOf(t: JsonObj, flavor: Flavor): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const b = t['bindings'];
  if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) return out;
  for (const [name, ev] of Object.entries(b)) {
    const value = (ev as JsonObj)['value'];
    if (value === undefined) throw new Error(`binding ${name} without value`);
    out[name] = inputValue(value, flavor);
  }
  return out;
}

/** cel.expr.Type (JSON form) → @marcbachmann/cel-js type string. */
function marcType(t: Json): string {
  if (t === null || typeof t !== 'object' || Array.isArray(t)) return 'dyn';
  const p = t['primitive'];
  if (typeof p === 'string') {
    return ({ INT64: 'int', UINT64: 'uint', DOUBLE: 'double', STRING: 'string', BOOL: 'bool', BYTES: 'bytes' } as Record<string, string>)[p] ?? 'dyn';
  }
  if ('null' in t) return 'null';
  if ('listType' in t) return `list<${marcType((t['listType'] as JsonObj)['elemType'] ?? null)}>`;
  if ('mapType' in t) {
    const m = t['mapType'] as JsonObj;
    return `map<${marcType(m['keyType'] ?? null)}, ${marcType(m['valueType'] ?? null)}>`;
  }
  return 'dyn';
}

/* ---------- runners ---------- */

type Outcome = { kind: 'value'; canon: string } | { kind: 'error'; message: string };

function runMarc(t: JsonObj & { expr: string }): Outcome {
  try {
    const bindings = bindingsOf(t, 'marc');
    const declared = new Set<string>();
    const disableCheck = t['disableCheck'] === true;
    const env = new Environment({
      enableOptionalTypes: true,
      homogeneousAggregateLiterals: false,
      unlistedVariablesAreDyn: disableCheck,
    });
    for (const d of (t['typeEnv'] ?? []) as JsonObj[]) {
      const name = String(d['name']);
      env.registerVariable(name, marcType((d['ident'] as JsonObj | undefined)?.['type'] ?? null));
      declared.add(name);
    }
    for (const name of Object.keys(bindings)) if (!declared.has(name) && !disableCheck) env.registerVariable(name, 'dyn');
    const program = env.parse(t.expr);
    if (!disableCheck) {
      const c = program.check();
      if (!c.valid) return { kind: 'error', message: `check: ${c.error?.message.split('\n')[0]}` };
    }
    const r: unknown = program(bindings);
    if (r instanceof Promise) return { kind: 'error', message: 'async result' };
    return { kind: 'value', canon: canonMarc(r) };
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e) };
  }
}

function runBuf(t: JsonObj & { expr: string }): Outcome {
  try {
    const bindings = bindingsOf(t, 'buf');
    const container = t['container'];
    const env = celEnv({ funcs: bufStrings, ...(typeof container === 'string' && container !== '' ? { namespace: container } : {}) });
    const program = bufPlan(env, bufParse(t.expr));
    const r: unknown = program(bindings as never);
    if (isCelError(r)) return { kind: 'error', message: r.message };
    return { kind: 'value', canon: canonBuf(r) };
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e) };
  }
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
const zero = (): Counts => ({ passed: 0, failed: 0, skipped: 0 });

export async function run(args: string[]): Promise<void> {
  let failuresOf: Flavor | undefined;
  let limit = 40;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--failures') {
      const f = args[++i];
      if (f !== 'marc' && f !== 'buf') throw new Error('--failures takes marc or buf');
      failuresOf = f;
    } else if (a === '--limit') {
      limit = Number(args[++i]);
    } else {
      throw new Error(`unknown argument ${a}; usage: cel-conformance [--failures marc|buf] [--limit N]`);
    }
  }

  const { tests } = (await import('@bufbuild/cel-spec/testdata/conformance.js')) as unknown as { tests: SerializedSuite };
  const all: FlatTest[] = [];
  flatten(tests, '', '', all);

  const runners: Record<Flavor, (t: JsonObj & { expr: string }) => Outcome> = { marc: runMarc, buf: runBuf };
  const labels: Record<Flavor, string> = { marc: '@marcbachmann/cel-js', buf: '@bufbuild/cel' };
  const total: Record<Flavor, Counts> = { marc: zero(), buf: zero() };
  const bySection = new Map<string, Record<Flavor, Counts>>();
  const skipReasons = new Map<string, number>();
  const failures: string[] = [];
  const started = performance.now();

  for (const ft of all) {
    let sec = bySection.get(ft.section);
    if (!sec) bySection.set(ft.section, (sec = { marc: zero(), buf: zero() }));
    const reason = skipReason(ft.t);
    if (reason !== undefined) {
      skipReasons.set(reason, (skipReasons.get(reason) ?? 0) + 1);
      for (const f of ['marc', 'buf'] as const) {
        total[f].skipped++;
        sec[f].skipped++;
      }
      continue;
    }
    let expected: Outcome;
    if (ft.t['evalError'] !== undefined) expected = { kind: 'error', message: JSON.stringify(ft.t['evalError']) };
    else if (ft.t['value'] !== undefined) expected = { kind: 'value', canon: canonExpected(ft.t['value']) };
    else if (ft.t['typedResult'] !== undefined) {
      expected = { kind: 'value', canon: canonExpected((ft.t['typedResult'] as JsonObj)['result'] ?? null) };
    } else expected = { kind: 'value', canon: 'bool:true' }; // the conformance default
    for (const f of ['marc', 'buf'] as const) {
      const got = runners[f](ft.t);
      const ok = expected.kind === 'error' ? got.kind === 'error' : got.kind === 'value' && got.canon === expected.canon;
      if (ok) {
        total[f].passed++;
        sec[f].passed++;
      } else {
        total[f].failed++;
        sec[f].failed++;
        if (f === failuresOf && failures.length < limit) {
          const gotText = got.kind === 'error' ? `error: ${got.message}` : got.canon;
          const expText = expected.kind === 'error' ? 'an error' : expected.canon;
          failures.push(`  ${ft.path}/${ft.name}: ${ft.t.expr}\n      expected ${expText}, got ${gotText}`);
        }
      }
    }
  }

  const pct = (c: Counts): string => {
    const ran = c.passed + c.failed;
    return ran === 0 ? '-' : `${((100 * c.passed) / ran).toFixed(1)}%`;
  };
  const cell = (c: Counts): string => `${String(c.passed).padStart(4)} ${String(c.failed).padStart(4)} ${String(c.skipped).padStart(4)}`;

  console.log(`CEL conformance (cel-spec data from @bufbuild/cel-spec): ${all.length} tests in ${bySection.size} sections, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const f of ['marc', 'buf'] as const) {
    const c = total[f];
    console.log(`${labels[f].padEnd(22)} passed ${c.passed}  failed ${c.failed}  skipped ${c.skipped}  (pass rate of the run tests: ${pct(c)})`);
  }
  // Extension libraries (not part of the core language; each package ships a different subset).
  const isExt = (section: string): boolean => section.endsWith('_ext') || section === 'optionals' || section === 'macros2';
  const extNames = [...bySection.keys()].filter(isExt);
  for (const f of ['marc', 'buf'] as const) {
    const c = zero();
    for (const [name, sc] of bySection) {
      if (isExt(name)) continue;
      c.passed += sc[f].passed;
      c.failed += sc[f].failed;
      c.skipped += sc[f].skipped;
    }
    console.log(`${labels[f].padEnd(22)} core CEL only: passed ${c.passed}  failed ${c.failed}  skipped ${c.skipped}  (${pct(c)})`);
  }
  console.log(`  (core = all sections except the extension libraries ${extNames.join(', ')})`);
  console.log('skipped (same tests for both packages):');
  for (const [r, n] of [...skipReasons].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(4)}  ${r}`);
  console.log('');
  console.log(`${'section'.padEnd(28)} ${'cel-js pass fail skip'.padEnd(22)} bufbuild pass fail skip`);
  for (const [name, c] of bySection) {
    console.log(`${name.padEnd(28)} ${'       '}${cell(c.marc)}  ${'         '}${cell(c.buf)}`);
  }
  if (failuresOf) {
    console.log(`\nfirst ${failures.length} failures of ${labels[failuresOf]}:`);
    for (const l of failures) console.log(l);
  }
}
