import { defineStep } from './spec.js';

export const toStream = defineStep({
  name: 'toStream',
  doc: 'The table\'s changes as a stream (updates, and deletes as null values).',
  example: '- toStream',
  transitions: { table: 'stream' },
  args: null,
  expressions: [],
  create() {
    // The runtime materialises table nodes that own a store; the records pass as they are.
    return {
      init(ctx) {
        this.process = (r) => ctx.forward(r);
      },
      process: () => undefined,
    };
  },
});
