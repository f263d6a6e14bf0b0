/**
 * `npm run bench -- windows-joins [--quick]`: Duality against Kafka Streams (bench/kstreams/'s
 * WindowsJoins) on the Kafka broker (127.0.0.1:9092, or KAFKA_BROKERS), on the same pre-produced
 * input, at-least-once with a 1000 ms commit interval, one stream thread for Kafka Streams
 * (bench/kafka/windows-joins-cases.ts has the cases):
 *
 * - throughput of a tumbling windowed count, a stream-table join and a stream-stream join, each
 *   from ready until the output holds the final value of every key (computed while generating
 *   the input), as kafka-wordcount measures it;
 * - the store size of a windowed count with `retention: 1h` fed a simulated day of event time:
 *   the state directories' size (du) at the simulated midday and at the end of the day, which
 *   stays bounded while the day goes on.
 *
 * `--only CASE` runs one case (window-count, stream-table, stream-stream, or day: the store
 * size). A full run (not `--quick`, not `--only`) writes its section of docs/benchmarks.md. Topics, groups and temp
 * dirs are removed afterwards, on failure and on Ctrl-C too.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import { Cleanup, produce, withProducer } from './kafka/cluster.js';
import { kafkaBench, ROOT, startDuality, startKafkaStreams, type Contender, type WordCountRun } from './kafka/contenders.js';
import { OutputWatcher } from './kafka/output-watcher.js';
import { environmentLines, writeSection } from './kafka/report.js';
import { DAY, decodeWindowCount, dualityYaml, HOUR, streamStreamCase, streamTableCase, T0, windowCountCase, windowEvents, type Case } from './kafka/windows-joins-cases.js';

const PARTITIONS = 4;
const COMMIT_MS = 1000;
const CONTENDERS = ['kafka-streams', 'duality'] as const;
type Who = (typeof CONTENDERS)[number];

interface Throughput {
  readonly who: Who;
  readonly seconds: number;
  readonly withStartup: number;
  readonly perSec: number;
  readonly outputRecords: number;
  /** Why it never reached the final output, when it did not (the rates are then NaN). */
  readonly failed?: string;
}

interface StoreSize {
  readonly who: Who;
  /** The state directory after each simulated hour. */
  readonly hourly: readonly ReturnType<typeof du>[];
}

interface Bench {
  readonly prefix: string;
  readonly cleanup: Cleanup;
  readonly tmp: string;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (kb: number): string => (kb / 1024).toFixed(1);

/**
 * The state directory's size: kilobytes on disk (`du -sk`: blocks, which counts what RocksDB
 * preallocates), and bytes in its files, of which in write-ahead logs (`NNNNNN.log`: LevelDB's
 * grows with every put and delete until its 4 MB write buffer is flushed into a table).
 */
function du(dir: string): { kb: number; bytes: number; walBytes: number } {
  const out = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`du -sk ${dir} failed: ${out.stderr}`);
  const files = spawnSync('find', [dir, '-type', 'f', '-printf', '%s %f\\n'], { encoding: 'utf8' }).stdout.split('\n');
  const sizes = files.filter((l) => l !== '').map((l) => l.split(' ') as [string, string]);
  const sum = (of: typeof sizes): number => of.reduce((n, [size]) => n + Number(size), 0);
  return { kb: Number(out.stdout.split('\t')[0]), bytes: sum(sizes), walBytes: sum(sizes.filter(([, name]) => /^\d+\.log$/.test(name))) };
}

async function produceAll(b: Bench, inputs: ReadonlyMap<string, readonly Message[]>): Promise<void> {
  for (const [topic, messages] of inputs) await withProducer(b, (p) => produce(p, topic, messages));
}

/** The contender's run: its names, output topic and temp dir, all starting with `${prefix}-${slug}`. */
async function prepare(b: Bench, slug: string, input: string): Promise<WordCountRun> {
  const app = `${b.prefix}-${slug}`;
  const output = `${app}-output`;
  await b.cleanup.createTopics([output], PARTITIONS);
  const stateDir = join(b.tmp, slug);
  mkdirSync(stateDir);
  return { app, input, output, guarantee: 'at_least_once', stateDir };
}

function start(b: Bench, who: Who, run: WordCountRun, name: Case['name'], second?: string, retention?: { yaml: string; ms: number }): Contender {
  if (who === 'duality') return startDuality(run, b.cleanup, undefined, dualityYaml(name, run.app, run.input, run.output, second, retention?.yaml));
  const arg = retention ? String(retention.ms) : second;
  return startKafkaStreams(run, COMMIT_MS, b.cleanup, { main: 'WindowsJoins', args: [name, ...(arg === undefined ? [] : [arg])] });
}

