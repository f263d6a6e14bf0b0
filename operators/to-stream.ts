import { defineStep } from './spec.js';
import { forwardAsIs } from './runtime.js';

export const toStream = defineStep({
  name: 'toStream',
  doc: 'The table\'s changes as a stream (updates, and deletes as null values).',
  example: '- toStream',
  transitions: { table: 'stream' },
  args: null,
  expressions: [],
  // The runtime materialises table nodes that own a store; the records pass as they are.
  create: forwardAsIs,
});
