import type { Done, Processor, ProcessorContext, StreamRecord } from '../engine/api/processor.js';
import type { GraphNode } from '../engine/api/topology-graph.js';
import { compileExpression, ExpressionError, type CompiledExpression, type ExprVariable } from '../engine/expr/cel.js';
import { VARIABLES, type ExpressionScope } from './spec.js';

/**
 * Helpers shared by the operators' processors. Expressions were checked by the compiler; here
 * they are compiled once per task, at processor creation.
 */
export function compiled(node: GraphNode, field: string, scope: ExpressionScope): CompiledExpression {
  const source = node.args[field];
  const vars: ExprVariable[] = [...VARIABLES[scope]];
  if (scope !== 'initial') vars.push('source');
  const result = compileExpression(String(source), vars);
  if (!result.ok) throw new Error(`${node.id}: ${result.message}`); // unreachable after validation
  return result.expression;
}

/**
 * A predicate's verdict on a record. `null` (a field that is null) counts as false, as SQL's WHERE
 * has it; anything else that is not true or false is the expression's error, so the record goes to
 * the error policy instead of being dropped without a word (a typo such as `value.name` for
 * `value.named == "x"`).
 */
export function holds(predicate: CompiledExpression, vars: Record<ExprVariable, unknown>): boolean {
  const verdict = predicate.evaluate(vars);
  if (typeof verdict === 'boolean') return verdict;
  if (verdict === null) return false;
  const shown = JSON.stringify(verdict);
  throw new ExpressionError(`a predicate must give true or false, not ${Array.isArray(verdict) ? 'a list' : typeof verdict === 'object' ? 'a map' : `the ${typeof verdict} ${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown}`}`, predicate.source);
}

/** The variables of a record, as expressions see them. */
export function recordVars(r: StreamRecord): Record<ExprVariable, unknown> {
  return {
    key: r.key,
    value: r.value,
    timestamp: r.timestamp,
    headers: r.headers,
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    source: r.source ?? null,
    agg: undefined,
    left: undefined,
    right: undefined,
  };
}

/** A record with a new key and/or value, keeping its context. */
export function withKeyValue(r: StreamRecord, key: unknown, value: unknown, timestamp = r.timestamp): StreamRecord {
  // A literal of fixed shape: cheaper than a spread on the hot path, and keeps one hidden class.
  return { key, value, timestamp, headers: r.headers, topic: r.topic, partition: r.partition, offset: r.offset, source: r.source };
}

/** Runs `then` on a value that may still be loading from a store, without a promise when it is not. */
export function whenLoaded<T>(v: T | Promise<T>, then: (v: T) => Done): Done {
  return v instanceof Promise ? v.then(then) : then(v);
}

/** Forwards several records in order, waiting only when a child had to. */
export function forwardAll(ctx: ProcessorContext, records: readonly StreamRecord[], from = 0): Done {
  for (let i = from; i < records.length; i++) {
    const r = ctx.forward(records[i]!);
    if (r) return r.then(() => forwardAll(ctx, records, i + 1));
  }
}

/**
 * A processor from a function that, given the task's context at `init`, returns what to do with
 * each record: the usual shape of an operator, without the init/process boilerplate.
 */
export function processor(body: (ctx: ProcessorContext) => (record: StreamRecord, input: number) => Done): Processor {
  let handle: (record: StreamRecord, input: number) => Done = () => {
    throw new Error('process called before init');
  };
  return {
    init(ctx) {
      handle = body(ctx);
    },
    process: (record, input) => handle(record, input),
  };
}

/** Records pass on as they are (toStream, toTable, source nodes: the runtime materialises tables). */
export const forwardAsIs = (): Processor => processor((ctx) => (r) => ctx.forward(r));

/** A new key from an expression, the value kept (selectKey, groupBy). */
export function rekey(node: GraphNode): Processor {
  const key = compiled(node, 'expression', 'record');
  return processor((ctx) => (r) => ctx.forward(withKeyValue(r, key.evaluate(recordVars(r)), r.value)));
}

/** The record regrouped: its key from `key` (or the bare expression), its value from `value` when given. */
export function grouping(node: GraphNode): (r: StreamRecord) => StreamRecord {
  const key = compiled(node, node.args.key === undefined ? 'expression' : 'key', 'record');
  const value = node.args.value === undefined ? undefined : compiled(node, 'value', 'record');
  return (r) => {
    const vars = recordVars(r);
    return withKeyValue(r, key.evaluate(vars), value ? value.evaluate(vars) : r.value);
  };
}


/** Keys as an internal topic compares them: by their JSON form. */
export const sameKey = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);
