import { defineStep } from './spec.js';

export const toTable = defineStep({
  name: 'toTable',
  doc: 'The latest value per key of a stream, as a table (a null value deletes the key).',
  example: '- toTable',
  transitions: { stream: 'table' },
  args: null,
  expressions: [],
});