/** Stops the contender and the watcher and drops the contender's topics and groups. */
async function finish(b: Bench, slug: string, c: Contender, watchers: readonly OutputWatcher[]): Promise<void> {
  const code = await c.proc.stop();
  for (const w of watchers) await w.close();
  // A JVM stopped by SIGTERM exits with 143 after its shutdown hook ran (Runner.java closes there).
  if (code !== 0 && !(c.proc.label === 'kafka-streams' && code === 143)) console.error(`  (${c.proc.label} exited with status ${code} when stopped: ${c.proc.stderr.slice(-3).join(' | ')})`);
  await b.cleanup.dropBrokerState(`-${slug}`);
}

/** One contender over a case's input, from ready until its output holds every final value. */
async function throughput(b: Bench, k: Case, who: Who, topics: readonly string[]): Promise<Throughput> {
  const slug = `${k.name}-${who}`;
  const run = await prepare(b, slug, topics[0]!);
  const watcher = await OutputWatcher.start(run.output, `${run.app}-watch`, k.expected, k.decode);
  const launched = Date.now();
  const c = start(b, who, run, k.name, topics[1]);
  try {
    const ready = await c.ready;
    const done = await watcher.untilDone(() => c.proc.failure());
    const seconds = (done - ready) / 1000;
    const t = { who, seconds, withStartup: (done - launched) / 1000, perSec: k.records / seconds, outputRecords: watcher.records };
    console.log(`${who} ${k.name}: ${fmt(t.perSec)} records/s (${seconds.toFixed(2)} s; ${t.withStartup.toFixed(2)} s with start-up; ${fmt(t.outputRecords)} output records)`);
    return t;
  } catch (e) {
    // The other cases still run: a contender that never reaches the expected output is a finding.
    const failed = (e as Error).message.split('\n')[0]!;
    console.log(`${who} ${k.name}: did not finish: ${failed}`);
    return { who, seconds: Number.NaN, withStartup: Number.NaN, perSec: Number.NaN, outputRecords: watcher.records, failed };
  } finally {
    await finish(b, slug, c, [watcher]);
  }
}

/**
 * The windowed count with `retention: 1h` over a simulated day of `events` events on 100 keys,
 * produced into the contender's own input an hour of event time at a time, each hour once the
 * output holds the previous one's counts: the day compressed into about a second of wall time an
 * hour, no less, because an hour of event time within one commit interval would expire windows
 * before their updates leave the record cache (Duality then never sends them; Kafka Streams
 * does). The state directory's size at the simulated midday and at the end of the day.
 */
async function storeSize(b: Bench, who: Who, events: number): Promise<StoreSize> {
  const slug = `day-${who}`;
  const input = `${b.prefix}-${slug}-input`;
  await b.cleanup.createTopics([input], PARTITIONS);
  const { messages, counts } = windowEvents(events, 100, DAY / events, 0);
  const run = await prepare(b, slug, input);
  const watcher = await OutputWatcher.start(run.output, `${run.app}-watch`, counts, decodeWindowCount);
  const c = start(b, who, run, 'window-count', undefined, { yaml: '1h', ms: HOUR });
  // Duality keeps its stores under `<stateDir>/state`; Kafka Streams has the whole stateDir.
  const dir = who === 'duality' ? join(run.stateDir, 'state') : run.stateDir;
  const sizes: ReturnType<typeof du>[] = [];
  try {
    await c.ready;
    await withProducer(b, async (p) => {
      for (let h = 0; h < 24; h++) {
        const [from, to] = [T0 + h * HOUR, T0 + (h + 1) * HOUR];
        await produce(p, input, messages.filter((m) => Number(m.timestamp) >= from && Number(m.timestamp) < to));
        await watcher.untilDone(() => c.proc.failure(), 120_000, [...counts.keys()].filter((w) => Number(w.split('@')[1]) >= from && Number(w.split('@')[1]) < to));
        sizes.push(du(dir));
      }
    });
    const mbs = (n: number): string => mb(n / 1024);
    console.log(`${who} state dir (retention 1h), simulated hour by hour, du MB: ${sizes.map((z) => mb(z.kb)).join(' ')}`);
    console.log(`${who} state dir, MB in files (of which write-ahead logs): ${sizes.map((z) => `${mbs(z.bytes)} (${mbs(z.walBytes)})`).join(' ')}`);
    return { who, hourly: sizes };
  } finally {
    await finish(b, slug, c, [watcher]);
  }
}

