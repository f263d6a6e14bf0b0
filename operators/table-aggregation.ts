import type { Done, Processor, StreamRecord } from '../engine/api/processor.js';
import type { GraphNode } from '../engine/api/topology-graph.js';
import { compiled, grouping, processor, recordVars, sameKey, whenLoaded, withKeyValue } from './runtime.js';
import type { Aggregator } from './aggregation.js';

/**
 * Re-aggregating a table (Kafka Streams' KTable#groupBy → KGroupedTable). The groupBy node sends
 * each change of a table row to the repartition topic as a Change: `{old, new}`, the row's previous
 * and new value (null for none), keyed by the group the value falls in. As KTableRepartitionMap:
 * when the group does not change, one record carries both; when it does, the old group gets
 * `{old, new: null}` first and the new group `{old: null, new}` after.
 */
export interface Change {
  readonly old: unknown;
  readonly new: unknown;
}

/**
 * The groupBy of a table. Duality's tables send their new value only, so the node keeps each
 * row's previous value in its own store (keyed by the table's key) to know what to subtract.
 */
export function tableRegroup(node: GraphNode): Processor {
  const regroup = grouping(node);
  const previousStore = node.args.previousStore as string;
  return processor((ctx) => {
    const previous = ctx.store(previousStore);
    // A row's group and the value it adds to it; none for a deleted row or a null key or value.
    const pair = (r: StreamRecord, value: unknown): StreamRecord | undefined => {
      if (value === null || value === undefined) return undefined;
      const p = regroup(withKeyValue(r, r.key, value));
      return p.key === null || p.key === undefined || p.value === null || p.value === undefined ? undefined : p;
    };
    return (r) => {
      // Kafka Streams refuses a null key in a table; Duality's tables never hold one.
      if (r.key === null || r.key === undefined) return;
      return whenLoaded(previous.get(r.key), (was) => {
        const oldPair = pair(r, was);
        const newPair = pair(r, r.value);
        previous.put(r.key, r.value ?? null);
        if (oldPair && newPair && sameKey(oldPair.key, newPair.key)) return ctx.forward(change(r, newPair.key, oldPair.value, newPair.value));
        const sendNew = (): Done => (newPair ? ctx.forward(change(r, newPair.key, null, newPair.value)) : undefined);
        return oldPair ? whenLoaded(ctx.forward(change(r, oldPair.key, oldPair.value, null)), sendNew) : sendNew();
      });
    };
  });
}

const change = (r: StreamRecord, key: unknown, old: unknown, now: unknown): StreamRecord => withKeyValue(r, key, { old, new: now } satisfies Change);

/** How an aggregation of a grouped table adds a row's value to its state, and takes one out. */
export interface TableAggregationSpec {
  /** From the state (undefined for a new group) and a record carrying the added value. */
  readonly add: Aggregator;
  /** From the state and a record carrying the removed value; null deletes the group. */
  readonly subtract: Aggregator;
}

/**
 * The aggregation of a grouped table, as Kafka Streams' KTableAggregate and KTableReduce: first
 * the old value is subtracted (when there is one and the group has a state), then the new one is
 * added (to the initial state when there is none). A state that ends null deletes the group, and
 * its delete goes on; a count that reaches 0 stays, as 0.
 */
export function tableAggregationProcessor(node: GraphNode, spec: TableAggregationSpec): Processor {
  return processor((ctx) => {
    const store = ctx.store(node.stores[0]!);
    return (r) => {
      if (r.key === null || r.key === undefined) return;
      const change = r.value as Change;
      return whenLoaded(store.get(r.key), (stored) => {
        let state: unknown = stored;
        if (change.old !== null && state !== undefined) state = spec.subtract(state, withKeyValue(r, r.key, change.old));
        if (change.new !== null) state = spec.add(state ?? undefined, withKeyValue(r, r.key, change.new));
        const result = state ?? null;
        store.put(r.key, result);
        return ctx.forwardUpdate(withKeyValue(r, r.key, result));
      });
    };
  });
}

/** reduce and aggregate of a grouped table: `add` as over a stream, `subtract` from the step's expression. */
export function subtractingExpression(node: GraphNode, add: Aggregator): Processor {
  const subtractor = compiled(node, 'subtract', 'aggregate');
  return tableAggregationProcessor(node, { add, subtract: (state, r) => subtractor.evaluate({ ...recordVars(r), agg: state }) });
}
