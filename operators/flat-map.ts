import { defineStep, expression } from './spec.js';

export const flatMap = defineStep({
  name: 'flatMap',
  doc: 'Emits one record per element of a list of {key, value} maps; a later grouping or join repartitions.',
  example: '- flatMap: \'words(value).map(w, {"key": w, "value": 1})\'',
  transitions: { stream: 'stream' },
  args: expression('a list of {"key": ..., "value": ...} maps'),
  expressions: [{ path: [], scope: 'record', expect: 'list' }],
  changesKey: true,
});
