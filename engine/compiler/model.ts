import type { StepSpec } from '../../operators/spec.js';
import type { Diagnostic, } from '../api/diagnostics.js';
import { humanPath } from '../api/diagnostics.js';
import type { Kind, SchemaOptions, Serde, StoreInfo, Subtopology, TopicInfo, TopologyGraph, KafkaSection } from '../api/topology-graph.js';
import type { PositionTable } from '../loader/positions.js';

/** A step as written, with where it came from. */
export interface StepUse {
  readonly index: number;
  readonly name: string;
  readonly args: unknown;
  readonly spec: StepSpec;
  readonly pointer: string;
  /** Filled by inferKinds: what flows into the step. */
  input?: { kind: Kind; windowed: boolean };
}

/** A stream or table definition after sugar is lowered (`to: topic` → `{topic}`, `from: a` → `[a]`). */
export interface Definition {
  readonly name: string;
  readonly section: 'streams' | 'tables';
  readonly pointer: string;
  readonly source?: { topic: string; keySerde: Serde; valueSerde: Serde; timestamp?: string; keySchema?: SchemaOptions; valueSchema?: SchemaOptions };
  readonly from: string[];
  readonly merged: boolean;
  readonly steps: StepUse[];
  readonly to?: { topic: string; keySerde?: Serde; valueSerde?: Serde; pointer: string; keySchema?: SchemaOptions; valueSchema?: SchemaOptions };
  readonly emit: 'changes' | 'final';
  /** A branch of another definition's `branch` step (made by expandBranches): its records are those the branch takes. */
  readonly branch?: { readonly step: StepUse; readonly predicates: string[]; readonly position: number };
  /** Filled by inferKinds. */
  kind?: 'stream' | 'table';
  windowed?: boolean;
}

export interface Document {
  readonly name: string;
  readonly kafka?: KafkaSection;
  readonly guarantee: 'at_least_once' | 'exactly_once';
  readonly commitIntervalMs: number;
  readonly standbyReplicas: number;
  /** IDLE_DISABLED when "disabled". */
  readonly maxTaskIdleMs: number;
  readonly errorPolicy: 'dlq' | 'skip' | 'fail';
  readonly dlqTopic: string;
  readonly definitions: Map<string, Definition>;
  /** Names in dependency order (inputs first); filled by resolveReferences. */
  order: string[];
}

/** A graph node while the compiler builds it; `rekeyed` marks a key changed since the last partitioning. */
export interface WorkNode {
  id: string;
  type: string;
  definition: string;
  pointer: string;
  inputs: string[];
  kind: Kind;
  windowed: boolean;
  keySerde: Serde;
  valueSerde: Serde;
  keySchema?: SchemaOptions;
  valueSchema?: SchemaOptions;
  args: Record<string, unknown>;
  stores: string[];
  topic?: string;
  rekeyed: boolean;
  /** The step's position in its definition; -1 for sources, merges and sinks. */
  stepIndex: number;
}

export interface WorkGraph {
  nodes: WorkNode[];
  /** Definition name → the node whose output it is. */
  outputs: Map<string, string>;
  /** Definition name → the store holding a table's current value. */
  tableStores: Map<string, string>;
  stores: StoreInfo[];
  topics: TopicInfo[];
  subtopologies: Subtopology[];
  copartitionGroups: string[][];
}

export interface CompilerState {
  readonly raw: Record<string, unknown>;
  doc?: Document;
  work?: WorkGraph;
  graph?: TopologyGraph;
}

/** Collects positioned diagnostics for one file. */
export class Diagnostics {
  readonly list: Diagnostic[] = [];

  constructor(
    readonly file: string,
    private readonly positions: PositionTable,
  ) {}

  /** A problem at a node; `atKey` points at a map entry's key, `index` at a character inside a string value. */
  error(pointer: string, message: string, where: { atKey?: boolean; index?: number } = {}): void {
    const pos = where.index !== undefined ? this.positions.locateInValue(pointer, where.index) : this.positions.locate(pointer, where.atKey ?? false);
    this.list.push({ file: this.file, line: pos.line, col: pos.col, path: humanPath(pointer), message });
  }

  get count(): number {
    return this.list.length;
  }
}

/** A compiler pass: small, pure apart from the diagnostics it adds. */
export interface Pass {
  readonly name: string;
  run(state: CompilerState, diagnostics: Diagnostics): CompilerState;
}
