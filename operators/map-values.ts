import { defineStep, expression } from './spec.js';
import { compiled, processor, recordVars, withKeyValue } from './runtime.js';

export const mapValues = defineStep({
  name: 'mapValues',
  doc: 'Replaces each value with the expression\'s result; the key stays, so no repartitioning follows.',
  example: '- mapValues: \'{"sku": key, "onHand": value.qty}\'',
  transitions: { stream: 'stream', table: 'table' },
  args: expression('the new value'),
  expressions: [{ path: [], scope: 'record' }],
  create(node) {
    const mapper = compiled(node, 'expression', 'record');
    const table = node.kind === 'table';
    return processor((ctx) => (r) => (table && r.value === null ? ctx.forward(r) : ctx.forward(withKeyValue(r, r.key, mapper.evaluate(recordVars(r))))));
  },
});
