import { defineStep, expression } from './spec.js';
import { compiled, holds, processor, recordVars, withKeyValue } from './runtime.js';

export const filter = defineStep({
  name: 'filter',
  doc: 'Keeps the records for which the predicate is true; on a table, an update that fails the predicate deletes the key. A predicate that gives null counts as false; one that gives anything else but true or false is an error (the record goes to the error policy).',
  example: '- filter: value.qty > 10 && value.store == "berlin"',
  transitions: { stream: 'stream', table: 'table' },
  args: expression('a predicate over key, value, timestamp, headers, topic, partition, offset'),
  expressions: [{ path: [], scope: 'record', expect: 'bool' }],
  create(node) {
    const predicate = compiled(node, 'expression', 'record');
    const table = node.kind === 'table';
    return processor((ctx) => (r) => {
      // On a table a delete passes, and an update that fails the predicate deletes the key.
      if (table && r.value === null) return ctx.forward(r);
      if (holds(predicate, recordVars(r))) return ctx.forward(r);
      return table ? ctx.forward(withKeyValue(r, r.key, null)) : undefined;
    });
  },
});
