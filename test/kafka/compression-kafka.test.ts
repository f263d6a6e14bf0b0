/**
 * Compressed topics against Kafka's own Java clients (kafka/tools.sh fetches kafka-tools at the
 * broker's version): (a) lines written by Kafka's ConsoleProducer with each codec are counted by
 * WordCount; (b) WordCount with `kafka.compression: <codec>` writes counts that Kafka's
 * ConsoleConsumer reads, and Kafka's DumpLogSegments, run on the test broker's own log files
 * (kafka/start.sh keeps them in KAFKA_CACHE_DIR/data), shows that every batch of its output,
 * changelog and repartition topics carries that codec.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after } from 'node:test';
import { compileTopology } from '../../engine/compiler/index.js';
import { Engine } from '../../engine/runtime/engine.js';
import { openLog } from '../../engine/runtime/open-log.js';
import type { Log } from '../../engine/api/log.js';
import { ROOT } from '../root.js';
import { BROKERS, brokerTest, connectBroker, RUN } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('codec-kafka-test');
const classpath = missing === undefined ? execFileSync('bash', [join(ROOT, 'kafka', 'tools.sh')], { encoding: 'utf8' }).trim() : '';
const DATA = join(process.env.KAFKA_CACHE_DIR ?? join(ROOT, 'kafka/.cache'), 'data');
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
  // Named after its input: each case is an application of its own (group, changelog, state).
  const name = `${input}-wc`;
  const text = readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: ${name}\nkafka:\n  brokers: [${BROKERS.join(', ')}]\n  compression: ${codec}`)
    .replace('TextLinesTopic', input)
    .replace('WordsWithCountsTopic', output);
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

/**
 * The last count of each word in `output`, read by Kafka's ConsoleConsumer: run asynchronously,
 * since the engine that writes the output runs in this process.
 */
async function consoleCounts(output: string, records: number): Promise<Map<string, number>> {
  const { stdout: out } = await promisify(execFile)('java', ['-cp', classpath, 'org.apache.kafka.tools.consumer.ConsoleConsumer',
    '--bootstrap-server', BROKERS[0]!, '--topic', output, '--from-beginning', '--max-messages', String(records), '--timeout-ms', '30000',
    '--property', 'print.key=true', '--property', 'key.separator==',
    '--property', 'value.deserializer=org.apache.kafka.common.serialization.LongDeserializer',
    '--consumer-property', 'isolation.level=read_committed',
  ], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  const counts = new Map<string, number>();
  for (const line of out.split('\n').filter((l) => l.includes('='))) {
    const [k, v] = line.split('=');
    counts.set(k!, Number(v));
  }
  return counts;
}

/**
 * The codec of each batch in the broker's log files of the topics `wanted` accepts (its
 * partition directories are `<topic>-<partition>`), as Kafka's DumpLogSegments prints it, by topic.
 */
function codecsOnDisk(wanted: (topic: string) => boolean): Map<string, Set<string>> {
  const segments = readdirSync(DATA)
    .filter((dir) => wanted(dir.replace(/-\d+$/, '')))
    .flatMap((dir) => readdirSync(join(DATA, dir)).filter((f) => f.endsWith('.log')).map((f) => join(DATA, dir, f)));
  // One JVM for every segment: the dump says which file each batch line belongs to.
  const codecs = new Map<string, Set<string>>();
  let topic = '';
  for (const line of java('DumpLogSegments', ['--files', segments.join(',')]).split('\n')) {
    const file = /^Dumping (.+)$/.exec(line)?.[1];
    if (file !== undefined) topic = basename(dirname(file)).replace(/-\d+$/, '');
    const codec = /compresscodec: (\w+)/.exec(line)?.[1];
    if (codec === undefined) continue;
    if (!codecs.has(topic)) codecs.set(topic, new Set());
    codecs.get(topic)!.add(codec);
  }
  return codecs;
}

/** Records WordCount writes for LINES with no cache: one per word occurrence. */
const updates = [...expected.values()].reduce((a, b) => a + b, 0);

/**
 * WordCount over LINES that Kafka's ConsoleProducer wrote with `written` (none: uncompressed),
 * Duality writing with `writes`; its counts as Kafka's ConsoleConsumer reads them.
 */
async function countsThroughJava(tag: string, written: string, writes: string): Promise<Map<string, number>> {
  const input = `${tag}-${RUN}`;
  const output = `${tag}-out-${RUN}`;
  await broker!.log.createTopics([{ name: input, partitions: 1 }]);
  topics.push(input);
  java('ConsoleProducer', ['--bootstrap-server', BROKERS[0]!, '--topic', input, ...(written === 'none' ? [] : ['--compression-codec', written])], `${LINES.join('\n')}\n`);
  const { engine, log, running } = await wordCount(writes, input, output);
  try {
    const counts = await consoleCounts(output, updates);
    if (writes !== 'none') {
      // The sink, and the internal topics named after the application (`${input}-wc`).
      const onDisk = codecsOnDisk((t) => t === output || t.startsWith(`${input}-wc-`));
      assert.deepEqual([...onDisk.keys()].sort(), [`${input}-wc-word-counts-changelog`, `${input}-wc-word-counts-repartition`, output].sort());
      for (const [topic, seen] of onDisk) assert.deepEqual([...seen], [writes], `codecs of the batches in ${topic}`);
    }
    return counts;
  } finally {
    await engine.stop();
    await running;
    await log.close();
  }
}

const sorted = (m: ReadonlyMap<string, number>): Map<string, number> => new Map([...m].sort());

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
  brokerTest(missing, `(a) lines from Kafka's ConsoleProducer with ${codec} are counted`, async () => {
    assert.deepEqual(sorted(await countsThroughJava(`codec-in-${codec}`, codec, 'none')), sorted(expected));
  }, 120_000);

  brokerTest(missing, `(b) WordCount with kafka.compression: ${codec} writes counts Kafka's ConsoleConsumer reads`, async () => {
    assert.deepEqual(sorted(await countsThroughJava(`codec-bin-${codec}`, 'none', codec)), sorted(expected));
  }, 120_000);
}
