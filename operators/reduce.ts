import { defineStep, expression } from './spec.js';
import { aggregationProcessor } from './aggregation.js';
import { compiled, recordVars } from './runtime.js';

export const reduce = defineStep({
  name: 'reduce',
  doc: 'Combines each value into the running result `agg` (the first value starts it).',
  example: '- reduce: agg + value',
  transitions: { grouped: 'table' },
  args: expression('the new aggregate, over agg and value'),
  expressions: [{ path: [], scope: 'aggregate' }],
  aggregates: true,
  create(node) {
    const reducer = compiled(node, 'expression', 'aggregate');
    return aggregationProcessor(node, {
      aggregate: (state, r) => (state === undefined ? r.value : reducer.evaluate({ ...recordVars(r), agg: state })),
      // Two sessions combine as a record would: the newer session's result is the value.
      merge: (older, newer, key) => reducer.evaluate({ key, agg: older, value: newer }),
    });
  },
});
