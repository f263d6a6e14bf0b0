import { DualityError } from '../engine/api/diagnostics.js';
import { aggregationProcessor, numberFrom, type AggregationSpec } from './aggregation.js';
import { compiled, recordVars } from './runtime.js';
import { tableAggregationProcessor } from './table-aggregation.js';
import { defineStep, expression, type StepSpec } from './spec.js';
import type { StreamRecord } from '../engine/api/processor.js';

/** How a numeric aggregation folds a number into its state, and merges two states (sessions). */
type Fold = Pick<AggregationSpec, 'view' | 'merge'> & {
  fold: (state: unknown, n: number) => unknown;
  /** Takes a grouped table row's old number out; absent where Kafka Streams has no subtractor (min, max). */
  unfold?: (state: unknown, n: number) => unknown;
};

const numeric = (name: string, doc: string, how: Fold): StepSpec =>
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
      if (node.args.ofTable && how.unfold) {
        const unfold = how.unfold;
        return tableAggregationProcessor(node, {
          add: (state, r) => how.fold(state, numberFrom(expr, recordVars(r), name)),
          subtract: (state, r) => unfold(state, numberFrom(expr, recordVars(r), name)),
        });
      }
      return aggregationProcessor(node, {
        aggregate: (state, r: StreamRecord) => how.fold(state, numberFrom(expr, recordVars(r), name)),
        ...(how.view ? { view: how.view } : {}),
        ...(how.merge ? { merge: how.merge } : {}),
      });
    },
  });

type Avg = { sum: number; count: number };

/** A sum that left the doubles: the record goes to the error policy and the stored state stays. */
export class OverflowError extends DualityError {
  constructor(message: string) {
    super('OVERFLOW', message);
    this.name = 'OverflowError';
  }
}

/** a + b for `step`; JSON has no Infinity, which would be stored as null and then count as 0. */
function add(step: string, a: number, b: number): number {
  const s = a + b;
  if (Number.isFinite(s)) return s;
  throw new OverflowError(`${step}: ${a} + ${b} overflows to ${s}, beyond ±1.8e308 (the largest double); the stored ${step} is left as it was`);
}

export const sum = numeric('sum', 'Sums a number per key (and window); a sum past ±1.8e308 sends its record to the error policy and keeps the stored sum.', {
  fold: (s, n) => add('sum', (s as number | undefined) ?? 0, n),
  merge: (a, b) => add('sum', a as number, b as number),
  unfold: (s, n) => add('sum', s as number, -n),
});
export const min = numeric('min', 'The smallest number seen per key (and window).', {
  fold: (s, n) => (s === undefined ? n : Math.min(s as number, n)),
  merge: (a, b) => Math.min(a as number, b as number),
});
export const max = numeric('max', 'The largest number seen per key (and window).', {
  fold: (s, n) => (s === undefined ? n : Math.max(s as number, n)),
  merge: (a, b) => Math.max(a as number, b as number),
});
/** The store keeps {sum, count}; the table's value is their quotient. */
export const avg = numeric('avg', 'The mean of a number per key (and window), kept as sum and count; a sum past ±1.8e308 sends its record to the error policy.', {
  fold: (s, n) => {
    const prev = (s as Avg | undefined) ?? { sum: 0, count: 0 };
    return { sum: add('avg', prev.sum, n), count: prev.count + 1 };
  },
  merge: (a, b) => ({ sum: add('avg', (a as Avg).sum, (b as Avg).sum), count: (a as Avg).count + (b as Avg).count }),
  view: (s) => avgView(s),
});

/** What a query shows of an avg store's {sum, count}. */
export function avgView(state: unknown): unknown {
  const s = state as Avg | null;
  return s && s.count > 0 ? s.sum / s.count : null;
}
