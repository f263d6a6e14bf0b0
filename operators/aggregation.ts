import type { Processor, StreamRecord } from '../engine/api/processor.js';
import type { GraphNode, WindowSpec } from '../engine/api/topology-graph.js';
import { ExpressionError, type CompiledExpression } from '../engine/expr/cel.js';
import { processor, whenLoaded, withKeyValue } from './runtime.js';
import { sessionAggregation } from './session-aggregation.js';
import { timeWindowAggregation } from './window-aggregation.js';

/** One aggregation step: from the stored state (undefined for a new key or window) and a record, the new state. */
export type Aggregator = (state: unknown, record: StreamRecord) => unknown;

/** How an aggregation folds records, and what its table shows of its state. */
export interface AggregationSpec {
  readonly aggregate: Aggregator;
  /** The table's value for a state (avg keeps {sum, count}); identity by default. */
  readonly view?: (state: unknown) => unknown;
  /** Combines two sessions' states when a record bridges them (session windows). */
  readonly merge?: (older: unknown, newer: unknown, key: unknown) => unknown;
}

/**
 * The processor of every aggregation. Records with a null key or value are skipped, as Kafka
 * Streams does. Without a window: read the key's state from the node's store (synchronously when
 * cached), apply, write, forward the table's new value (held until the commit when caching is on),
 * at the later of the aggregate's previous timestamp and the record's.
 */
export function aggregationProcessor(node: GraphNode, spec: AggregationSpec): Processor {
  const window = node.args.window as WindowSpec | undefined;
  if (window?.type === 'session') return sessionAggregation(node, window, spec);
  if (window) return timeWindowAggregation(node, window, spec);
  const view = spec.view ?? ((s: unknown) => s);
  return processor((ctx) => {
    const store = ctx.store(node.stores[0]!);
    return (r) => {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      return whenLoaded(store.getWithTimestamp(r.key), (old) => {
        const state = spec.aggregate(old?.value, r);
        // The result's time: the later of the aggregate's and the record's (Kafka Streams' KStreamAggregate).
        const timestamp = old === undefined ? r.timestamp : Math.max(old.timestamp, r.timestamp);
        store.put(r.key, state, timestamp);
        return ctx.forwardUpdate(withKeyValue(r, r.key, view(state), timestamp));
      });
    };
  });
}

/** The number an expression gives, or an error naming what it gave instead. */
export function numberFrom(expr: CompiledExpression, vars: Record<string, unknown>, step: string): number {
  const n = expr.evaluate(vars);
  if (typeof n !== 'number') throw new ExpressionError(`${step} needs a number, got ${n === null ? 'null' : typeof n === 'object' ? 'a map or list' : JSON.stringify(n)}`, expr.source);
  return n;
}
