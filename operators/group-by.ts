import { defineStep, expression } from './spec.js';
import { compiled, recordVars, withKeyValue } from './runtime.js';

export const groupBy = defineStep({
  name: 'groupBy',
  doc: 'Groups the stream by the expression\'s result, through a repartition topic, for an aggregation.',
  example: '- groupBy: value.region',
  transitions: { stream: 'grouped' },
  args: expression('the grouping key'),
  expressions: [{ path: [], scope: 'record' }],
  changesKey: true,
  create(node) {
    const key = compiled(node, 'expression', 'record');
    return {
      init(ctx) {
        this.process = (r) => ctx.forward(withKeyValue(r, key.evaluate(recordVars(r)), r.value));
      },
      process: () => undefined,
    };
  },
});
