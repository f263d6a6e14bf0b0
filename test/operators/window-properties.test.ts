/**
 * Property test of windowed aggregations: seeded random streams of keyed, out-of-order records
 * (timestamps jump back, sometimes beyond grace) go through Duality (window-harness.ts) and
 * through a brute-force model (window-reference.ts); every output record (key, window, value,
 * order) and the table's final windows must be equal. For each window type, with `emit` both
 * ways, and with several aggregations (an order-sensitive `aggregate`/`reduce` catches a record
 * folded twice, missed or out of order).
 *
 * 1,000 streams per window type and emit; each run of the engine takes STREAMS_PER_RUN streams
 * (500) one after the other, each starting far enough after the previous one that its windows
 * closed and expired. Seed: DUALITY_WINDOW_SEED; streams: DUALITY_WINDOW_STREAMS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envInteger, envSeed, prng } from '../seeded.js';
import { runDuality, type InputRecord } from './window-harness.js';
import { runReference, type Model, type WindowKind } from './window-reference.js';

const SEED = envSeed('DUALITY_WINDOW_SEED', 20261205);
const STREAMS = envInteger('DUALITY_WINDOW_STREAMS', 1000, 1, 1_000_000);
const STREAMS_PER_RUN = 500;
const SPAN = 1_000_000; // ms between two streams' starts: far beyond any window, grace and retention here

interface Aggregation {
  readonly step: string;
  readonly value: Model['value'];
  readonly sessions: boolean;
}

const sum = (vs: readonly { n: number }[]): number => vs.reduce((a, v) => a + v.n, 0);
const AGGREGATIONS: readonly Aggregation[] = [
  { step: 'count', value: (vs) => vs.length, sessions: true },
  { step: 'sum: value.n', value: sum, sessions: true },
  { step: 'min: value.n', value: (vs) => Math.min(...vs.map((v) => v.n)), sessions: true },
  { step: 'max: value.n', value: (vs) => Math.max(...vs.map((v) => v.n)), sessions: true },
  { step: 'avg: value.n', value: (vs) => sum(vs) / vs.length, sessions: true },
  { step: `reduce: '{"n": agg.n + value.n, "s": agg.s + value.s}'`, value: (vs) => ({ n: sum(vs), s: vs.map((v) => v.s).join('') }), sessions: true },
  { step: `aggregate: {initial: '""', add: 'agg + value.s'}`, value: (vs) => vs.map((v) => v.s).join(''), sessions: false },
];

interface WindowCase {
  readonly name: string;
  readonly kind: WindowKind;
  readonly step: (grace: number, retention: number) => string;
  /** The shortest retention allowed, less grace: size (tumbling, hopping), 2 × size (sliding), gap (session). */
  readonly span: number;
}

const WINDOWS: readonly WindowCase[] = [
  { name: 'tumbling', kind: { type: 'tumbling', size: 10_000 }, span: 10_000, step: (g, r) => `window: {type: tumbling, size: 10s, grace: ${g}ms, retention: ${r}ms}` },
  { name: 'hopping', kind: { type: 'hopping', size: 10_000, advance: 4_000 }, span: 10_000, step: (g, r) => `window: {type: hopping, size: 10s, advance: 4s, grace: ${g}ms, retention: ${r}ms}` },
  { name: 'sliding', kind: { type: 'sliding', size: 5_000 }, span: 10_000, step: (g, r) => `window: {type: sliding, size: 5s, grace: ${g}ms, retention: ${r}ms}` },
  { name: 'session', kind: { type: 'session', gap: 4_000 }, span: 4_000, step: (g, r) => `window: {type: session, gap: 4s, grace: ${g}ms, retention: ${r}ms}` },
];

/**
 * One stream: a few keys, timestamps mostly moving on, sometimes back (beyond grace at times),
 * sometimes equal. `whole` (sliding windows): no record is partly late, that is after its own
 * left window closed (t < stream time - grace) but before its right window did (t + size >=
 * stream time - grace); for those Kafka Streams' sliding windows depend on which neighbour a new
 * window is copied from (KStreamSlidingWindowAggregate), which no simple model follows.
 */
