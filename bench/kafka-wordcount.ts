/**
 * `npm run bench -- kafka-wordcount [--quick] [--profile]`: WordCount on the Kafka broker
 * (127.0.0.1:9092, or KAFKA_BROKERS), Duality against Kafka Streams' own and against what kafkajs
 * alone can read, on the same pre-produced input (1M lines of 10 words; `--quick` a tenth):
 *
 * - throughput, each contender from the moment it is ready (group joined, tasks assigned) until
 *   its output topic holds the final counts (the latest count of every word equals the count
 *   computed here while generating the input); the time with start-up is printed too;
 * - end-to-end latency at a fixed 5,000 lines/s: input records carry the wall clock, output
 *   records the timestamp of the input that updated them, so latency = when this process reads
 *   the output record - its timestamp;
 * - the CPU time each contender's process used from ready to done, all its threads (/proc);
 * - at-least-once throughput again with lz4 everywhere: the same lines in a second input topic
 *   written lz4-compressed, and each contender writing its output, changelog and repartition
 *   topics with lz4 (Duality's `kafka.compression`, Kafka Streams' producer `compression.type`);
 * - with `--profile`, one more Duality at-least-once throughput run, under `node --cpu-prof` (the
 *   measured runs go without it); the profile is summarised (self time per function and per area)
 *   and kept as kafka-wordcount.cpuprofile.
 *
 * `--duality-only` measures just Duality at-least-once (`--exactly-once`: exactly-once; `--lz4`:
 * on the lz4 input, writing lz4; profiled instead with `--profile`), for
 * working on Duality's speed; it prints no ratios.
 *
 * A full run (not `--quick`) writes its section of docs/benchmarks.md. Topics, groups and temp
 * dirs are removed afterwards, on failure and on Ctrl-C too.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import kafkajs from '../engine/kafka/kafkajs.js';
import { Cleanup, produce, sleep, withProducer } from './kafka/cluster.js';
import { kafkaBench, ROOT, startDuality, startKafkajsConsume, startKafkaStreams, type Contender, type WordCountRun } from './kafka/contenders.js';
import { profileMarkdown, summariseProfile, type ProfileSummary } from './kafka/cpu-profile.js';
import { OutputWatcher } from './kafka/output-watcher.js';
import { environmentLines, writeSection } from './kafka/report.js';
import { makeLines } from './embedded.js';

const PARTITIONS = 4;
const VOCABULARY = 10_000;
const WORDS_PER_LINE = 10;
const LATENCY_RATE = 5_000;
/** Duality's commit intervals (docs/runtime.md), given to Kafka Streams too. */
const COMMIT_MS = { at_least_once: 1000, exactly_once: 100 } as const;
const GUARANTEE_LABEL = { at_least_once: 'at-least-once (commit 1000 ms)', exactly_once: 'exactly-once (commit 100 ms)' } as const;

type Guarantee = WordCountRun['guarantee'];

/** Where `--profile` leaves the profile (*.cpuprofile is git-ignored). */
const PROFILE_COPY = join(ROOT, 'kafka-wordcount.cpuprofile');

interface Throughput {
  readonly label: string;
  /** Seconds from ready to final counts, and from launch (start-up included). */
  readonly seconds: number;
  readonly withStartup: number;
  readonly linesPerSec: number;
  /** Records in the output topic by then: fewer means the cache absorbed more updates per word. */
  readonly outputRecords?: number;
  /** Commits made by then, where the contender tells. */
  readonly commits?: number;
  /** CPU seconds the contender's process used from ready to done, all threads. */
  readonly cpuSeconds?: number;
}

interface Latency {
  readonly label: string;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: number;
  readonly rate: number;
}

/** What every contender shares: the input, its expected counts, the run's names and clean-up. */
interface Bench {
  readonly prefix: string;
  readonly cleanup: Cleanup;
  readonly tmp: string;
  readonly input: string;
  /** The same lines, written with lz4. */
  readonly inputLz4: string;
  readonly lines: number;
  readonly expected: ReadonlyMap<string, number>;
}

