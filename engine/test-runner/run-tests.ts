import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { formatDiagnostic, pointerOf } from '../api/diagnostics.js';
import type { GraphNode, TopologyGraph } from '../api/topology-graph.js';
import { EmbeddedLog } from '../log/embedded-log.js';
import { Engine } from '../runtime/engine.js';
import { readTable } from '../runtime/queries.js';
import { serdeFor } from '../serde/index.js';
import { loadTestFile, type TestCase, type TestFile, type TestInput } from '../test-file/validate.js';
import { epochMs } from '../api/time.js';
import { firstDifference, sortRows, type Difference } from './compare.js';

export interface TestOutput {
  line(text: string): void;
  readonly color: boolean;
}

export interface TestSummary {
  passed: number;
  failed: number;
}

/** Runs every case of a topology test file (docs/testing.md), each from empty topics and state. */
export async function runTestFile(file: string, out: TestOutput): Promise<TestSummary> {
  const summary: TestSummary = { passed: 0, failed: 0 };
  const { test, diagnostics } = loadTestFile(file);
  if (!test) {
    for (const d of diagnostics) out.line(formatDiagnostic(d));
    summary.failed++;
    return summary;
  }
  out.line(`${file}`);
  for (const [i, c] of test.cases.entries()) {
    const failure = await runCase(test, c, i);
    const mark = failure ? paint(out.color, '31', '✗') : paint(out.color, '32', '✓');
    out.line(`  ${mark} ${c.name}`);
    if (failure) {
      summary.failed++;
      for (const l of failure.split('\n')) out.line(`      ${l}`);
    } else summary.passed++;
  }
  return summary;
}

const paint = (on: boolean, code: string, s: string): string => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

