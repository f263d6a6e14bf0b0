import { aggregationProcessor, numberFrom, type Aggregator } from './aggregation.js';
import { compiled, recordVars } from './runtime.js';
import { defineStep, expression, type StepSpec } from './spec.js';
import type { StreamRecord } from '../engine/api/processor.js';

type Fold = (state: unknown, n: number) => { state: unknown; value: unknown };

const numeric = (name: string, doc: string, fold: Fold): StepSpec =>
  defineStep({
    name,
    doc,
    example: `- ${name}: value.qty`,
    transitions: { grouped: 'table' },
    args: expression('a number taken from each record'),
    expressions: [{ path: [], scope: 'record' }],
    aggregates: true,
    create(node) {
      const expr = compiled(node, 'expression', 'record');
      const aggregate: Aggregator = (state, r: StreamRecord) => fold(state, numberFrom(expr, recordVars(r), name));
      return aggregationProcessor(node, aggregate);
    },
  });

const same = (n: number): { state: number; value: number } => ({ state: n, value: n });

export const sum = numeric('sum', 'Sums a number per key (and window).', (s, n) => same(((s as number | undefined) ?? 0) + n));
export const min = numeric('min', 'The smallest number seen per key (and window).', (s, n) => same(s === undefined ? n : Math.min(s as number, n)));
export const max = numeric('max', 'The largest number seen per key (and window).', (s, n) => same(s === undefined ? n : Math.max(s as number, n)));
/** The store keeps {sum, count}; the table's value is their quotient (see avgView). */
export const avg = numeric('avg', 'The mean of a number per key (and window), kept as sum and count.', (s, n) => {
  const prev = (s as { sum: number; count: number } | undefined) ?? { sum: 0, count: 0 };
  const state = { sum: prev.sum + n, count: prev.count + 1 };
  return { state, value: state.sum / state.count };
});

/** What a query shows of an avg store's {sum, count}. */
export const avgView = (state: unknown): unknown => {
  const s = state as { sum: number; count: number } | null;
  return s && s.count > 0 ? s.sum / s.count : null;
};
