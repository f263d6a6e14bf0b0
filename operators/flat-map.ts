import { defineStep, expression } from './spec.js';
import { ExpressionError } from '../engine/expr/cel.js';
import { compiled, forwardAll, processor, recordVars, withKeyValue } from './runtime.js';

export const flatMap = defineStep({
  name: 'flatMap',
  doc: 'Emits one record per element of a list of {key, value} maps; a later grouping or join repartitions.',
  example: '- flatMap: \'words(value).map(w, {"key": w, "value": 1})\'',
  transitions: { stream: 'stream' },
  args: expression('a list of {"key": ..., "value": ...} maps'),
  expressions: [{ path: [], scope: 'record', expect: 'list' }],
  changesKey: true,
  create(node) {
    const pairs = compiled(node, 'expression', 'record');
    return processor((ctx) => (r) => {
      const list = pairs.evaluate(recordVars(r));
      if (!Array.isArray(list)) throw new ExpressionError(`flatMap needs a list of {"key", "value"} maps, got ${list === null ? 'null' : typeof list}`, pairs.source);
      return forwardAll(
        ctx,
        list.map((kv) => {
          if (kv === null || typeof kv !== 'object' || !('key' in kv)) throw new ExpressionError('flatMap needs a list of {"key", "value"} maps', pairs.source);
          return withKeyValue(r, (kv as { key: unknown }).key, (kv as { value?: unknown }).value ?? null);
        }),
      );
    });
  },
});
