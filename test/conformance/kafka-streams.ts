import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureMavenJar } from '../../bench/kafka/maven.js';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { inputTimestamp } from '../../engine/test-runner/run-tests.js';
import { serdeFor } from '../../engine/serde/index.js';
import type { TestInput } from '../../engine/test-file/validate.js';
import { ROOT } from '../root.js';

const MODULE = join(ROOT, 'test/conformance');
const JAR = join(MODULE, 'target/conformance.jar');

/** What one run gives, on either side: each sink topic's records in order, and each table's final contents. */
export interface Outputs {
  topics: Record<string, { key: unknown; value: unknown; timestamp: number }[]>;
  stores: Record<string, unknown>;
}

export interface KafkaStreamsCase {
  readonly id: string;
  readonly java: string;
  readonly graph: TopologyGraph;
  readonly input: readonly TestInput[];
  /** The tables to read back: Kafka Streams' side materializes each under the table's name. */
  readonly stores: readonly string[];
}

interface RunnerResult {
  id: string;
  error?: string;
  topics?: Record<string, { key: string | null; value: string | null; timestamp: number }[]>;
  stores?: Record<string, unknown>;
}

/**
 * Runs every case through Kafka Streams' TopologyTestDriver in one JVM (src/main/java/.../Runner.java),
 * building the Maven module first unless its jar is newer than its sources. Records cross as bytes
 * written and read with Duality's serdes (byte for byte Kafka's), so both sides' outputs are decoded
 * alike. Returns each case's outputs, or the error Kafka Streams gave, by case id.
 */
export function runKafkaStreams(cases: readonly KafkaStreamsCase[]): { built: string; results: Map<string, Outputs | { error: string }> } {
  const built = ensureMavenJar(MODULE, JAR);
  const request = cases.map((c) => {
    let timestamp = 0;
    return {
      id: c.id,
      java: c.java,
      inputs: c.input.map((i) => {
        const source = c.graph.nodes.find((n) => (n.type === 'source' || n.type === 'table-source') && n.topic === i.topic)!;
        timestamp = inputTimestamp(i, timestamp);
        return { topic: i.topic, key: b64(serdeFor(source.keySerde).serialize(i.key ?? null)), value: b64(serdeFor(source.valueSerde).serialize(i.value ?? null)), timestamp };
      }),
      outputs: sinkTopics(c.graph),
      stores: c.stores,
    };
  });
  const java = spawnSync('java', ['-cp', `${JAR}:${join(MODULE, 'target/lib/*')}`, 'dev.duality.conformance.Runner'], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 256 << 20, timeout: 300_000 });
  if (java.error || java.status !== 0) throw new Error(`the Kafka Streams runner failed (${java.error?.message ?? `status ${java.status}`}):\n${java.stderr}`);
  const results = new Map<string, Outputs | { error: string }>();
  for (const r of JSON.parse(java.stdout) as RunnerResult[]) {
    const c = cases.find((x) => x.id === r.id)!;
    if (r.error !== undefined) {
      results.set(r.id, { error: r.error });
      continue;
    }
    const topics: Outputs['topics'] = {};
    for (const [topic, records] of Object.entries(r.topics!)) {
      const sink = c.graph.nodes.find((n) => n.type === 'sink' && n.topic === topic)!;
      topics[topic] = records.map((x) => ({ key: serdeFor(sink.keySerde).deserialize(unb64(x.key)), value: serdeFor(sink.valueSerde).deserialize(unb64(x.value)), timestamp: x.timestamp }));
    }
    results.set(r.id, { topics, stores: r.stores! });
  }
  return { built, results };
}

/** The topics a topology writes (not its dead-letter topic). */
export const sinkTopics = (graph: TopologyGraph): string[] => graph.topics.filter((t) => t.role === 'sink').map((t) => t.name);

const b64 = (b: Buffer | null): string | null => (b === null ? null : b.toString('base64'));
const unb64 = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'base64'));
