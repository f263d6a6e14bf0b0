import { defineStep, expression } from './spec.js';

export const reduce = defineStep({
  name: 'reduce',
  doc: 'Combines each value into the running result `agg` (the first value starts it).',
  example: '- reduce: agg + value',
  transitions: { grouped: 'table' },
  args: expression('the new aggregate, over agg and value'),
  expressions: [{ path: [], scope: 'aggregate' }],
  aggregates: true,
});
