import { defineStep, expression } from './spec.js';
import { ExpressionError } from '../engine/expr/cel.js';
import { compiled, forwardAll, processor, recordVars, withKeyValue } from './runtime.js';

export const flatMapValues = defineStep({
  name: 'flatMapValues',
  doc: 'Emits one record per element of the list the expression gives, each with the input\'s key.',
  example: '- flatMapValues: split(lower(value), "\\\\W+")',
  transitions: { stream: 'stream' },
  args: expression('a list; each element becomes a value'),
  expressions: [{ path: [], scope: 'record', expect: 'list' }],
  create(node) {
    const values = compiled(node, 'expression', 'record');
    return processor((ctx) => (r) => {
      const list = values.evaluate(recordVars(r));
      if (!Array.isArray(list)) throw new ExpressionError(`flatMapValues needs a list, got ${list === null ? 'null' : typeof list}`, values.source);
      return forwardAll(ctx, list.map((v) => withKeyValue(r, r.key, v)));
    });
  },
});
