import { createHash } from 'node:crypto';
import type { Processor, StreamRecord } from '../engine/api/processor.js';
import type { GraphNode } from '../engine/api/topology-graph.js';
import { compiled, forwardAll, processor, recordVars, sameKey, whenLoaded, withKeyValue } from './runtime.js';

/**
 * The foreign-key table-table join (KIP-213), as Kafka Streams runs it: four processors around two
 * internal topics, so the tables need not be co-partitioned.
 *   subscribe     (left side)  each left row change subscribes its key to the row's foreign key:
 *                              a Subscription keyed by the foreign key, to `-subscription`;
 *   subscription  (right side) stores the subscription by (foreign key, left key) and answers with
 *                              the right row's current value, keyed by the left key, to `-response`;
 *   foreign       (right side) each right row change answers every left key subscribed to it;
 *   response      (left side)  joins an answer with the left row, unless the row changed since it
 *                              subscribed (the answer's hash is of another value: a stale answer).
 * The instructions are SubscriptionWrapper's; their handling follows Kafka Streams 4.4's SubscriptionSendProcessorSupplier,
 * SubscriptionReceiveProcessorSupplier, SubscriptionJoinProcessorSupplier,
 * ForeignTableJoinProcessorSupplier and ResponseJoinProcessorSupplier.
 */
export type Instruction = 'delete-and-propagate' | 'delete-no-propagate' | 'propagate-null-if-none' | 'propagate-only-if-found';

interface Subscription {
  readonly pk: unknown;
  /** The hash of the left value that subscribed; null for a delete. */
  readonly hash: string | null;
  readonly instruction: Instruction;
}

interface Response {
  readonly hash: string | null;
  readonly right: unknown;
}

export function foreignKeyJoin(node: GraphNode): Processor {
  switch (node.args.role) {
    case 'subscribe':
      return subscribe(node);
    case 'subscription':
      return subscription(node);
    case 'foreign':
      return foreign(node);
    default:
      return respond(node);
  }
}

/** The left value's fingerprint (Kafka Streams: murmur3 of its serialized bytes). */
const hashOf = (value: unknown): string | null => (value === null || value === undefined ? null : createHash('sha1').update(JSON.stringify(value)).digest('base64'));

/**
 * Left row changes to subscriptions. Duality's tables send their new value only: the node keeps
 * each left row's value in its own store, which gives the old foreign key, and is the value the
 * response side joins.
 */
function subscribe(node: GraphNode): Processor {
  const foreignKey = compiled(node, 'foreignKey', 'record');
  const left = node.args.type === 'left';
  return processor((ctx) => {
    const values = ctx.store(node.args.leftValuesStore as string);
    return (r) => {
      if (r.key === null || r.key === undefined) return;
      return whenLoaded(values.get(r.key), (was) => {
        const oldValue = was ?? null;
        const newValue = r.value ?? null;
        values.put(r.key, newValue);
        const fk = (v: unknown): unknown => (v === null ? null : (foreignKey.evaluate(recordVars(withKeyValue(r, r.key, v))) ?? null));
        const oldFk = fk(oldValue);
        const newFk = fk(newValue);
        const hash = hashOf(newValue);
        const sends: [unknown, Instruction][] = [];
        if (left) {
          // Kafka Streams' leftJoinInstructions (4.4): the old foreign key forgets the row without an
          // answer; the new one answers, with null when it has no row or is itself null.
          if (oldValue !== null && oldFk !== null && !sameKey(oldFk, newFk)) sends.push([oldFk, 'delete-no-propagate']);
          if (oldValue !== null || newValue !== null) sends.push([newFk, 'propagate-null-if-none']);
        } else if (newValue === null || newFk === null) {
          // The row left, or lost its foreign key: its result, if any, is deleted.
          if (oldFk !== null) sends.push([oldFk, 'delete-and-propagate']);
        } else {
          if (oldFk !== null && !sameKey(oldFk, newFk)) sends.push([oldFk, 'delete-no-propagate']);
          // A row that had a result must lose it when the new foreign key finds nothing. So must a
          // row deleted and inserted again before its delete's answer came back: that answer is
          // stale by then and dropped (Kafka Streams sends PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE for
          // an insert, and keeps the deleted row's result in that race).
          sends.push([newFk, 'propagate-null-if-none']);
        }
        return forwardAll(ctx, sends.map(([key, instruction]) => withKeyValue(r, key, { pk: r.key, hash, instruction } satisfies Subscription)));
      });
    };
  });
}