const ratio = (a: number, b: number): string => (a / b).toFixed(2);

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  // `--only CASE` (window-count, stream-table, stream-stream or day): that case alone, written nowhere.
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const events = quick ? 100_000 : 1_000_000;
  const dayEvents = quick ? 86_400 : 288_000;
  return kafkaBench('wj', async ({ prefix, cleanup, tmp, env }) => {
    const b: Bench = { prefix, cleanup, tmp };

    const topic = (name: string): string => `${prefix}-in-${name}`;
    const cases: [Case, string[]][] = [
      [windowCountCase(topic('events'), events), [topic('events')]],
      [streamTableCase(topic('table'), topic('clicks'), events), [topic('clicks'), topic('table')]],
      [streamStreamCase(topic('left'), topic('right'), events / 2), [topic('left'), topic('right')]],
    ];
    for (const [k] of cases.filter(([k]) => !only || only === k.name)) {
      const producing = Date.now();
      await cleanup.createTopics([...k.inputs.keys()], PARTITIONS);
      await produceAll(b, k.inputs);
      console.log(`input ${k.name}: ${fmt(k.records)} records to process, ${k.expected.size} keys of output (${PARTITIONS} partitions), produced in ${((Date.now() - producing) / 1000).toFixed(1)} s`);
    }

    const results: { k: Case; ks: Throughput; duality: Throughput }[] = [];
    for (const [k, topics] of cases.filter(([k]) => !only || only === k.name)) {
      const ks = await throughput(b, k, 'kafka-streams', topics);
      const duality = await throughput(b, k, 'duality', topics);
      results.push({ k, ks, duality });
    }
    if (only && only !== 'day') {
      for (const { k, ks, duality } of results) console.log(`ratio duality/kafka-streams ${k.name}: ${ratio(duality.perSec, ks.perSec)}`);
      return;
    }
    const [ksDay, dDay] = [await storeSize(b, 'kafka-streams', dayEvents), await storeSize(b, 'duality', dayEvents)];

    if (only === 'day') results.length = 0;
    const ratios = results.map(({ k, ks, duality }) => {
      const r = duality.perSec / ks.perSec;
      const failed = [ks, duality].find((t) => t.failed !== undefined);
      if (failed) return `ratio duality/kafka-streams ${k.name}: n/a (target >= 1.0 NOT met: ${failed.who} did not finish: ${failed.failed})`;
      return `ratio duality/kafka-streams ${k.name}: ${r.toFixed(2)} (target >= 1.0 ${r >= 1 ? 'met' : 'NOT met'})`;
    });
    const at = (z: StoreSize, h: number): string => `${mb(z.hourly[h]!.kb)} MB (${mb((z.hourly[h]!.bytes - z.hourly[h]!.walBytes) / 1024)} MB without write-ahead logs)`;
    const sizes = [
      `store size after a simulated day (retention 1h): duality ${mb(dDay.hourly[23]!.kb)} MB, kafka-streams ${mb(ksDay.hourly[23]!.kb)} MB (du of the state dirs)`,
      `store size at the simulated midday / at the end: duality ${at(dDay, 11)} / ${at(dDay, 23)}; kafka-streams ${at(ksDay, 11)} / ${at(ksDay, 23)}`,
    ];
    for (const l of [...ratios, ...sizes]) console.log(l);

    if (quick || only) console.log('(--quick or --only: docs/benchmarks.md left as it is; a full run writes it)');
    else {
      writeSection(
        join(ROOT, 'docs/benchmarks.md'),
        [
          '## Windows and joins on Kafka: the figures',
          '',
          ...environmentLines(env).map((l) => `- ${l}`),
          `- at-least-once, commit interval ${COMMIT_MS} ms for both, one stream thread for Kafka Streams; inputs of ${PARTITIONS} partitions, produced once and read by both`,
          '',
          '| case | contender | records/s | seconds | with start-up | output records |',
          '|---|---|---:|---:|---:|---:|',
          ...results.flatMap(({ k, ks, duality }) =>
            [ks, duality].map((t) => `| ${k.label}, ${fmt(k.records)} records | ${t.who} | ${t.failed ? 'did not finish' : fmt(t.perSec)} | ${t.seconds.toFixed(2)} | ${t.withStartup.toFixed(2)} | ${fmt(t.outputRecords)} |`),
          ),
          '',
          `Store size: the windowed count with \`retention: 1h\` (Kafka Streams: \`Materialized.withRetention(1h)\`) fed a simulated day, ${fmt(dayEvents)} events on 100 keys, an hour of event time at a time (the next once the output holds the hour's counts); du of each state directory at the simulated midday and at the end.`,
          '',
          '| contender | at 6 h | at simulated midday | at 18 h | at the end of the day |',
          '|---|---:|---:|---:|---:|',
          ...[dDay, ksDay].map((z) => `| ${z.who}: du | ${[5, 11, 17, 23].map((h) => `${mb(z.hourly[h]!.kb)} MB`).join(' | ')} |`),
          ...[dDay, ksDay].map((z) => `| ${z.who}: bytes in files, without write-ahead logs | ${[5, 11, 17, 23].map((h) => `${mb((z.hourly[h]!.bytes - z.hourly[h]!.walBytes) / 1024)} MB`).join(' | ')} |`),
          '',
          '```',
          ...ratios,
          ...sizes,
          '```',
        ],
        'windows-joins',
      );
      console.log('written: docs/benchmarks.md');
    }
  });
}