/** The counts Kafka Streams' WordCount computes: lower case, split on \W+, empty strings dropped. */
function countWords(lines: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) for (const w of line.toLowerCase().split(/\W+/)) if (w !== '') counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The per-contender names, topics and temp dir; everything it creates starts with `${prefix}-${slug}`. */
async function prepare(b: Bench, slug: string, guarantee: Guarantee, input = b.input, compression?: 'lz4'): Promise<WordCountRun> {
  const app = `${b.prefix}-${slug}`;
  const output = `${app}-output`;
  await b.cleanup.createTopics([output], PARTITIONS);
  const stateDir = join(b.tmp, slug);
  mkdirSync(stateDir);
  return { app, input, output, guarantee, stateDir, ...(compression && { compression }) };
}

/** Stops the contender and the watcher and drops the contender's topics and groups. */
async function finish(b: Bench, slug: string, c: Contender, watcher: OutputWatcher): Promise<void> {
  const code = await c.proc.stop();
  await watcher.close();
  // A JVM stopped by SIGTERM exits with 143 after its shutdown hook ran (WordCount.java closes there).
  const clean = code === 0 || (c.proc.label === 'kafka-streams' && code === 143);
  if (!clean) console.error(`  (${c.proc.label} exited with status ${code} when stopped: ${c.proc.stderr.slice(-3).join(' | ')})`);
  if (watcher.overcounted.size > 0) console.error(`  (WARNING: ${watcher.overcounted.size} words were counted more often than they occur: records processed twice)`);
  await b.cleanup.dropBrokerState(`-${slug}`);
}

/**
 * One WordCount contender over the whole input, until its output holds the final counts; `lz4`:
 * over the lz4 input, writing lz4.
 */
async function throughput(b: Bench, label: string, slug: string, guarantee: Guarantee, start: (run: WordCountRun) => Contender, lz4 = false): Promise<Throughput> {
  const run = await (lz4 ? prepare(b, slug, guarantee, b.inputLz4, 'lz4') : prepare(b, slug, guarantee));
  const watcher = await OutputWatcher.start(run.output, `${run.app}-watch`, b.expected);
  const launched = Date.now();
  const c = start(run);
  try {
    const ready = await c.ready;
    const cpuAtReady = c.proc.cpuSeconds();
    const done = await watcher.untilDone(() => c.proc.failure());
    const cpuAtDone = c.proc.cpuSeconds();
    const cpuSeconds = cpuAtReady !== undefined && cpuAtDone !== undefined ? cpuAtDone - cpuAtReady : undefined;
    const commits = await c.commits?.();
    const seconds = (done - ready) / 1000;
    const t = { label, seconds, withStartup: (done - launched) / 1000, linesPerSec: b.lines / seconds, outputRecords: watcher.records, ...(commits !== undefined && { commits }), ...(cpuSeconds !== undefined && { cpuSeconds }) };
    const cpu = cpuSeconds === undefined ? '' : `, ${cpuSeconds.toFixed(1)} cpu s (${(cpuSeconds / seconds).toFixed(2)} cores, ${((cpuSeconds * 1e6) / b.lines).toFixed(1)} µs a line)`;
    const extra = `${fmt(t.outputRecords)} output records${commits !== undefined ? `, ${fmt(commits)} commits` : ''}${cpu}`;
    console.log(`${label}: ${fmt(t.linesPerSec)} lines/s, ${fmt(t.linesPerSec * WORDS_PER_LINE)} words/s (${t.seconds.toFixed(2)} s; ${t.withStartup.toFixed(2)} s with start-up; ${extra})`);
    return t;
  } finally {
    await finish(b, slug, c, watcher);
  }
}

/** kafkajs alone: the same input, an empty handler, from group join until every line was read. */
async function kafkajsCeiling(b: Bench): Promise<Throughput> {
  const launched = Date.now();
  const c = startKafkajsConsume(b.input, `${b.prefix}-kafkajs`, b.lines, b.cleanup);
  try {
    const [ready, done] = [await c.ready, await c.done];
    const t = { label: 'kafkajs consume (empty handler)', seconds: (done - ready) / 1000, withStartup: (done - launched) / 1000, linesPerSec: (b.lines * 1000) / (done - ready) };
    console.log(`${t.label}: ${fmt(t.linesPerSec)} lines/s (${t.seconds.toFixed(2)} s; ${t.withStartup.toFixed(2)} s with start-up)`);
    return t;
  } finally {
    await c.proc.stop();
    await b.cleanup.dropBrokerState('-kafkajs');
  }
}