/** The key of a subscription in the right side's store: the foreign key first, for a prefix scan. */
const subscriptionKey = (fk: unknown, pk: unknown): string => `${JSON.stringify(fk)}\u0000${JSON.stringify(pk)}`;
const subscriptionPrefix = (fk: unknown): string => `${JSON.stringify(fk)}\u0000`;

const answer = (r: StreamRecord, pk: unknown, hash: string | null, right: unknown): StreamRecord => withKeyValue(r, pk, { hash, right } satisfies Response);

/** A subscription arrives: remember or forget it, and answer with the right row's value as the instruction says. */
function subscription(node: GraphNode): Processor {
  return processor((ctx) => {
    const subscriptions = ctx.store(node.args.subscriptionStore as string);
    const rightRows = ctx.store(node.args.rightStore as string);
    return (r) => {
      const s = r.value as Subscription;
      const fk = r.key ?? null;
      if (fk === null) {
        return s.instruction === 'propagate-null-if-none' ? ctx.forward(answer(r, s.pk, s.hash, null)) : undefined;
      }
      const deletes = s.instruction === 'delete-and-propagate' || s.instruction === 'delete-no-propagate';
      subscriptions.put(subscriptionKey(fk, s.pk), deletes ? null : { pk: s.pk, hash: s.hash });
      if (s.instruction === 'delete-no-propagate') return;
      if (s.instruction === 'delete-and-propagate') return ctx.forward(answer(r, s.pk, s.hash, null));
      return whenLoaded(rightRows.get(fk), (right) => {
        if (right === undefined && s.instruction === 'propagate-only-if-found') return;
        return ctx.forward(answer(r, s.pk, s.hash, right ?? null));
      });
    };
  });
}

/** A right row changes: every left row subscribed to its key gets the new value (null for a delete). */
function foreign(node: GraphNode): Processor {
  return processor((ctx) => {
    const subscriptions = ctx.store<string, { pk: unknown; hash: string | null }>(node.args.subscriptionStore as string);
    return async (r) => {
      if (r.key === null || r.key === undefined) return;
      const found: { pk: unknown; hash: string | null }[] = [];
      for await (const [, s] of subscriptions.range({ prefix: subscriptionPrefix(r.key) })) found.push(s);
      for (const s of found) await ctx.forward(answer(r, s.pk, s.hash, r.value ?? null));
    };
  });
}

/** An answer meets the left row: joined if the row is still the one that subscribed. */
function respond(node: GraphNode): Processor {
  const joiner = compiled(node, 'value', 'join');
  const left = node.args.type === 'left';
  return processor((ctx) => {
    const values = ctx.store(node.args.leftValuesStore as string);
    const results = ctx.store(node.args.resultStore as string);
    return (r) => {
      const a = r.value as Response;
      return whenLoaded(values.get(r.key), (current) => {
        const row = current ?? null;
        // A stale answer: the row changed (or left) after it subscribed; a newer answer follows.
        if (hashOf(row) !== a.hash) return;
        // A delete goes on only for a key that has a result (as the key-to-key table join), where
        // Kafka Streams also sends one for a row that never joined (a move between two missing
        // foreign keys), and so would an insert without a match, which asks for one (see subscribe).
        if (a.right === null && (!left || row === null)) return whenLoaded(results.get(r.key), (had) => (had === undefined ? undefined : ctx.forward(withKeyValue(r, r.key, null))));
        return ctx.forward(withKeyValue(r, r.key, joiner.evaluate({ key: r.key, left: row, right: a.right })));
      });
    };
  });
}
