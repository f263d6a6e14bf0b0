/** Compiling and evaluating expressions in tests, with the checks every failure must pass. */
import assert from 'node:assert/strict';
import {
  compileExpression,
  ExpressionError,
  RECORD_VARIABLES,
  type CompiledExpression,
  type ExprVariable,
} from '../../../engine/expr/cel.js';

export const ALL: readonly ExprVariable[] = [...RECORD_VARIABLES, 'agg', 'left', 'right', 'source'];

export function compile(source: string, variables: readonly ExprVariable[] = ALL): CompiledExpression {
  const r = compileExpression(source, variables);
  if (!r.ok) assert.fail(`expected ${JSON.stringify(source)} to compile, got: ${r.message} (offset ${r.offset})`);
  return r.expression;
}

export function evaluate(source: string, vars: Partial<Record<ExprVariable, unknown>> = {}, variables: readonly ExprVariable[] = ALL): unknown {
  return compile(source, variables).evaluate(vars);
}

export function compileFails(source: string, variables: readonly ExprVariable[] = ALL): { message: string; offset: number } {
  const r = compileExpression(source, variables);
  if (r.ok) assert.fail(`expected ${JSON.stringify(source)} not to compile`);
  assert.equal(typeof r.message, 'string');
  assert.ok(r.message.length > 0);
  assert.ok(!r.message.includes('\n'), `message is one line: ${JSON.stringify(r.message)}`);
  assert.ok(!r.message.includes('^'), `message has no caret drawing: ${JSON.stringify(r.message)}`);
  assert.ok(!/\bat .*\.js:\d+/.test(r.message), 'message has no stack');
  return { message: r.message, offset: r.offset };
}

export function evalFails(source: string, vars: Partial<Record<ExprVariable, unknown>> = {}): ExpressionError {
  const expr = compile(source);
  try {
    expr.evaluate(vars);
  } catch (e) {
    assert.ok(e instanceof ExpressionError, `expected ExpressionError, got ${String(e)}`);
    assert.equal(e.code, 'EXPRESSION');
    assert.equal(e.source, source);
    return e;
  }
  return assert.fail(`expected ${JSON.stringify(source)} to fail at run time`);
}

