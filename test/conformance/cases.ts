import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { compileTopology } from '../../engine/compiler/index.js';
import type { TestInput } from '../../engine/test-file/validate.js';
import type { Difference } from './diff.js';

/**
 * A file of cases/: one topology, written twice (the YAML a user writes, and `java`, the method of
 * src/main/java/dev/duality/conformance/ that builds it in Kafka Streams' DSL, or a list of methods
 * that each build it another way), and cases that feed it inputs (shaped as a `.test.yaml` case's
 * `input`, docs/testing.md). Each case runs once per method.
 */
export interface CaseFile {
  readonly file: string;
  readonly graph: TopologyGraph;
  readonly cases: Case[];
}

export interface Case {
  /** `<file without .yaml>: <name>`, and ` [<method>]` when the file names several: the node:test name. */
  readonly id: string;
  readonly java: string;
  readonly name: string;
  readonly input: TestInput[];
  /**
   * A difference from Kafka Streams known and kept for now: why Kafka Streams does what it does
   * (`because`), and every place where the two outputs differ. The case passes while the outputs
   * differ in exactly these places, so fixing it (or breaking something else) fails the case.
   */
  readonly difference?: { because: string; at: Difference[] };
}

export function loadCases(dir: string): CaseFile[] {
  return yamlFiles(dir).map((file) => {
    const name = relative(dir, file).replace(/\.yaml$/, '');
    const doc = parse(readFileSync(file, 'utf8')) as { java: string | string[]; topology: string; cases: Omit<Case, 'id' | 'java'>[] };
    const compiled = compileTopology(`${file}#topology`, doc.topology);
    if (!compiled.graph) throw new Error(`${file}: the topology does not compile:\n${compiled.diagnostics.map((d) => `  ${d.line}:${d.col}: ${d.path}: ${d.message}`).join('\n')}`);
    const sources = compiled.graph.topics.filter((t) => t.role === 'source').map((t) => t.name);
    for (const c of doc.cases) {
      for (const i of c.input) if (!sources.includes(i.topic)) throw new Error(`${file}: case "${c.name}": the topology does not read topic "${i.topic}"`);
    }
    const methods = [doc.java].flat();
    const cases = methods.flatMap((java) => doc.cases.map((c) => ({ ...c, java, id: `${name}: ${c.name}${methods.length > 1 ? ` [${java}]` : ''}` })));
    return { file: name, graph: compiled.graph, cases };
  });
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : []))
    .sort();
}
