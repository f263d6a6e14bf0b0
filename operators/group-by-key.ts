import { defineStep } from './spec.js';

export const groupByKey = defineStep({
  name: 'groupByKey',
  doc: 'Groups the stream by its current key, for an aggregation; repartitions only if an earlier step changed the key.',
  example: '- groupByKey',
  transitions: { stream: 'grouped' },
  args: null,
  expressions: [],
});
