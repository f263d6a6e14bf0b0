import type { Processor } from '../engine/api/processor.js';
import type { GraphNode } from '../engine/api/topology-graph.js';
import type { ExpectedType, ExprVariable } from '../engine/expr/cel.js';

/** What a step works on: a stream, a grouped stream (after groupBy/groupByKey/window) or a table. */
export type Kind = 'stream' | 'grouped' | 'table';

export type JsonSchema = Record<string, unknown>;

/** Which variables an expression may use. */
export type ExpressionScope = 'record' | 'aggregate' | 'initial' | 'join';

export interface ExpressionField {
  /**
   * Where the expression sits inside the step's argument: [] for the argument itself, ['key'] for
   * `map.key`; ['*'] for every entry of a map whose keys the user names (`branch`), but `except`.
   */
  readonly path: readonly string[];
  readonly except?: readonly string[];
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
  /** With `args`: the step may also be written as a bare word, meaning its defaults (`- peek`). */
  readonly bare?: boolean;
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

/** Names of streams, tables and branches: they become parts of topic and store names. */
export const NAME_PATTERN = '^[a-z][a-z0-9-]{0,62}$';

export const name = (description: string): JsonSchema => ({
  type: 'string',
  pattern: NAME_PATTERN,
  'x-message': 'must be lower-case letters, digits and dashes, starting with a letter (at most 63 characters)',
  description,
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
