import { defineStep } from './spec.js';

export const toTable = defineStep({
  name: 'toTable',
  doc: 'The latest value per key of a stream, as a table (a null value deletes the key).',
  example: '- toTable',
  transitions: { stream: 'table' },
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
