import type { Processor } from '../engine/api/processor.js';
import type { GraphNode } from '../engine/api/topology-graph.js';
import { compiled, processor, whenLoaded, withKeyValue } from './runtime.js';
import { foreignKeyJoin } from './foreign-key-join.js';
import { streamStreamJoin } from './stream-stream-join.js';
import { defineStep, duration, expression } from './spec.js';

export const join = defineStep({
  name: 'join',
  doc: 'Joins with another stream or table by key: stream-stream within a time window, stream-table lookups, table-table updates; a table with another by a foreign key taken from its rows (`foreignKey`).',
  example: '- join: {with: clicks, type: left, within: 10m, grace: 1m, value: \'{"ad": left.ad, "clicked": right != null}\'}',
  transitions: { stream: 'stream', table: 'table' },
  args: {
    type: 'object',
    description: 'The other side, the join type and the joined value.',
    properties: {
      with: { type: 'string', description: 'The name of the stream or table to join with.' },
      type: { enum: ['inner', 'left', 'outer'], description: 'inner (default), left or outer.' },
      within: duration('Stream-stream joins: the largest time difference between joined records.'),
      grace: duration('Stream-stream joins: how long late records are still joined; default 0.'),
      value: expression('the joined value, over left, right and key; default {"left": left, "right": right}'),
      foreignKey: expression('table-table joins by foreign key (KIP-213): the key of the `with` table to join each row with, over the row\'s key and value; the result is keyed by the row\'s key'),
    },
    required: ['with'],
    additionalProperties: false,
  },
  expressions: [
    { path: ['value'], scope: 'join' },
    { path: ['foreignKey'], scope: 'record' },
  ],
  create(node) {
    if (node.args.role !== undefined) return foreignKeyJoin(node);
    if (node.kind === 'table') return tableTableJoin(node);
    if (node.args.otherKind === 'table') return streamTableJoin(node);
    return streamStreamJoin(node);
  },
});

/**
 * Stream-table (Kafka Streams' KStream#join(KTable)): each stream record meets the table's value
 * for its key as it is when the record arrives; `inner` drops records without one. A record with a
 * null value, or (inner) a null key, is dropped and counted, as Kafka Streams skips it.
 */
function streamTableJoin(node: GraphNode): Processor {
  const joiner = compiled(node, 'value', 'join');
  const inner = node.args.type === 'inner';
  return processor((ctx) => {
    const table = ctx.store(node.args.rightStore as string);
    return (r) => {
      const noKey = r.key === null || r.key === undefined;
      // A null value means no record: nothing to join (Kafka Streams' KStreamKTableJoinProcessor skips it).
      if (r.value === null || r.value === undefined || (noKey && inner)) return ctx.dropped(r, 'null-key-or-value', 'a stream-table join needs a key and a value');
      if (noKey) return ctx.forward(withKeyValue(r, r.key, joiner.evaluate({ key: r.key, left: r.value, right: null })));
      return whenLoaded(table.get(r.key), (right) => {
        if (right === undefined && inner) return;
        return ctx.forward(withKeyValue(r, r.key, joiner.evaluate({ key: r.key, left: r.value, right: right ?? null })));
      });
    };
  });
}

/**
 * Table-table (KTable#join): a change on either side looks up the other side's current value;
 * the result is updated, or deleted when the join type no longer gives one (inner: both sides;
 * left: the left side; outer: either). A delete is forwarded only for a key that had a result.
 */
function tableTableJoin(node: GraphNode): Processor {
  const joiner = compiled(node, 'value', 'join');
  const type = node.args.type as 'inner' | 'left' | 'outer';
  const own = node.stores.find((s) => s !== node.args.leftStore && s !== node.args.rightStore);
  return processor((ctx) => {
    const stores = [ctx.store(node.args.leftStore as string), ctx.store(node.args.rightStore as string)];
    const result = own === undefined ? undefined : ctx.store(own);
    return (r, input) => {
      const other = stores[1 - input]!;
      return whenLoaded(other.getWithTimestamp(r.key), (found) => {
        const mine = r.value ?? null;
        const theirs = found?.value ?? null;
        const [left, right] = input === 0 ? [mine, theirs] : [theirs, mine];
        const joins = type === 'inner' ? left !== null && right !== null : type === 'left' ? left !== null : left !== null || right !== null;
        // A result carries the later of its two sides' timestamps (Kafka Streams' KTableKTableJoin*).
        const timestamp = found === undefined ? r.timestamp : Math.max(r.timestamp, found.timestamp);
        if (joins) return ctx.forward(withKeyValue(r, r.key, joiner.evaluate({ key: r.key, left, right }), timestamp));
        if (!result) return ctx.forward(withKeyValue(r, r.key, null));
        return whenLoaded(result.get(r.key), (had) => (had === undefined ? undefined : ctx.forward(withKeyValue(r, r.key, null))));
      });
    };
  });
}