function randomStream(next: () => number, base: number, first: number, whole?: { size: number; grace: number }): InputRecord[] {
  const n = 1 + Math.floor(next() * 8);
  const keys = ['a', 'b', 'c'].slice(0, 1 + Math.floor(next() * 3));
  let t = base + Math.floor(next() * 3_000);
  let max = t;
  const out: InputRecord[] = [];
  for (let i = 0; i < n; i++) {
    const roll = next();
    if (roll < 0.25) t = Math.max(base, max - Math.floor(next() * 14_000)); // out of order, maybe beyond grace
    else if (roll < 0.35) t = max; // the same time again
    else t = max + Math.floor(next() * 6_000);
    // Small values and times near window bounds make equal results and boundary cases common.
    if (next() < 0.3) t -= t % 1_000;
    if (whole && t < max - whole.grace && t + whole.size >= max - whole.grace) t = next() < 0.5 || max - whole.grace - whole.size - 1 < 0 ? max - whole.grace : max - whole.grace - whole.size - 1;
    max = Math.max(max, t);
    out.push({ key: keys[Math.floor(next() * keys.length)]!, value: { n: Math.floor(next() * 10), s: String.fromCharCode(97 + ((first + i) % 26)) }, timestamp: t });
  }
  return out;
}

for (const w of WINDOWS) {
  for (const emit of ['changes', 'final'] as const) {
    test(`${w.name} windows, emit: ${emit}: ${STREAMS} random streams give what the brute-force model gives`, async () => {
      const index = WINDOWS.indexOf(w) * 2 + (emit === 'final' ? 1 : 0);
      const next = prng((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
      const aggregations = AGGREGATIONS.filter((a) => w.kind.type !== 'session' || a.sessions);
      let done = 0;
      for (let run = 0; done < STREAMS; run++) {
        // Each test runs a few engines: the tests together go through every aggregation and grace.
        const aggregation = aggregations[(index * 2 + run) % aggregations.length]!;
        const grace = [0, 1_000, 3_000][(index + run) % 3]!;
        // Sliding windows at the shortest retention, 2 x size + grace, lose a window exactly 2 x
        // size + grace old that Kafka Streams too no longer sees, so a new window misses a record.
        const retention = w.span + grace + (run % 2 === 0 ? (w.kind.type === 'sliding' ? 1 : 0) : 7_000);
        const streams = Math.min(STREAMS_PER_RUN, STREAMS - done);
        const input: InputRecord[] = [];
        // The first stream starts at 0, so records before `size` (sliding windows) come up.
        const whole = w.kind.type === 'sliding' ? { size: w.kind.size, grace } : undefined;
        for (let i = 0; i < streams; i++) input.push(...randomStream(next, i * SPAN, input.length, whole));
        const model: Model = { window: { ...w.kind, grace, retention }, emit, value: aggregation.value };
        const expected = runReference(model, input);
        const actual = await runDuality(w.step(grace, retention), aggregation.step, emit, input);
        const where = `seed ${SEED}, run ${run}: ${w.step(grace, retention)}, ${aggregation.step}, emit: ${emit}`;
        assertSameRows(actual.output, expected.output, `${where}: output`, input);
        const order = (a: { key: unknown; start: number; end: number }, b: typeof a): number => String(a.key).localeCompare(String(b.key)) || a.start - b.start || a.end - b.end;
        assertSameRows([...actual.table].sort(order), [...expected.table].sort(order), `${where}: table`, input);
        done += streams;
      }
    });
  }
}

/** Equal rows, or a failure that shows the first difference, with the stream up to it. */
function assertSameRows(actual: readonly unknown[], expected: readonly unknown[], where: string, input: readonly InputRecord[]): void {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (JSON.stringify(actual[i]) !== JSON.stringify(expected[i])) {
      const around = (rows: readonly unknown[]): string => rows.slice(Math.max(0, i - 5), i + 3).map((r) => JSON.stringify(r)).join('\n    ');
      const row = (actual[i] ?? expected[i]) as { start: number };
      const stream = input.filter((r) => Math.floor(r.timestamp / SPAN) === Math.floor(row.start / SPAN) || Math.floor(r.timestamp / SPAN) === Math.floor((row.start + 30_000) / SPAN));
      assert.fail(`${where}: row ${i} differs\n  duality:\n    ${around(actual)}\n  model:\n    ${around(expected)}\n  the stream: ${JSON.stringify(stream)}`);
    }
  }
}
