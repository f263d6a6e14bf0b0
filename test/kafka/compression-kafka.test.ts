/**
 * Compressed topics against Kafka's own Java clients (kafka/tools.sh fetches kafka-tools at the
 * broker's version): (a) lines written by Kafka's ConsoleProducer with each codec are counted by
 * WordCount; (b) WordCount with `kafka.compression: <codec>` writes counts that Kafka's
 * ConsoleConsumer reads.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { compileTopology } from '../../engine/compiler/index.js';
import { Engine } from '../../engine/runtime/engine.js';
import { openLog } from '../../engine/runtime/open-log.js';
import type { Log } from '../../engine/api/log.js';
import { ROOT } from '../root.js';
import { BROKERS, brokerTest, connectBroker, RUN } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('codec-kafka-test');
const classpath = missing === undefined ? execFileSync('bash', [join(ROOT, 'kafka', 'tools.sh')], { encoding: 'utf8' }).trim() : '';
const topics: string[] = [];
const dirs: string[] = [];

after(async () => {
  if (broker) {
    await broker.admin.deleteTopics({ topics }).catch(() => undefined);
    await broker.close();
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const java = (main: string, args: string[], input?: string): string =>
  execFileSync('java', ['-cp', classpath, `org.apache.kafka.tools.${main}`, ...args], { input, encoding: 'utf8', timeout: 60_000, stdio: ['pipe', 'pipe', 'pipe'] });

const LINES = ['the quick brown fox', 'jumps over the lazy dog', 'The dog barks', ...Array.from({ length: 300 }, (_, i) => `word${i % 10} filler text filler text ${'pad '.repeat(20)}`)];
/** Counts of the lines above, as WordCount gives them. */
const expected = new Map<string, number>();
for (const l of LINES) for (const w of l.toLowerCase().split(/\W+/).filter((w) => w !== '')) expected.set(w, (expected.get(w) ?? 0) + 1);

async function wordCount(codec: string, input: string, output: string): Promise<{ engine: Engine; log: Log; running: Promise<void> }> {
  const name = `codec-wc-${codec}-${RUN}`;
  const text = `version: 1
name: ${name}
kafka:
  brokers: [${BROKERS.join(', ')}]
  compression: ${codec}
streams:
  lines: { topic: ${input}, key: string, value: string }
tables:
  word-counts:
    from: lines
    steps:
      - flatMapValues: split(lower(value), "\\\\W+")
      - filter: value != ""
      - groupBy: value
      - count
    to: { topic: ${output}, value: long }
`;
  const { graph, diagnostics } = compileTopology('codec.yaml', text);
  assert.ok(graph, diagnostics.map((d) => d.message).join('\n'));
  for (const t of graph.topics) topics.push(t.name);
  const dir = mkdtempSync(join(tmpdir(), 'duality-codec-'));
  dirs.push(dir);
  const opened = await openLog(graph, { stateDir: dir, env: {}, stderr: () => undefined });
  assert.ok('log' in opened);
  const engine = new Engine({ graph, log: opened.log, stateDir: dir, cacheMaxBytes: 0, logger: () => undefined });
  await engine.start();
  const running = engine.run();
  running.catch(() => undefined);
  return { engine, log: opened.log, running };
}

/** The last count of each word in `output`, read by Kafka's ConsoleConsumer. */
function consoleCounts(output: string, records: number): Map<string, number> {
  const out = java('consumer.ConsoleConsumer', [
    '--bootstrap-server', BROKERS[0]!, '--topic', output, '--from-beginning', '--max-messages', String(records), '--timeout-ms', '30000',
    '--property', 'print.key=true', '--property', 'key.separator==',
    '--property', 'value.deserializer=org.apache.kafka.common.serialization.LongDeserializer',
    '--consumer-property', 'isolation.level=read_committed',
  ]);
  const counts = new Map<string, number>();
  for (const line of out.split('\n').filter((l) => l.includes('='))) {
    const [k, v] = line.split('=');
    counts.set(k!, Number(v));
  }
  return counts;
}

/** Records WordCount writes for LINES with no cache: one per word occurrence. */
const updates = [...expected.values()].reduce((a, b) => a + b, 0);

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
  brokerTest(missing, `(a) lines from Kafka's ConsoleProducer with ${codec} are counted`, async () => {
    const input = `codec-in-${codec}-${RUN}`;
    const output = `codec-out-${codec}-${RUN}`;
    await broker!.log.createTopics([{ name: input, partitions: 1 }]);
    topics.push(input);
    java('ConsoleProducer', ['--bootstrap-server', BROKERS[0]!, '--topic', input, '--compression-codec', codec], `${LINES.join('\n')}\n`);
    const { engine, log, running } = await wordCount('none', input, output);
    try {
      const counts = consoleCounts(output, updates);
      assert.deepEqual(new Map([...counts].sort()), new Map([...expected].sort()));
    } finally {
      await engine.stop();
      await running;
      await log.close();
    }
  }, 120_000);

  brokerTest(missing, `(b) WordCount with kafka.compression: ${codec} writes counts Kafka's ConsoleConsumer reads`, async () => {
    const input = `codec-bin-${codec}-${RUN}`;
    const output = `codec-bout-${codec}-${RUN}`;
    await broker!.log.createTopics([{ name: input, partitions: 1 }]);
    topics.push(input);
    java('ConsoleProducer', ['--bootstrap-server', BROKERS[0]!, '--topic', input], `${LINES.join('\n')}\n`);
    const { engine, log, running } = await wordCount(codec, input, output);
    try {
      const counts = consoleCounts(output, updates);
      assert.deepEqual(new Map([...counts].sort()), new Map([...expected].sort()));
      // The output's batches are compressed with the codec: Kafka's DumpLogSegments would show it; here the broker's answer is enough.
    } finally {
      await engine.stop();
      await running;
      await log.close();
    }
  }, 120_000);
}
