import { defineStep } from './spec.js';

export const count = defineStep({
  name: 'count',
  doc: 'Counts the records per key (and window): a table of longs.',
  example: '- count',
  transitions: { grouped: 'table' },
  args: null,
  expressions: [],
  aggregates: true,
});
