import { formatDiagnostic } from '../api/diagnostics.js';
import type { TopologyGraph } from '../api/topology-graph.js';
import { compileTopologyFile } from '../compiler/index.js';
import { compareFingerprints, verdictLines } from './compare.js';
import { fingerprintsOf } from './fingerprint.js';

export interface DiffOptions {
  readonly oldFile: string;
  readonly newFile: string;
  readonly json: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly out: { stdout(line: string): void; stderr(line: string): void };
}

/**
 * `duality diff OLD NEW`: the verdict `duality run NEW` would reach over the state OLD left,
 * without running anything. Exit status 0 compatible, 1 incompatible, 2 when either file is not a
 * valid topology or they are two applications (their names differ).
 */
export function diffTopologies(o: DiffOptions): number {
  const graphs: TopologyGraph[] = [];
  for (const file of [o.oldFile, o.newFile]) {
    const { graph, diagnostics } = compileTopologyFile(file, { env: o.env });
    if (!graph) {
      for (const d of diagnostics) o.out.stderr(formatDiagnostic(d));
      return 2;
    }
    graphs.push(graph);
  }
  const [old, now] = graphs as [TopologyGraph, TopologyGraph];
  if (old.name !== now.name) {
    // The name is the application: its group, its internal topics' prefix, its state directory.
    o.out.stderr(`duality: ${o.oldFile} is the application "${old.name}" and ${o.newFile} is "${now.name}": a new name is a new application, which starts with no state (the old one's is left as it is); keep \`name: ${old.name}\` to upgrade it`);
    return 2;
  }
  const verdict = compareFingerprints(fingerprintsOf(old), fingerprintsOf(now));
  if (o.json) o.out.stdout(JSON.stringify(verdict, null, 2));
  else for (const l of verdictLines(verdict)) o.out.stdout(l);
  return verdict.compatible ? 0 : 1;
}
