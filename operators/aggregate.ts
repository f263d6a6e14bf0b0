import type { StreamRecord } from '../engine/api/processor.js';
import { defineStep, expression } from './spec.js';
import { aggregationProcessor } from './aggregation.js';
import { compiled, recordVars } from './runtime.js';
import { subtractingExpression } from './table-aggregation.js';

export const aggregate = defineStep({
  name: 'aggregate',
  doc: 'Folds the records per key (and window) into `agg`, starting from `initial`; on a grouped table, `subtract` takes a row\'s old value out (a null result deletes the group).',
  example: '- aggregate: {initial: \'{"n": 0}\', add: \'{"n": agg.n + value.qty}\'}',
  transitions: { grouped: 'table' },
  args: {
    type: 'object',
    description: 'The initial aggregate and how each record changes it.',
    properties: {
      initial: expression('the aggregate before the first record (no variables)'),
      add: expression('the new aggregate, over agg, key and value'),
      subtract: expression('grouped tables: the aggregate with a row\'s old value (value) taken out, over agg, key and value; null deletes the group'),
    },
    required: ['initial', 'add'],
    additionalProperties: false,
  },
  expressions: [
    { path: ['initial'], scope: 'initial' },
    { path: ['add'], scope: 'aggregate' },
    { path: ['subtract'], scope: 'aggregate' },
  ],
  aggregates: true,
  create(node) {
    const initial = compiled(node, 'initial', 'initial');
    const adder = compiled(node, 'add', 'aggregate');
    const add = (state: unknown, r: StreamRecord): unknown => adder.evaluate({ ...recordVars(r), agg: state === undefined ? initial.evaluate({}) : state });
    if (node.args.ofTable) return subtractingExpression(node, add);
    return aggregationProcessor(node, { aggregate: add });
  },
});
