import { VARIABLES, type ExpressionField, type ExpressionScope } from '../../operators/spec.js';
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
          for (const { path, value } of expressionsAt(step.args, field)) {
            const pointer = [step.pointer, ...path].join('/');
            // `groupBy` itself still sees the merged record's source; what follows it does not.
            const withSource = def.merged && (!grouped || step.name === 'groupBy');
            check(pointer, String(value), variables(field.scope, withSource), diagnostics, field.expect);
          }
        }
      }
    }
    return state;
  },
};

/** The expressions a field names in a step's argument: one at a fixed path, or every entry of a map (`*`). */
export function expressionsAt(args: unknown, field: ExpressionField): { path: string[]; value: unknown }[] {
  if (field.path[0] === '*') {
    if (args === null || typeof args !== 'object') return [];
    return Object.entries(args as Record<string, unknown>)
      .filter(([k, v]) => !field.except?.includes(k) && v !== null && v !== undefined)
      .map(([k, value]) => ({ path: [k], value }));
  }
  let value: unknown = args;
  for (const seg of field.path) value = (value as Record<string, unknown> | null)?.[seg];
  // An object is the other form of a step that takes either (`reduce: expr` or `reduce: {add, subtract}`).
  return value === undefined || value === null || typeof value === 'object' ? [] : [{ path: [...field.path], value }];
}

/** `source` is a record's: an initializer sees no record, and a join's value sees two (`left`, `right`). */
function variables(scope: ExpressionScope, withSource: boolean): readonly ExprVariable[] {
  const vars = VARIABLES[scope];
  return withSource && scope !== 'initial' && scope !== 'join' ? [...vars, 'source'] : vars;
}

function check(pointer: string, source: string, vars: readonly ExprVariable[], diagnostics: Diagnostics, expect?: ExpectedType): void {
  const result = compileExpression(source, vars, expect);
  if (!result.ok) diagnostics.error(pointer, `invalid expression: ${result.message}`, { index: result.offset });
}
