import { defineStep } from './spec.js';
import { aggregationProcessor } from './aggregation.js';

export const count = defineStep({
  name: 'count',
  doc: 'Counts the records per key (and window): a table of longs.',
  example: '- count',
  transitions: { grouped: 'table' },
  args: null,
  expressions: [],
  aggregates: true,
  create: (node) =>
    aggregationProcessor(node, {
      aggregate: (state) => ((state as number | undefined) ?? 0) + 1,
      merge: (a, b) => (a as number) + (b as number),
    }),
});