/**
 * End-to-end latency at LATENCY_RATE lines/s: a fresh input topic, the contender made ready and
 * warmed (probe lines until output flows), then `seconds` of input stamped with the wall clock;
 * samples from records whose timestamp is past the first `warmup` seconds.
 */
async function latency(b: Bench, label: string, slug: string, seconds: number, warmup: number, start: (run: WordCountRun) => Contender): Promise<Latency> {
  const input = `${b.prefix}-${slug}-input`;
  await b.cleanup.createTopics([input], PARTITIONS);
  const lines = makeLines(LATENCY_RATE * seconds * WORDS_PER_LINE, VOCABULARY);
  const run = await prepare(b, slug, 'at_least_once', input);
  const watcher = await OutputWatcher.start(run.output, `${run.app}-watch`, countWords(lines));
  const c = start(run);
  try {
    await c.ready;
    const rate = await withProducer(b, async (producer) => {
      // Probes ('probe' is no word of the vocabulary) until the first output: repartition topic and commits flow.
      for (const until = Date.now() + 120_000; watcher.records === 0; await sleep(250)) {
        if (Date.now() > until) throw new Error(`${label}: no output for a probe within 120 s`);
        const why = c.proc.failure();
        if (why) throw new Error(why);
        await producer.send({ topic: input, messages: [{ value: 'probe' }] });
      }
      const started = Date.now();
      watcher.window = { from: started + warmup * 1000, to: Number.POSITIVE_INFINITY };
      let sent = 0;
      while (sent < lines.length) {
        const due = Math.min(lines.length, Math.floor(((Date.now() - started) * LATENCY_RATE) / 1000));
        if (due > sent) {
          const timestamp = String(Date.now());
          const messages: Message[] = lines.slice(sent, due).map((value) => ({ value, timestamp }));
          await producer.send({ topic: input, acks: -1, messages });
          sent = due;
        }
        await sleep(10);
      }
      return (sent * 1000) / (Date.now() - started);
    });
    await watcher.untilDone(() => c.proc.failure());
    const l = [...watcher.latencies].sort((x, y) => x - y);
    const q = (p: number): number => l[Math.min(l.length - 1, Math.floor(p * l.length))] ?? Number.NaN;
    const result = { label, p50: q(0.5), p99: q(0.99), max: l[l.length - 1] ?? Number.NaN, samples: l.length, rate };
    console.log(`${label} latency at ${fmt(rate)} lines/s: p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms (${result.samples} output records)`);
    return result;
  } finally {
    await finish(b, slug, c, watcher);
  }
}

