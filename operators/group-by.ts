import { defineStep, expression } from './spec.js';
import { grouping, processor } from './runtime.js';
import { tableRegroup } from './table-aggregation.js';

export const groupBy = defineStep({
  name: 'groupBy',
  doc: 'Groups the stream, or a table\'s rows, by the expression\'s result (`{key, value}`: by key, aggregating value), through a repartition topic; a grouped table\'s aggregation takes a row\'s old value out when it changes.',
  example: '- groupBy: value.region',
  transitions: { stream: 'grouped', table: 'grouped' },
  args: {
    anyOf: [
      expression('the grouping key'),
      {
        type: 'object',
        description: 'The grouping key and the value the aggregation sees (Kafka Streams\' KeyValueMapper).',
        properties: {
          key: expression('the grouping key'),
          value: expression('the value the aggregation gets; default the record\'s value'),
        },
        required: ['key'],
        additionalProperties: false,
      },
    ],
  },
  expressions: [
    { path: [], scope: 'record' },
    { path: ['key'], scope: 'record' },
    { path: ['value'], scope: 'record' },
  ],
  changesKey: true,
  create(node) {
    if (node.args.ofTable) return tableRegroup(node);
    const regroup = grouping(node);
    return processor((ctx) => (r) => ctx.forward(regroup(r)));
  },
});
