import { readFileSync } from 'node:fs';
import type { Diagnostic } from '../api/diagnostics.js';
import type { TopologyGraph } from '../api/topology-graph.js';
import { loadYaml } from '../loader/load-yaml.js';
import { validateAgainstSchema } from '../validation/schema-validator.js';
import { assignStores } from './assign-stores.js';
import { buildGraph } from './build-graph.js';
import { checkCopartitioning } from './check-copartitioning.js';
import { checkDurations } from './check-durations.js';
import { checkKafka } from './check-kafka.js';
import { checkSchemas } from './check-schemas.js';
import { compileExpressions } from './compile-expressions.js';
import { expandBranches } from './expand-branches.js';
import { finishGraph } from './finish-graph.js';
import { inferKinds } from './infer-kinds.js';
import { insertRepartitions } from './insert-repartitions.js';
import { lowerSugar } from './lower-sugar.js';
import { Diagnostics, type CompilerState, type Pass } from './model.js';
import { resolveReferences } from './resolve-references.js';
import { splitSubtopologies } from './split-subtopologies.js';

/** Passes that check the document; all run, so every problem is reported at once. */
export const CHECK_PASSES: readonly Pass[] = [lowerSugar, expandBranches, checkKafka, checkSchemas, resolveReferences, inferKinds, checkDurations, compileExpressions];
/** Passes that build the graph from a document that passed every check. */
export const BUILD_PASSES: readonly Pass[] = [buildGraph, insertRepartitions, assignStores, splitSubtopologies, checkCopartitioning, finishGraph];
export const PASSES: readonly Pass[] = [...CHECK_PASSES, ...BUILD_PASSES];


export interface CompileResult {
  /** Present when there are no diagnostics. */
  readonly graph?: TopologyGraph;
  /** Sorted by line and column; values that came from environment variables show as `${NAME}`. */
  readonly diagnostics: Diagnostic[];
  /** Shows values that came from environment variables as `${NAME}`: for messages about this topology. */
  readonly redact: (text: string) => string;
  /** The compiler's state after `stopAfter`, when given. */
  readonly state?: CompilerState;
}

export interface CompileOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Stop after the pass of this name and return its state (for `describe --pass`). */
  readonly stopAfter?: string;
  /** `duality run --guarantee`, `--standby-replicas`, `--max-task-idle`: over the topology's `processing:` section. */
  readonly processing?: ProcessingOverrides;
}

/** What a deployment sets over a topology's `processing:` section (checked by the caller). */
export interface ProcessingOverrides {
  readonly guarantee?: 'at_least_once' | 'exactly_once';
  readonly standbyReplicas?: number;
  /** A duration, or "disabled" (checked by the caller). */
  readonly maxTaskIdle?: string;
}

/** YAML text to a checked TopologyGraph, or every problem found, each at its line and column. */
export function compileTopology(file: string, text: string, options: CompileOptions = {}): CompileResult {
  const loaded = loadYaml(file, text, options.env ? { env: options.env } : {});
  const { redact } = loaded;
  const diagnostics = new Diagnostics(file, loaded.positions);
  const done = (more: { graph?: TopologyGraph; state?: CompilerState } = {}): CompileResult => ({
    diagnostics: diagnostics.list.map((d) => ({ ...d, message: redact(d.message) })).sort((a, b) => a.line - b.line || a.col - b.col),
    redact,
    ...more,
  });
  diagnostics.list.push(...loaded.diagnostics);
  if (loaded.data === undefined) return done();
  for (const p of validateAgainstSchema(loaded.data)) {
    // A value whose ${VAR} failed is already reported; its schema problem follows from that.
    if (!loaded.unresolved.has(p.pointer)) diagnostics.error(p.pointer, p.message, { atKey: p.atKey });
  }
  if (diagnostics.count > 0) return done();

  let raw = loaded.data as Record<string, unknown>;
  // Before the defaults are filled in: the commit interval's default follows the guarantee in force.
  if (options.processing) raw = { ...raw, processing: { ...(raw.processing as object | undefined), ...options.processing } };
  let state: CompilerState = { raw };
  for (const pass of PASSES) {
    if (pass === BUILD_PASSES[0] && diagnostics.count > 0) return done();
    state = pass.run(state, diagnostics);
    if (pass.name === options.stopAfter) return done({ state });
  }
  return diagnostics.count > 0 ? done() : done({ graph: state.graph! });
}

/** Reads and compiles a file; an unreadable file is a diagnostic too. */
export function compileTopologyFile(file: string, options: CompileOptions = {}): CompileResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    return { diagnostics: [{ file, line: 1, col: 1, path: '', message: `cannot read the file: ${reason}` }], redact: (t) => t };
  }
  return compileTopology(file, text, options);
}