/** The profile `node --cpu-prof` wrote into `dir` when Duality exited, kept and summarised. */
function readProfile(dir: string): ProfileSummary {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}: did duality exit cleanly?`);
  // Kept (git-ignored) for a closer look: Chrome DevTools' Performance tab or VS Code open it.
  copyFileSync(join(dir, file), PROFILE_COPY);
  const summary = summariseProfile(PROFILE_COPY, ROOT);
  console.log(`cpu profile: ${PROFILE_COPY}`);
  for (const l of profileMarkdown(summary)) console.log(l);
  return summary;
}

const ratio = (a: number, b: number): string => (a / b).toFixed(2);

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const profile = args.includes('--profile');
  const nLines = quick ? 100_000 : 1_000_000;
  const [latencySeconds, warmup] = quick ? [6, 1] : [20, 2];
  return kafkaBench('wc', async ({ prefix, cleanup, tmp, env }) => {

    const lines = makeLines(nLines * WORDS_PER_LINE, VOCABULARY);
    const expected = countWords(lines);
    const input = `${prefix}-input`;
    const inputLz4 = `${prefix}-input-lz4`;
    await cleanup.createTopics([input, inputLz4], PARTITIONS);
    for (const [topic, codec] of [[input, kafkajs.CompressionTypes.None], [inputLz4, kafkajs.CompressionTypes.LZ4]] as const) {
      const producing = Date.now();
      await withProducer({ prefix }, (producer) => produce(producer, topic, lines, codec));
      console.log(`input: ${fmt(nLines)} lines of ${WORDS_PER_LINE} words (${expected.size} distinct, vocabulary ${VOCABULARY}) in topic ${topic} (${PARTITIONS} partitions${codec === kafkajs.CompressionTypes.LZ4 ? ', lz4' : ''}), produced in ${((Date.now() - producing) / 1000).toFixed(1)} s`);
    }
    const b: Bench = { prefix, cleanup, tmp, input, inputLz4, lines: nLines, expected };

    const duality = (r: WordCountRun): Contender => startDuality(r, cleanup);
    // The profiled run is one of its own: V8's sampling profiler slows what it samples, so the
    // measured runs go without it.
    const profileDir = join(tmp, 'cpu-prof');
    const profiled = async (guarantee: Guarantee = 'at_least_once'): Promise<ProfileSummary> => {
      await throughput(b, `duality wordcount ${GUARANTEE_LABEL[guarantee]} (under --cpu-prof)`, 'duality-prof', guarantee, (r) => startDuality(r, cleanup, profileDir));
      return readProfile(profileDir);
    };
    const dualityRun = (guarantee: Guarantee, slug: string): Promise<Throughput> => throughput(b, `duality wordcount ${GUARANTEE_LABEL[guarantee]}`, slug, guarantee, duality);
    const LZ4_LABEL = 'at-least-once, lz4 in and out (commit 1000 ms)';
    if (args.includes('--duality-only')) {
      const guarantee: Guarantee = args.includes('--exactly-once') ? 'exactly_once' : 'at_least_once';
      if (profile) await profiled(guarantee);
      else if (args.includes('--lz4')) await throughput(b, `duality wordcount ${LZ4_LABEL}`, 'duality-only', 'at_least_once', duality, true);
      else await dualityRun(guarantee, 'duality-only');
      return;
    }
    const kstreams = (r: WordCountRun): Contender => startKafkaStreams(r, COMMIT_MS[r.guarantee], cleanup);
    const ceiling = await kafkajsCeiling(b);
    const ksAlo = await throughput(b, 'kafka-streams wordcount at-least-once (commit 1000 ms)', 'ks-alo', 'at_least_once', kstreams);
    const dAlo = await dualityRun('at_least_once', 'duality-alo');
    const ksLz4 = await throughput(b, `kafka-streams wordcount ${LZ4_LABEL}`, 'ks-lz4', 'at_least_once', kstreams, true);
    const dLz4 = await throughput(b, `duality wordcount ${LZ4_LABEL}`, 'duality-lz4', 'at_least_once', duality, true);
    const ksEos = await throughput(b, 'kafka-streams wordcount exactly_once_v2 (commit 100 ms)', 'ks-eos', 'exactly_once', kstreams);
    const dEos = await dualityRun('exactly_once', 'duality-eos');
    const dLat = await latency(b, 'duality at-least-once', 'lat-duality', latencySeconds, warmup, duality);
    const ksLat = await latency(b, 'kafka-streams at-least-once', 'lat-ks', latencySeconds, warmup, kstreams);
    const prof = profile ? await profiled() : undefined;

    const ratios = [
      `ratio duality/kafka-streams wordcount throughput: ${ratio(dAlo.linesPerSec, ksAlo.linesPerSec)}`,
      `ratio duality/kafkajs-consume: ${ratio(dAlo.linesPerSec, ceiling.linesPerSec)}`,
      // The same ceiling for the peer: what a WordCount, with its repartition hop, gets of a bare read.
      `ratio kafka-streams/kafkajs-consume: ${ratio(ksAlo.linesPerSec, ceiling.linesPerSec)}`,
      `ratio duality/kafka-streams wordcount throughput exactly-once: ${ratio(dEos.linesPerSec, ksEos.linesPerSec)}`,
      // What lz4 in and out costs each (below 1: slower than uncompressed), and Duality beside Kafka Streams with it.
      `ratio duality lz4/uncompressed: ${ratio(dLz4.linesPerSec, dAlo.linesPerSec)}`,
      `ratio kafka-streams lz4/uncompressed: ${ratio(ksLz4.linesPerSec, ksAlo.linesPerSec)}`,
      `ratio duality/kafka-streams wordcount throughput lz4: ${ratio(dLz4.linesPerSec, ksLz4.linesPerSec)}`,
      // Above 1: Duality spends less CPU (all threads of its process) on the same input.
      ...(dAlo.cpuSeconds !== undefined && ksAlo.cpuSeconds !== undefined ? [`ratio kafka-streams/duality cpu seconds at-least-once: ${ratio(ksAlo.cpuSeconds, dAlo.cpuSeconds)}`] : []),
      `ratio duality/kafka-streams wordcount throughput with start-up: ${ratio(ksAlo.withStartup, dAlo.withStartup)}`,
      `ratio duality/kafka-streams p99 latency: ${ratio(dLat.p99, ksLat.p99)}`,
    ];
    const a = dAlo.linesPerSec / ksAlo.linesPerSec;
    const c = dAlo.linesPerSec / ceiling.linesPerSec;
    const targets = `targets: >= 1.0 of Kafka Streams ${a >= 1 ? 'met' : 'NOT met'}; >= 0.7 of the kafkajs ceiling ${c >= 0.7 ? 'met' : 'NOT met'}`;
    for (const l of [...ratios, targets]) console.log(l);

    if (quick) console.log('(--quick: docs/benchmarks.md left as it is; a full run writes it)');
    else {
      const table = (rows: readonly Throughput[]): string[] => [
        '| contender | lines/s | words/s | seconds | with start-up | cpu s (cores) | output records | commits |',
        '|---|---:|---:|---:|---:|---:|---:|---:|',
        ...rows.map((t) => `| ${t.label} | ${fmt(t.linesPerSec)} | ${fmt(t.linesPerSec * WORDS_PER_LINE)} | ${t.seconds.toFixed(2)} | ${t.withStartup.toFixed(2)} | ${t.cpuSeconds === undefined ? '' : `${t.cpuSeconds.toFixed(1)} (${(t.cpuSeconds / t.seconds).toFixed(2)})`} | ${t.outputRecords === undefined ? '' : fmt(t.outputRecords)} | ${t.commits === undefined ? '' : fmt(t.commits)} |`),
      ];
      writeSection(join(ROOT, 'docs/benchmarks.md'), [
        '## WordCount on Kafka: the figures',
        '',
        ...environmentLines(env).map((l) => `- ${l}`),
        `- input: ${fmt(nLines)} lines of ${WORDS_PER_LINE} words, ${expected.size} distinct, one topic of ${PARTITIONS} partitions, produced once and read by every contender; the lz4 runs read the same lines from a second topic written with lz4, and write everything with lz4`,
        '',
        '### Throughput',
        '',
        ...table([ceiling, dAlo, ksAlo, dLz4, ksLz4, dEos, ksEos]),
        '',
        '### End-to-end latency',
        '',
        `${fmt(LATENCY_RATE)} lines/s for ${latencySeconds} s; the first ${warmup} s are not counted.`,
        '',
        '| contender | p50 | p99 | max | output records |',
        '|---|---:|---:|---:|---:|',
        ...[dLat, ksLat].map((l) => `| ${l.label} | ${l.p50} ms | ${l.p99} ms | ${l.max} ms | ${l.samples} |`),
        '',
        ...(dAlo.linesPerSec < LATENCY_RATE
          ? [`Duality's at-least-once throughput above (${fmt(dAlo.linesPerSec)} lines/s) is below this input rate, so its latency is the backlog that grows during the run, not a steady state.`, '']
          : []),
        '```',
        ...ratios,
        targets,
        '```',
        ...(prof ? ['', '### Where Duality spends its CPU (at-least-once, `node --cpu-prof`)', '', ...profileMarkdown(prof)] : []),
      ]);
      console.log('written: docs/benchmarks.md');
    }
  });
}
