import type { StreamRecord } from '../engine/api/processor.js';
import { defineStep, expression } from './spec.js';
import { aggregationProcessor } from './aggregation.js';
import { compiled, recordVars } from './runtime.js';
import { subtractingExpression } from './table-aggregation.js';

export const reduce = defineStep({
  name: 'reduce',
  doc: 'Combines each value into the running result `agg` (the first value starts it); on a grouped table, `subtract` takes a row\'s old value out (a null result deletes the group).',
  example: '- reduce: agg + value',
  transitions: { grouped: 'table' },
  args: {
    anyOf: [
      expression('the new aggregate, over agg and value'),
      {
        type: 'object',
        description: 'How a value is added to `agg`, and (grouped tables) how a row\'s old value is taken out.',
        properties: {
          add: expression('the new aggregate with value added, over agg, key and value'),
          subtract: expression('grouped tables: the aggregate with a row\'s old value (value) taken out; null deletes the group'),
        },
        required: ['add'],
        additionalProperties: false,
      },
    ],
  },
  expressions: [
    { path: [], scope: 'aggregate' },
    { path: ['add'], scope: 'aggregate' },
    { path: ['subtract'], scope: 'aggregate' },
  ],
  aggregates: true,
  create(node) {
    const reducer = compiled(node, node.args.add === undefined ? 'expression' : 'add', 'aggregate');
    const add = (state: unknown, r: StreamRecord): unknown => (state === undefined ? r.value : reducer.evaluate({ ...recordVars(r), agg: state }));
    if (node.args.ofTable) return subtractingExpression(node, add);
    return aggregationProcessor(node, {
      aggregate: add,
      // Two sessions combine as a record would: the newer session's result is the value.
      merge: (older, newer, key) => reducer.evaluate({ key, agg: older, value: newer }),
    });
  },
});
