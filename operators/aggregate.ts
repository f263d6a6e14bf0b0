import { defineStep, expression } from './spec.js';
import { aggregationProcessor } from './aggregation.js';
import { compiled, recordVars } from './runtime.js';

export const aggregate = defineStep({
  name: 'aggregate',
  doc: 'Folds the records per key (and window) into `agg`, starting from `initial`.',
  example: '- aggregate: {initial: \'{"n": 0}\', add: \'{"n": agg.n + value.qty}\'}',
  transitions: { grouped: 'table' },
  args: {
    type: 'object',
    description: 'The initial aggregate and how each record changes it.',
    properties: {
      initial: expression('the aggregate before the first record (no variables)'),
      add: expression('the new aggregate, over agg, key and value'),
    },
    required: ['initial', 'add'],
    additionalProperties: false,
  },
  expressions: [
    { path: ['initial'], scope: 'initial' },
    { path: ['add'], scope: 'aggregate' },
  ],
  aggregates: true,
  create(node) {
    const initial = compiled(node, 'initial', 'initial');
    const add = compiled(node, 'add', 'aggregate');
    return aggregationProcessor(node, {
      aggregate: (state, r) => add.evaluate({ ...recordVars(r), agg: state === undefined ? initial.evaluate({}) : state }),
    });
  },
});
