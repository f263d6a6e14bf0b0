import assert from 'node:assert/strict';
import type { TopologyGraph } from '../engine/api/topology-graph.js';
import { compileTopology } from '../engine/compiler/index.js';

/** The graph of a topology that must compile without a diagnostic. */
export function graphOf(text: string): TopologyGraph {
  const r = compileTopology('t.yaml', text, { env: {} });
  assert.deepEqual(r.diagnostics, []);
  return r.graph!;
}
