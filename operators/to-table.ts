import { defineStep } from './spec.js';
import { forwardAsIs } from './runtime.js';

export const toTable = defineStep({
  name: 'toTable',
  doc: 'The latest value per key of a stream, as a table (a null value deletes the key).',
  example: '- toTable',
  transitions: { stream: 'table' },
  args: null,
  expressions: [],
  // The runtime materialises table nodes that own a store; the records pass as they are.
  create: forwardAsIs,
});
