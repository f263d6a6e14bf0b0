import { defineStep, expression } from './spec.js';
import { compiled, processor, recordVars, withKeyValue } from './runtime.js';

export const map = defineStep({
  name: 'map',
  doc: 'Replaces key and value; a later grouping or join repartitions the stream by the new key.',
  example: '- map: {key: value.user, value: \'{"page": value.page}\'}',
  transitions: { stream: 'stream' },
  args: {
    type: 'object',
    description: 'The new key and value, each a CEL expression.',
    properties: { key: expression('the new key'), value: expression('the new value') },
    required: ['key', 'value'],
    additionalProperties: false,
  },
  expressions: [
    { path: ['key'], scope: 'record' },
    { path: ['value'], scope: 'record' },
  ],
  changesKey: true,
  create(node) {
    const key = compiled(node, 'key', 'record');
    const value = compiled(node, 'value', 'record');
    return processor((ctx) => (r) => {
      const vars = recordVars(r);
      return ctx.forward(withKeyValue(r, key.evaluate(vars), value.evaluate(vars)));
    });
  },
});