/** Runs one case; returns a description of the first difference, or undefined when it passes. */
async function runCase(test: TestFile, c: TestCase, index: number): Promise<string | undefined> {
  const { graph } = test;
  try {
    return await runInputs(graph, c.input, async ({ engine, log, logs }) => {
      const base = ['cases', index, 'expect'];
      const subset = c.match === 'subset';
      for (const [topic, expected] of Object.entries(c.expect.topics ?? {})) {
        const actual = await readTopic(log, graph.nodes.find((n) => n.type === 'sink' && n.topic === topic), topic);
        const d = firstDifference(expected.map(normalizeRecord), actual.map((r, i) => pick(r, expected[i])), subset, topic, ['topics', topic]);
        if (d) return describe(test, [...base], d, 'topics');
      }
      for (const [table, expected] of Object.entries(c.expect.tables ?? {})) {
        const actual = await readTable(engine, table);
        const exp = Array.isArray(expected) ? sortRows(expected.map(normalizeRecord)) : expected;
        const act = Array.isArray(actual) ? sortRows(actual as Record<string, unknown>[]) : actual;
        const d = firstDifference(exp, act, subset, table, ['tables', table]);
        if (d) return describe(test, base, d, 'tables');
      }
      if (c.expect.errors !== undefined) {
        const errors = c.expect.errors;
        const dlq = await readTopic(log, undefined, graph.errors.topic).catch(() => []);
        if (typeof errors === 'number' && engine.policy.counters.errors !== errors) {
          return `${where(test, [...base, 'errors'])}: expect.errors: expected ${errors} record(s) to go to the error policy, got ${engine.policy.counters.errors}${logs.length ? `\n${logs.join('\n')}` : ''}`;
        }
        if (Array.isArray(errors)) {
          for (const [i, pattern] of errors.entries()) {
            const hit = dlq.some((r) => (pattern.topic === undefined || r.headers['__streams.errors.topic'] === pattern.topic) && (pattern.reason === undefined || new RegExp(pattern.reason).test(String(r.headers['__streams.errors.message']))));
            if (!hit) return `${where(test, [...base, 'errors', i])}: expect.errors[${i}]: no record in ${graph.errors.topic} matches ${JSON.stringify(pattern)}`;
          }
        }
      }
      return undefined;
    });
  } catch (e) {
    return `the topology failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** What a run leaves to look at: the engine (its tables), the log (its topics) and the engine's log lines. */
export interface InputRun {
  readonly engine: Engine;
  readonly log: EmbeddedLog;
  readonly logs: string[];
}

/**
 * Runs a topology as a test case does (docs/testing.md, How a case runs): from an empty in-memory
 * log (one partition a topic) and empty stores, without a record cache, each input processed
 * completely before the next is written; then hands what it left to `inspect`.
 */
export async function runInputs<T>(graph: TopologyGraph, inputs: readonly TestInput[], inspect: (run: InputRun) => Promise<T>): Promise<T> {
  const log = EmbeddedLog.inMemory();
  const stateDir = mkdtempSync(join(tmpdir(), 'duality-test-'));
  const logs: string[] = [];
  const engine = new Engine({ graph, log, stateDir, cacheMaxBytes: 0, logger: (l) => logs.push(l) });
  try {
    await engine.start();
    const producer = log.producer();
    let timestamp = 0;
    for (const input of inputs) {
      const source = graph.nodes.find((n) => (n.type === 'source' || n.type === 'table-source') && n.topic === input.topic)!;
      timestamp = inputTimestamp(input, timestamp);
      producer.send([
        {
          topic: input.topic,
          key: serdeFor(source.keySerde).serialize(input.key ?? null),
          value: input.rawValue !== undefined ? Buffer.from(input.rawValue, 'utf8') : serdeFor(source.valueSerde).serialize(input.value ?? null),
          timestamp,
          headers: Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
        },
      ]);
      await producer.flush();
      await engine.runUntilIdle();
    }
    return await inspect({ engine, log, logs });
  } finally {
    await engine.stop().catch(() => undefined);
    await log.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** An input's timestamp: its own, or the one of the input before it (0 for the first). */
export const inputTimestamp = (input: TestInput, previous: number): number => (input.timestamp === undefined ? previous : epochMs(input.timestamp)!);

export interface DecodedRecord {
  key: unknown;
  value: unknown;
  timestamp: number;
  headers: Record<string, string>;
}

/** Every record of a topic, partition after partition, decoded with the serdes of the sink that writes it. */
export async function readTopic(log: EmbeddedLog, sink: GraphNode | undefined, topic: string): Promise<DecodedRecord[]> {
  const keySerde = serdeFor(sink?.keySerde ?? 'string');
  const valueSerde = serdeFor(sink?.valueSerde ?? 'string');
  const out: DecodedRecord[] = [];
  const partitions = (await log.partitions(topic)) ?? 0;
  for (let p = 0; p < partitions; p++) {
    for (const r of await log.read({ topic, partition: p }, 0, Number.MAX_SAFE_INTEGER)) {
      out.push({
        key: keySerde.deserialize(r.key),
        value: valueSerde.deserialize(r.value),
        timestamp: r.timestamp,
        headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString('utf8')])),
      });
    }
  }
  return out;
}

/** Timestamps and headers are compared only where the expectation gives them. */
function pick(actual: DecodedRecord, expected: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { key: actual.key, value: actual.value };
  if (expected && 'timestamp' in expected) out.timestamp = actual.timestamp;
  if (expected && 'headers' in expected) out.headers = actual.headers;
  return out;
}

/** RFC 3339 times (timestamp, window start and end) as epoch ms. */
function normalizeTimes(o: Record<string, unknown>): Record<string, unknown> {
  const out = { ...o };
  for (const k of ['timestamp', 'start', 'end']) if (k in out) out[k] = epochMs(out[k]) ?? out[k];
  return out;
}

/** An expected record or windowed row: absent key or value mean null; a windowed key's times as epoch ms. */
function normalizeRecord(r: Record<string, unknown>): Record<string, unknown> {
  const out = normalizeTimes(r);
  out.key ??= null;
  out.value ??= null;
  if (out.key !== null && typeof out.key === 'object' && !Array.isArray(out.key)) out.key = normalizeTimes(out.key as Record<string, unknown>);
  return out;
}

function where(test: TestFile, segments: (string | number)[]): string {
  const pos = test.positions.locate(pointerOf(segments));
  return `${basename(test.file)}:${pos.line}`;
}

function describe(test: TestFile, base: (string | number)[], d: Difference, _section: string): string {
  const show = (v: unknown): string => (v === undefined ? '(nothing)' : JSON.stringify(v));
  const why = d.reason ? ` (${d.reason})` : '';
  return `${where(test, [...base, ...d.segments])}: expect.${d.segments[0]}.${d.path}: expected ${show(d.expected)}, got ${show(d.actual)}${why}`;
}
