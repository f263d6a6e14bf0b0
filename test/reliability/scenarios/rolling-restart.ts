import { join } from 'node:path';
import type { Instance } from '../instance.js';
import { wholeNumbers } from '../options.js';
import { UsageError } from '../scenarios.js';
import { outcome, type Scenario, type ScenarioContext } from '../scenario.js';
import { expectedCounts, settle, sleep, startInstance, TABLE, wordcountApp, writeAtRate } from '../wordcount.js';
import { prng } from '../../seeded.js';
import { BROKERS_OPTION, brokersFor, connectLog as connect } from '../kafka.js';

/** What the reading client saw while the instances were restarted. */
interface Reads {
  total: number;
  unavailable: number;
  /** Answers other than 200, 404 and 503, and refused connections (an instance going away). */
  failed: number;
  /** A value lower than one already seen for that key, or a 404 after a value. */
  wrong: number;
  examples: string[];
}

/**
 * A client reading random keys through random instances in a loop, as users would while an
 * operator rolls a deployment: every answer must be one the key could have now, never going back.
 */
function readLoop(urls: () => string[], keys: number, random: () => number): { readonly reads: Reads; stop(): Promise<void> } {
  const reads: Reads = { total: 0, unavailable: 0, failed: 0, wrong: 0, examples: [] };
  const highest = new Map<string, number>();
  let stopping = false;
  const wrong = (what: string): void => {
    reads.wrong++;
    if (reads.examples.length < 10) reads.examples.push(what);
  };
  const loop = (async () => {
    while (!stopping) {
      const choices = urls();
      if (choices.length === 0) {
        await sleep(50);
        continue;
      }
      const url = choices[Math.floor(random() * choices.length)]!;
      const key = `w${Math.floor(random() * keys)}`;
      reads.total++;
      const r = await fetch(`${url}/tables/${TABLE}/keys/${key}`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      const seen = highest.get(key);
      if (r === undefined) reads.failed++;
      else if (r.status === 503) reads.unavailable++;
      else if (r.status === 404) {
        if (seen !== undefined) wrong(`${key} via ${url}: 404 after ${seen}`);
      } else if (r.status === 200) {
        const value = ((await r.json()) as { value: number }).value;
        if (seen !== undefined && value < seen) wrong(`${key} via ${url}: ${value} after ${seen}`);
        highest.set(key, Math.max(value, seen ?? 0));
        continue;
      } else reads.failed++;
      await r?.body?.cancel();
    }
  })();
  return {
    reads,
    async stop() {
      stopping = true;
      await loop;
    },
  };
}

export const scenario: Scenario = {
  name: 'rolling-restart',
  order: 20,
  what: 'wordcount in 3 instances under load (exactly_once by default), restarted one at a time (SIGTERM, then the next once the restarted one is ready) while a client reads keys through any instance; lost records and wrong answers must be 0, the share of 503s is printed',
  mirrors: "a Kubernetes rolling update of a StatefulSet; Kafka Streams' system test StreamsRollingUpgradeTest / the rolling bounce of StreamsUpgradeTest (bounce one instance at a time under load, verify the output), with interactive queries read during it",
  options: {
    brokers: BROKERS_OPTION,
    records: { default: '30000', help: 'input lines (three words each)' },
    rate: { default: '500', help: 'input lines per second; the restarts happen while the input is written' },
    keys: { default: '200', help: 'distinct words' },
    instances: { default: '3', help: '`duality run` processes' },
    partitions: { default: '6', help: 'partitions of the input and output topics' },
    rounds: { default: '1', help: 'times every instance is restarted' },
    guarantee: { default: 'exactly_once', help: 'exactly_once, or at_least_once (where records processed twice at a rebalance are counted as duplicated, not as wrong answers)' },
    seed: { default: '1', help: 'seed of the keys and instances the client reads' },
    'settle-seconds': { default: '300', help: 'longest wait, after the input is written, for the application to commit all of it' },
  },
  async run({ options, workDir, say }: ScenarioContext) {
    const began = Date.now();
    const { records, rate, keys, instances: count, partitions, rounds, seed, 'settle-seconds': settleSeconds } = wholeNumbers(
      options,
      ['records', 'rate', 'keys', 'instances', 'partitions', 'rounds', 'seed', 'settle-seconds'],
      ['seed'],
    );
    const guarantee = options.guarantee!;
    if (guarantee !== 'exactly_once' && guarantee !== 'at_least_once') throw new UsageError(`--guarantee must be exactly_once or at_least_once, not "${guarantee}"`);
    const brokers = await brokersFor(options.brokers!, say);
    const log = await connect(brokers);
    const instances: { dir: string; run: Instance; url?: string }[] = [];
    let reader: ReturnType<typeof readLoop> | undefined;
    try {
      const app = await wordcountApp(log, workDir, `rel-rolling-${Date.now().toString(36)}`, guarantee, partitions);
      for (let i = 0; i < count; i++) {
        const dir = join(workDir, `state-${i}`);
        instances.push({ dir, run: startInstance(app, brokers, dir) });
      }
      await Promise.all(instances.map(async (i) => (i.url = await i.run.ready())));
      say(`${count} instances ready; writing ${records} lines at ${rate}/s while restarting each in turn, ${rounds} round(s)`);
      const writer = writeAtRate(log, app.input, records, rate, keys);
      reader = readLoop(() => instances.flatMap((i) => (i.url === undefined ? [] : [i.url])), keys, prng(seed));
      const readySeconds: number[] = [];
      // The restarts begin once there is state to hand over, and the input goes on meanwhile.
      await sleep(Math.min(5000, (records / rate) * 250));
      for (let round = 0; round < rounds; round++) {
        for (const [n, i] of instances.entries()) {
          i.url = undefined;
          await i.run.stop('SIGTERM', 60_000);
          const restarted = Date.now();
          i.run = startInstance(app, brokers, i.dir);
          i.url = await i.run.ready();
          readySeconds.push((Date.now() - restarted) / 1000);
          say(`instance ${n} restarted, ready in ${readySeconds.at(-1)!.toFixed(1)} s (${writer.written.length} lines written, ${reader.reads.total} reads)`);
        }
      }
      const lines = await writer.done;
      say(`${lines.length} lines written; waiting for the application to commit all of them`);
      const settled = await settle(log, app, instances, settleSeconds);
      await reader.stop();
      const { reads } = reader;

      // The final truth: every word's count through the API against the input's. Under
      // at_least_once a count above it is a record processed twice, which that guarantee allows.
      const expected = expectedCounts(lines);
      let lost = 0;
      let duplicated = 0;
      for (const [word, n] of expected) {
        const r = await fetch(`${instances[0]!.url}/tables/${TABLE}/keys/${word}`);
        const value = r.status === 200 ? ((await r.json()) as { value: number }).value : 0;
        lost += Math.max(0, n - value);
        duplicated += Math.max(0, value - n);
        if (value < n || (value > n && guarantee === 'exactly_once')) {
          reads.wrong++;
          if (reads.examples.length < 10) reads.examples.push(`${word} at the end: ${value} (status ${r.status}), the input makes ${n}`);
        }
      }
      const figures = {
        lost,
        wrong: reads.wrong,
        duplicated,
        reads: reads.total,
        unavailable_pct: ((100 * reads.unavailable) / Math.max(1, reads.total)).toFixed(2),
        failed_reads: reads.failed,
        restarts: readySeconds.length,
        max_ready_s: Math.max(...readySeconds).toFixed(1),
        records: lines.length,
        seconds: Math.round((Date.now() - began) / 1000),
      };
      return outcome(figures, [
        [settled === undefined, `the application did not commit all its input within ${settleSeconds} s: ${settled}`],
        [lost === 0, `${lost} records lost`],
        ...(guarantee === 'exactly_once' ? [[duplicated === 0, `${duplicated} records counted twice under exactly_once`] as [boolean, string]] : []),
        [reads.wrong === 0, `${reads.wrong} wrong answers: ${reads.examples.join('; ')}`],
      ]);
    } finally {
      await reader?.stop();
      await Promise.all(instances.map((i) => i.run.stop('SIGTERM').catch(() => i.run.stop('SIGKILL'))));
      await log.close();
    }
  },
};
