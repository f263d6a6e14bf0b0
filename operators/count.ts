import { defineStep } from './spec.js';
import { aggregationProcessor } from './aggregation.js';
import { tableAggregationProcessor } from './table-aggregation.js';

const plusOne = (state: unknown): number => ((state as number | undefined) ?? 0) + 1;

export const count = defineStep({
  name: 'count',
  doc: 'Counts the records per key (and window), or a grouped table\'s rows per group: a table of longs.',
  example: '- count',
  transitions: { grouped: 'table' },
  args: null,
  expressions: [],
  aggregates: true,
  create: (node) =>
    node.args.ofTable
      ? // KGroupedTable#count: a group whose rows all left stays, with 0.
        tableAggregationProcessor(node, { add: plusOne, subtract: (state) => (state as number) - 1 })
      : aggregationProcessor(node, { aggregate: plusOne, merge: (a, b) => (a as number) + (b as number) }),
});
