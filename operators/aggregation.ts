import type { Processor, StreamRecord } from '../engine/api/processor.js';
import type { GraphNode } from '../engine/api/topology-graph.js';
import { ExpressionError, type CompiledExpression } from '../engine/expr/cel.js';
import { whenLoaded, withKeyValue } from './runtime.js';

/** One aggregation step: from the stored state (undefined for a new key) and a record, the new state and the table's value. */
export type Aggregator = (state: unknown, record: StreamRecord) => { state: unknown; value: unknown };

/**
 * The processor of every aggregation: read the key's state from the node's store (synchronously
 * when cached), apply, write, forward the table's new value. Records with a null key or value are
 * skipped, as Kafka Streams does.
 */
export function aggregationProcessor(node: GraphNode, aggregate: Aggregator): Processor {
  return {
    init(ctx) {
      const store = ctx.store(node.stores[0]!);
      this.process = (r) => {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
        return whenLoaded(store.get(r.key), (old) => {
          const { state, value } = aggregate(old, r);
          store.put(r.key, state);
          return ctx.forward(withKeyValue(r, r.key, value));
        });
      };
    },
    process: () => undefined,
  };
}

/** The number an expression gives, or an error naming what it gave instead. */
export function numberFrom(expr: CompiledExpression, vars: Record<string, unknown>, step: string): number {
  const n = expr.evaluate(vars);
  if (typeof n !== 'number') throw new ExpressionError(`${step} needs a number, got ${n === null ? 'null' : typeof n === 'object' ? 'a map or list' : JSON.stringify(n)}`, expr.source);
  return n;
}
