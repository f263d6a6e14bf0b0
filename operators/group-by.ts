import { defineStep, expression } from './spec.js';
import { rekey } from './runtime.js';

export const groupBy = defineStep({
  name: 'groupBy',
  doc: 'Groups the stream by the expression\'s result, through a repartition topic, for an aggregation.',
  example: '- groupBy: value.region',
  transitions: { stream: 'grouped' },
  args: expression('the grouping key'),
  expressions: [{ path: [], scope: 'record' }],
  changesKey: true,
  create: rekey,
});
