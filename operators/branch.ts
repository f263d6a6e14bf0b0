import { defineStep, expression, name } from './spec.js';
import { compiled, holds, processor, recordVars } from './runtime.js';

/**
 * Kafka Streams' `split()` with named branches. Each branch is a stream of its own, named
 * `<definition>-<branch>`; the compiler makes one node per branch, each holding every predicate,
 * so no node needs to know about the others at run time.
 */
export const branch = defineStep({
  name: 'branch',
  doc: 'Splits the stream into named streams `<definition>-<branch>`: each record goes to the first branch whose predicate is true, else to `default`, else nowhere; the last step of its definition.',
  example: '- branch: {large: value.qty > 100, small: value.qty > 0, default: other}',
  transitions: { stream: 'stream' },
  args: {
    type: 'object',
    properties: { default: name('The branch for the records no predicate takes; without it they are dropped.') },
    propertyNames: name('A branch name.'),
    additionalProperties: expression('the predicate of the branch named by the key; the first branch whose predicate is true takes the record'),
    minProperties: 1,
  },
  expressions: [{ path: ['*'], except: ['default'], scope: 'record', expect: 'bool' }],
  create(node) {
    // args.predicates: every predicate in order; args.position: this branch's index (its count for the default).
    const predicates = (node.args.predicates as string[]).map((expression) => compiled({ ...node, args: { expression } }, 'expression', 'record'));
    const position = node.args.position as number;
    return processor((ctx) => (r) => {
      const vars = recordVars(r);
      let taken = predicates.length;
      for (let i = 0; i < predicates.length && i <= position; i++) {
        if (holds(predicates[i]!, vars)) {
          taken = i;
          break;
        }
      }
      if (taken === position) return ctx.forward(r);
    });
  },
});
