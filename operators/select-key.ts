import { defineStep, expression } from './spec.js';
import { rekey } from './runtime.js';

export const selectKey = defineStep({
  name: 'selectKey',
  doc: 'Sets a new key and keeps the value; a later grouping or join repartitions the stream by it.',
  example: '- selectKey: value.user',
  transitions: { stream: 'stream' },
  args: expression('the new key'),
  expressions: [{ path: [], scope: 'record' }],
  changesKey: true,
  create: rekey,
});
