import { defineStep, expression } from './spec.js';

export const filter = defineStep({
  name: 'filter',
  doc: 'Keeps the records for which the predicate is true; on a table, an update that fails the predicate deletes the key.',
  example: '- filter: value.qty > 10 && value.store == "berlin"',
  transitions: { stream: 'stream', table: 'table' },
  args: expression('a predicate over key, value, timestamp, headers, topic, partition, offset'),
  expressions: [{ path: [], scope: 'record', expect: 'bool' }],
});
