import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Diagnostic } from '../api/diagnostics.js';
import type { TopologyGraph } from '../api/topology-graph.js';
import { compileTopologyFile } from '../compiler/index.js';
import { Diagnostics } from '../compiler/model.js';
import { loadYaml } from '../loader/load-yaml.js';
import type { PositionTable } from '../loader/positions.js';
import { validateWith } from '../validation/schema-validator.js';
import { didYouMean } from '../validation/suggest.js';

/** A test file says `topology:` and `cases:` at its top level. */
export function looksLikeTestFile(text: string): boolean {
  return /^cases\s*:/m.test(text) && /^topology\s*:/m.test(text);
}

export interface TestFile {
  readonly file: string;
  readonly topologyFile: string;
  readonly graph: TopologyGraph;
  readonly cases: TestCase[];
  /** Where each part of the test file is, for failures that name the expectation's line. */
  readonly positions: PositionTable;
}

export interface TestInput {
  readonly topic: string;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly rawValue?: string;
  readonly timestamp?: number | string;
  readonly headers?: Record<string, string>;
}

export interface TestCase {
  readonly name: string;
  readonly match?: 'exact' | 'subset';
  readonly input: TestInput[];
  readonly expect: {
    readonly tables?: Record<string, unknown>;
    readonly topics?: Record<string, Record<string, unknown>[]>;
    readonly errors?: number | { topic?: string; reason?: string }[];
  };
}

/**
 * Checks a topology test file: its shape, that its topology compiles, that inputs go to topics the
 * topology reads and expectations name its tables and the topics it writes.
 */
export function loadTestFile(file: string, text: string = readFileSync(file, 'utf8')): { test?: TestFile; diagnostics: Diagnostic[] } {
  const loaded = loadYaml(file, text);
  const diagnostics = new Diagnostics(file, loaded.positions);
  diagnostics.list.push(...loaded.diagnostics);
  const said = (): Diagnostic[] => diagnostics.list.map((d) => ({ ...d, message: loaded.redact(d.message) }));
  if (loaded.data === undefined) return { diagnostics: said() };
  for (const p of validateWith('testFile', loaded.data)) diagnostics.error(p.pointer, p.message, { atKey: p.atKey });
  if (diagnostics.count > 0) return { diagnostics: said() };

  const doc = loaded.data as { topology: string; cases: Record<string, any>[] };
  const topologyFile = resolve(dirname(file), doc.topology);
  const compiled = compileTopologyFile(topologyFile);
  if (!compiled.graph) {
    diagnostics.error('/topology', `the topology ${doc.topology} does not compile (${compiled.diagnostics.length} problem${compiled.diagnostics.length === 1 ? '' : 's'}, listed below)`);
    return { diagnostics: [...said(), ...compiled.diagnostics] };
  }
  const g = compiled.graph;
  const sources = g.topics.filter((t) => t.role === 'source').map((t) => t.name);
  const written = g.topics.filter((t) => t.role === 'sink' || t.role === 'dlq').map((t) => t.name);
  const tables = g.definitions.filter((d) => d.kind === 'table').map((d) => d.name);
  doc.cases.forEach((c, i) => {
    (c.input as Record<string, unknown>[]).forEach((r, j) => {
      const at = `/cases/${i}/input/${j}`;
      if (!sources.includes(r.topic as string)) {
        diagnostics.error(`${at}/topic`, `the topology does not read topic "${String(r.topic)}"${didYouMean(String(r.topic), sources)}; it reads ${sources.join(', ')}`);
      }
      if ('value' in r && 'rawValue' in r) diagnostics.error(at, 'give `value` or `rawValue`, not both');
    });
    for (const t of Object.keys(c.expect.tables ?? {})) {
      if (!tables.includes(t)) diagnostics.error(`/cases/${i}/expect/tables/${t}`, `"${t}" is not a table of the topology${didYouMean(t, tables)}`, { atKey: true });
    }
    for (const t of Object.keys(c.expect.topics ?? {})) {
      if (!written.includes(t)) diagnostics.error(`/cases/${i}/expect/topics/${t}`, `the topology does not write topic "${t}"${didYouMean(t, written)}`, { atKey: true });
    }
  });
  if (diagnostics.count > 0) return { diagnostics: said() };
  return { test: { file, topologyFile, graph: g, cases: doc.cases as unknown as TestCase[], positions: loaded.positions }, diagnostics: [] };
}

