import { defineStep, expression } from './spec.js';

export const mapValues = defineStep({
  name: 'mapValues',
  doc: 'Replaces each value with the expression\'s result; the key stays, so no repartitioning follows.',
  example: '- mapValues: \'{"sku": key, "onHand": value.qty}\'',
  transitions: { stream: 'stream', table: 'table' },
  args: expression('the new value'),
  expressions: [{ path: [], scope: 'record' }],
});
