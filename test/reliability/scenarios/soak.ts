import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../root.js';
import { prng } from '../../seeded.js';
import { Instance } from '../instance.js';
import { brokersFor, compiled, connectLog, createTopic, runId, untilCaughtUp } from '../kafka.js';
import { metricSum, rssMb, slope } from '../measure.js';
import { outcome, type Scenario } from '../scenario.js';
import { UsageError } from '../scenarios.js';

const VOCABULARY = 2000;
const WORDS_PER_LINE = 5;

interface Sample {
  readonly minute: number;
  readonly rssMb: number;
  readonly heapMb: number;
  /** Memory of Buffers and other objects outside the JS heap: with the heap, what RSS is made of besides code and LevelDB. */
  readonly externalMb: number;
  readonly lag: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const scenario: Scenario = {
  name: 'soak',
  order: 60,
  what: 'wordcount on Kafka for minutes at a steady rate while a loop queries its table: RSS slope after a warm-up, heap, lag that drains to 0, counts equal to a recomputation',
  mirrors: "Kafka Streams' soak tests (the long-running system tests of streams_soak / Confluent's soak clusters): steady load, memory and lag watched over time",
  options: {
    brokers: { default: '', help: "Kafka brokers; '' starts the suite's own broker" },
    minutes: { default: '10', help: 'how long the input is written; at least 10: memory still fills for the first minutes (a 5-minute run measured 1.29 MB/min, a 25-minute one 0.05)' },
    rate: { default: '5000', help: 'input lines per second (5 words each)' },
    partitions: { default: '4', help: 'partitions of the input topic' },
    guarantee: { default: 'at_least_once', help: 'processing.guarantee' },
    'sample-seconds': { default: '10', help: 'how often RSS, heap and lag are sampled' },
    'max-slope-mb-per-min': { default: '1', help: 'the RSS slope after the warm-up must stay at or under this' },
    seed: { default: '18', help: 'the seed of the input' },
  },

  async run({ options, workDir, say }) {
    // A shorter run ends while the allocator, LevelDB's memtables and caches are still filling: its slope says nothing of a leak.
    if (!(Number(options.minutes) >= 10)) throw new UsageError(`--minutes must be 10 or more, not "${options.minutes}": a shorter run cannot tell a leak from memory still filling`);
    const brokers = await brokersFor(options.brokers!, say);
    const name = `soak-${runId()}`;
    const [inputTopic, outputTopic] = [`${name}-lines`, `${name}-counts`];
    const file = join(workDir, 'soak.yaml');
    const text = readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')
      .replace(/^name: .*$/m, `name: ${name}\nprocessing:\n  guarantee: ${options.guarantee}`)
      .replace('TextLinesTopic', inputTopic)
      .replace('WordsWithCountsTopic', outputTopic);
    writeFileSync(file, text);
    const graph = compiled(file, text);

    const minutes = Number(options.minutes);
    const rate = Number(options.rate);
    const sampleMs = Number(options['sample-seconds']) * 1000;
    const random = prng(Number(options.seed));
    const expected = new Map<string, number>();
    const line = (): string => {
      const words: string[] = [];
      for (let i = 0; i < WORDS_PER_LINE; i++) {
        // Skewed, as words are: low numbers come far more often.
        const w = `w${Math.floor(VOCABULARY * random() ** 3)}`;
        words.push(w);
        expected.set(w, (expected.get(w) ?? 0) + 1);
      }
      return words.join(' ');
    };

    const log = await connectLog(brokers);
    let instance: Instance | undefined;
    try {
      await createTopic(brokers, inputTopic, Number(options.partitions));
      instance = new Instance([file, '--brokers', brokers, '--port', '0', '--state-dir', join(workDir, 'state')]);
      const pid = instance.child.pid!;
      const url = await instance.ready();
      say(`running ${file} at ${url}; writing ${rate} lines/s for ${minutes} min`);
      const began = Date.now();
      const end = began + minutes * 60_000;

      // The writer: every 100 ms what is due by then, so a slow flush is caught up on.
      let written = 0;
      const writer = (async () => {
        const producer = log.producer({ offsets: false });
        try {
          for (let now = Date.now(); now < end; now = Date.now()) {
            const due = Math.floor(((now - began) / 1000) * rate) - written;
            if (due > 0) {
              producer.send(Array.from({ length: due }, (_, i) => ({ topic: inputTopic, key: Buffer.from(String(written + i)), value: Buffer.from(line()), timestamp: now })));
              await producer.flush();
              written += due;
            }
            await sleep(100);
          }
        } finally {
          await producer.close();
        }
      })();

      // The query loop: a word a time, as a dashboard would, until the end.
      let queries = 0;
      const failedQueries: string[] = [];
      let querying = true;
      const queryLoop = (async () => {
        while (querying) {
          const word = `w${Math.floor(VOCABULARY * random() ** 3)}`;
          const res = await fetch(`${url}/tables/word-counts/keys/${word}`).catch((e: Error) => e);
          queries++;
          if (res instanceof Error) failedQueries.push(`${word}: ${res.message}`);
          else {
            await res.arrayBuffer();
            if (res.status !== 200 && res.status !== 404) failedQueries.push(`${word}: ${res.status}`);
          }
          await sleep(50);
        }
      })();

      const samples: Sample[] = [];
      const sample = async (): Promise<Sample> => {
        const metrics = await (await fetch(`${url}/metrics`)).text();
        const s = {
          minute: (Date.now() - began) / 60_000,
          rssMb: rssMb(pid) ?? NaN,
          heapMb: (metricSum(metrics, 'nodejs_heap_size_used_bytes') ?? NaN) / 1e6,
          externalMb: (metricSum(metrics, 'nodejs_external_memory_bytes') ?? NaN) / 1e6,
          // NaN when /metrics has no lag at all (no partition assigned): it then fails the drain check.
          lag: metricSum(metrics, 'duality_consumer_lag_records') ?? NaN,
        };
        samples.push(s);
        say(`t=${s.minute.toFixed(1)} min written=${written} rss=${s.rssMb.toFixed(0)} MB heap=${s.heapMb.toFixed(0)} MB external=${s.externalMb.toFixed(0)} MB lag=${s.lag} queries=${queries}`);
        return s;
      };
      while (Date.now() < end) {
        await sleep(Math.min(sampleMs, Math.max(0, end - Date.now())));
        if (!instance.running) throw new Error(`duality run exited (${instance.child.exitCode ?? instance.child.signalCode}):\n${instance.stderr.slice(-4000)}`);
        await sample();
      }
      await writer;
      const drainBegan = Date.now();
      await untilCaughtUp(log, graph, instance, 600_000);
      const drainSeconds = (Date.now() - drainBegan) / 1000;
      querying = false;
      await queryLoop;
      // Lag as the instance reports it once its consumer has fetched past the end.
      let final = await sample();
      for (let i = 0; i < 20 && final.lag !== 0; i++) {
        await sleep(1000);
        final = await sample();
      }

      // Every word's count, through the HTTP API, against the input.
      const wrongCounts: string[] = [];
      for (const [word, n] of expected) {
        const body = (await (await fetch(`${url}/tables/word-counts/keys/${word}`)).json()) as { value?: number };
        if (body.value !== n) wrongCounts.push(`${word}: ${JSON.stringify(body)}, expected ${n}`);
      }

      // The RSS slope after the warm-up: 2 minutes, or the first fifth of a longer run.
      const warmUp = Math.max(2, minutes / 5);
      const steady = samples.filter((s) => s.minute >= warmUp && s.minute <= minutes).map((s) => ({ x: s.minute, y: s.rssMb }));
      const rssSlope = slope(steady);
      const maxSlope = Number(options['max-slope-mb-per-min']);
      const exit = await instance.stop('SIGTERM');
      const during = samples.filter((s) => s.minute <= minutes);
      return outcome(
        {
          minutes,
          rate,
          lines: written,
          achieved_rate: Math.round(written / (minutes * 60)),
          queries,
          failed_queries: failedQueries.length,
          rss_start_mb: (during[0]?.rssMb ?? NaN).toFixed(0),
          rss_peak_mb: Math.max(...samples.map((s) => s.rssMb)).toFixed(0),
          rss_end_mb: (during.at(-1)?.rssMb ?? NaN).toFixed(0),
          rss_slope_mb_per_min: rssSlope.toFixed(2),
          heap_peak_mb: Math.max(...samples.map((s) => s.heapMb)).toFixed(0),
          heap_slope_mb_per_min: slope(samples.filter((s) => s.minute >= warmUp && s.minute <= minutes).map((s) => ({ x: s.minute, y: s.heapMb }))).toFixed(2),
          max_lag: Math.max(...samples.map((s) => s.lag)),
          final_lag: final.lag,
          drain_seconds: drainSeconds.toFixed(1),
          wrong_counts: wrongCounts.length,
          exit: String(exit),
        },
        [
          [steady.length >= 3, `only ${steady.length} samples after the warm-up of ${warmUp} min: run longer or sample more often`],
          [rssSlope <= maxSlope, `RSS grew ${rssSlope.toFixed(2)} MB/min after the warm-up, more than ${maxSlope}`],
          [final.lag === 0, `the lag did not drain: ${final.lag} records at the end`],
          [failedQueries.length === 0, `queries failed: ${failedQueries.slice(0, 5).join('; ')}`],
          [wrongCounts.length === 0, `wrong counts: ${wrongCounts.slice(0, 5).join('; ')}`],
          [exit === 0, `duality run exited ${exit} after SIGTERM:\n${instance.stderr.slice(-3000)}`],
        ],
      );
    } finally {
      if (instance?.running) await instance.stop('SIGKILL');
      await log.close();
    }
  },
};
