import { VARIABLES, type ExpressionScope } from '../../operators/spec.js';
import { compileExpression, type ExpectedType, type ExprVariable } from '../expr/cel.js';
import type { Diagnostics, Pass } from './model.js';

/**
 * Compiles every CEL expression once, with the variables its position allows (`agg` only in
 * reduce/aggregate, `left`/`right` only in joins, `source` only in merged streams before they are
 * grouped), so a typo or an unknown variable is an error at its line and column.
 */
export const compileExpressions: Pass = {
  name: 'compileExpressions',
  run(state, diagnostics) {
    const doc = state.doc!;
    for (const def of doc.definitions.values()) {
      if (def.source?.timestamp !== undefined) {
        check(`${def.pointer}/timestamp`, def.source.timestamp, VARIABLES.record, diagnostics);
      }
      let grouped = false;
      for (const step of def.steps) {
        if (step.name === 'groupBy' || step.name === 'groupByKey') grouped = true;
        for (const field of step.spec.expressions) {
          let value: unknown = step.args;
          for (const seg of field.path) value = (value as Record<string, unknown> | null)?.[seg];
          // A field of the other form of a step that takes either (`reduce: expr` or `reduce: {add, subtract}`).
          if (value === undefined || value === null || typeof value === 'object') continue;
          const pointer = [step.pointer, ...field.path].join('/');
          // `groupBy` itself still sees the merged record's source; what follows it does not.
          const withSource = def.merged && (!grouped || step.name === 'groupBy');
          check(pointer, String(value), variables(field.scope, withSource), diagnostics, field.expect);
        }
      }
    }
    return state;
  },
};

/** `source` is a record's: an initializer sees no record, and a join's value sees two (`left`, `right`). */
function variables(scope: ExpressionScope, withSource: boolean): readonly ExprVariable[] {
  const vars = VARIABLES[scope];
  return withSource && scope !== 'initial' && scope !== 'join' ? [...vars, 'source'] : vars;
}

function check(pointer: string, source: string, vars: readonly ExprVariable[], diagnostics: Diagnostics, expect?: ExpectedType): void {
  const result = compileExpression(source, vars, expect);
  if (!result.ok) diagnostics.error(pointer, `invalid expression: ${result.message}`, { index: result.offset });
}
