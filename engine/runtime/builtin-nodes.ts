import type { Headers, LogRecord } from '../api/log.js';
import { setOwn } from '../api/own.js';
import type { Processor, StreamRecord } from '../api/processor.js';
import type { RecordCollector, Serde } from '../api/serde.js';
import type { GraphNode } from '../api/topology-graph.js';
import { epochMs } from '../api/time.js';
import { compileExpression } from '../expr/cel.js';
import { ExpressionError } from '../expr/cel.js';
import { serdeFor } from '../serde/index.js';
import { VARIABLES } from '../../operators/spec.js';
import { processor } from '../../operators/runtime.js';

/** The serde of a node's key or value: the engine's registry serdes know the avro, protobuf and json-schema ones. */
export type SerdeOf = (node: GraphNode, side: 'key' | 'value') => Serde;
const plainSerdeOf: SerdeOf = (node, side) => serdeFor(side === 'key' ? node.keySerde : node.valueSerde);

/** A source node: decodes a log record into the record operators see. */
export interface SourceProcessor {
  readonly node: GraphNode;
  /** Decodes (throwing SerdeError / ExpressionError for the error policy) and forwards. */
  receive(record: LogRecord): StreamRecord;
}

// Most records carry no headers: share one empty object both ways instead of allocating.
const NONE: Readonly<Record<string, string>> = Object.freeze({});
const NO_HEADERS: Headers = Object.freeze({}) as Headers;

const decodeHeaders = (h: Headers): Readonly<Record<string, string>> => {
  let out: Record<string, string> | undefined;
  for (const k in h) setOwn((out ??= {}), k, h[k]!.toString('utf8'));
  return out ?? NONE;
};

/** A record's headers as the log carries them; records without headers share one empty object. */
export const encodeHeaders = (h: Readonly<Record<string, string>>): Headers => {
  let out: Headers | undefined;
  for (const k in h) setOwn<Buffer>((out ??= {}), k, Buffer.from(h[k]!, 'utf8'));
  return out ?? NO_HEADERS;
};

/** Turns a source record (source, table-source, repartition-source) into a StreamRecord. */
export function sourceDecoder(node: GraphNode, serdeOf: SerdeOf = plainSerdeOf): (r: LogRecord) => StreamRecord {
  const keySerde = serdeOf(node, 'key');
  const valueSerde = serdeOf(node, 'value');
  const tsSource = node.args.timestamp as string | undefined;
  const extract = tsSource === undefined ? undefined : compileExpression(tsSource, VARIABLES.record);
  const timestampExpr = extract?.ok ? extract.expression : undefined;
  return (r) => {
    const record: StreamRecord = {
      key: keySerde.deserialize(r.key),
      value: valueSerde.deserialize(r.value),
      timestamp: r.timestamp,
      headers: decodeHeaders(r.headers),
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      source: undefined,
    };
    if (!timestampExpr) return record;
    return { ...record, timestamp: toEpochMs(timestampExpr.evaluate({ ...record }), timestampExpr.source) };
  };
}

/** A `timestamp:` expression gives epoch ms or an RFC 3339 string (docs/language.md). */
export function toEpochMs(v: unknown, source: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  const ms = typeof v === 'string' ? epochMs(v) : undefined;
  if (ms !== undefined) return ms;
  throw new ExpressionError(`timestamp must be epoch milliseconds or an RFC 3339 string, got ${JSON.stringify(v)}`, source);
}

/** Sinks and repartition sinks: encode with the node's serdes and hand to the collector. */
export function sinkProcessor(node: GraphNode, collector: RecordCollector, serdeOf: SerdeOf = plainSerdeOf): Processor {
  const keySerde = serdeOf(node, 'key');
  const valueSerde = serdeOf(node, 'value');
  const topic = node.topic!;
  return {
    process(r) {
      collector.send({ topic, key: keySerde.serialize(r.key), value: valueSerde.serialize(r.value), timestamp: r.timestamp, headers: encodeHeaders(r.headers) });
    },
  };
}

/** A merge: records pass on, carrying the name of the input they came through (`source`). */
export function mergeProcessor(sources: readonly string[]): Processor {
  return processor((ctx) => (r, input) => ctx.forward({ ...r, source: sources[input] }));
}
