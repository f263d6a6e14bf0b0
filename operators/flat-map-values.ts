import { defineStep, expression } from './spec.js';

export const flatMapValues = defineStep({
  name: 'flatMapValues',
  doc: 'Emits one record per element of the list the expression gives, each with the input\'s key.',
  example: '- flatMapValues: split(lower(value), "\\\\W+")',
  transitions: { stream: 'stream' },
  args: expression('a list; each element becomes a value'),
  expressions: [{ path: [], scope: 'record', expect: 'list' }],
});
