/**
 * The differential conformance suite: Kafka Streams is the judge of Duality's semantics. Each case
 * of cases/ runs through Duality's test runner and, with the same input records, through Kafka
 * Streams' TopologyTestDriver (the Maven module here, one JVM for every case); every output record
 * (key, value, timestamp, tombstones, order: both sides have one partition a topic, so this is the
 * total order) and every table's final contents must be equal, or differ exactly as the case's
 * `difference` records. README.md here says how to add a case.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { readTable, queryableTables } from '../../engine/runtime/queries.js';
import { sortRows } from '../../engine/test-runner/compare.js';
import { readTopic, runInputs } from '../../engine/test-runner/run-tests.js';
import { ROOT } from '../root.js';
import { loadCases, type Case, type CaseFile } from './cases.js';
import { differences, recorded } from './diff.js';
import { runKafkaStreams, sinkTopics, type Outputs } from './kafka-streams.js';

const files = loadCases(join(ROOT, 'test/conformance/cases'));
const all = files.flatMap((file) => file.cases.map((c) => ({ file, c })));
const storesOf = (file: CaseFile): string[] => queryableTables(file.graph).map((d) => d.name);

async function runDuality(file: CaseFile, c: Case): Promise<Outputs | { error: string }> {
  try {
    return await runInputs(file.graph, c.input, async ({ engine, log }) => {
      const out: Outputs = { topics: {}, stores: {} };
      for (const topic of sinkTopics(file.graph)) {
        const sink = file.graph.nodes.find((n) => n.type === 'sink' && n.topic === topic);
        out.topics[topic] = (await readTopic(log, sink, topic)).map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp }));
      }
      for (const table of storesOf(file)) out.stores[table] = await readTable(engine, table);
      return out;
    });
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** Window and session rows in one order on both sides (key, start, end). */
function normalize(o: Outputs | { error: string } | undefined): unknown {
  if (!o || 'error' in o) return o;
  const stores = Object.fromEntries(Object.entries(o.stores).map(([k, v]) => [k, Array.isArray(v) ? sortRows(v as Record<string, unknown>[]) : v]));
  return { topics: o.topics, stores };
}

describe('conformance with Kafka Streams', () => {
  let kafkaStreams: Map<string, Outputs | { error: string }>;
  const report: string[] = [];

  before(() => {
    const started = Date.now();
    const run = runKafkaStreams(all.map(({ file, c }) => ({ id: c.id, java: c.java, graph: file.graph, input: c.input, stores: storesOf(file) })));
    kafkaStreams = run.results;
    report.push(`Kafka Streams side: Maven module ${run.built}; ${all.length} cases in one JVM in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  after(() => {
    const noted = all.filter(({ c }) => c.difference);
    console.log(
      [
        `conformance with Kafka Streams: ${all.length} cases in ${files.length} files, ${noted.length} with a recorded difference`,
        ...report,
        ...all.map(({ c }) => `  ${c.difference ? '≠' : '='} ${c.id}`),
        'recorded differences:',
        ...noted.map(({ c }) => `  ${c.id}: ${c.difference!.because.trim()} (${c.difference!.at.length} place${c.difference!.at.length === 1 ? '' : 's'}, first ${c.difference!.at[0]?.path})`),
      ].join('\n'),
    );
  });

  for (const { file, c } of all) {
    test(c.id, async (t) => {
      const duality = normalize(await runDuality(file, c));
      const found = differences(duality, normalize(kafkaStreams.get(c.id))).map(recorded);
      const show = (): string => `\nDuality's output:\n${stringify(duality)}\nevery difference, as a case's difference.at records it:\n${stringify(found)}`;
      if (!c.difference) {
        assert.equal(found.length, 0, `Duality differs from Kafka Streams at ${found[0]?.path}: Duality gives ${JSON.stringify(found[0]?.duality)}, Kafka Streams ${JSON.stringify(found[0]?.kafkaStreams)}${found.length > 1 ? ` (and ${found.length - 1} more)` : ''}${show()}`);
        return;
      }
      t.diagnostic(`recorded difference: ${c.difference.because.trim()}`);
      assert.deepEqual(found, c.difference.at, `the recorded difference changed (fixed? then delete the case's difference):${show()}`);
    });
  }
});
