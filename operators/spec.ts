import type { Processor } from '../engine/api/processor.js';
import type { GraphNode } from '../engine/api/topology-graph.js';
import type { ExpectedType, ExprVariable } from '../engine/expr/cel.js';

/** What a step works on: a stream, a grouped stream (after groupBy/groupByKey/window) or a table. */
export type Kind = 'stream' | 'grouped' | 'table';

export type JsonSchema = Record<string, unknown>;

/** Which variables an expression may use. */
export type ExpressionScope = 'record' | 'aggregate' | 'initial' | 'join';

export interface ExpressionField {
  /** Where the expression sits inside the step's argument: [] for the argument itself, ['key'] for `map.key`. */
  readonly path: readonly string[];
  readonly scope: ExpressionScope;
  /** What the expression must give, checked at load when its type is known. */
  readonly expect?: ExpectedType;
}

/**
 * The declaration of a step in `steps:`: its YAML spelling, argument schema, docs and typing.
 * The topology JSON Schema and docs/operators.md are generated from these.
 */
export interface StepSpec {
  readonly name: string;
  /** One line for the docs and for editor hover. */
  readonly doc: string;
  /** A YAML example of the step as it appears in a `steps:` list. */
  readonly example: string;
  /** For each kind the step accepts, the kind it produces. */
  readonly transitions: Partial<Record<Kind, Kind>>;
  /** The argument's schema, or null for a bare word (`- count`). */
  readonly args: JsonSchema | null;
  readonly expressions: readonly ExpressionField[];
  /** The step may change the key: a later grouping or join repartitions first (Kafka Streams' key-changing operations). */
  readonly changesKey?: boolean;
  /** The step aggregates a grouped stream into a table held in a state store. */
  readonly aggregates?: boolean;
  /** The processor for one task (one factory call per task). */
  readonly create?: (node: GraphNode) => Processor;
}

export const VARIABLES: Record<ExpressionScope, readonly ExprVariable[]> = {
  record: ['key', 'value', 'timestamp', 'headers', 'topic', 'partition', 'offset'],
  aggregate: ['key', 'value', 'timestamp', 'headers', 'topic', 'partition', 'offset', 'agg'],
  initial: [],
  join: ['key', 'left', 'right'],
};

export const expression = (description: string): JsonSchema => ({
  type: ['string', 'number', 'boolean'],
  minLength: 1,
  description: `CEL expression: ${description}`,
});

export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h|d))+$';

export const duration = (description: string): JsonSchema => ({
  type: 'string',
  pattern: DURATION_PATTERN,
  'x-message': 'must be a duration like "500ms", "30s", "10m", "1h" or "7d"',
  description,
});

export function defineStep(spec: StepSpec): StepSpec {
  return spec;
}
