/**
 * eos-kill and alos-kill: wordcount on Kafka in several `duality run` processes, each killed with
 * SIGKILL at seeded random moments while input streams in and started again on its state
 * directory; once everything is processed, the output read read_committed against the input.
 */
import { join } from 'node:path';
import type { Instance } from './instance.js';
import { wholeNumbers } from './options.js';
import { outcome, type Outcome, type Scenario, type ScenarioContext } from './scenario.js';
import { countsSeen, expectedCounts, settle, sleep, startInstance, wordcountApp, writeAtRate } from './wordcount.js';
import { prng } from '../seeded.js';
import { BROKERS_OPTION, brokersFor, connectLog as connect } from './kafka.js';

type Guarantee = 'exactly_once' | 'at_least_once';

/** Lost and duplicated record counts, from the output's updates and the input's truth. */
interface Tally {
  lost: number;
  duplicated: number;
}

/**
 * With the cache off every count update reaches the output, so under exactly_once each word's
 * updates, read read_committed, must be 1, 2, ..., n once each (n its count in the input): a
 * value of 1..n that never came is a lost record, an update more than once per value (a repeat, or
 * a zombie's stale count) a duplicated one.
 */
function exactlyOnceTally(expected: Map<string, number>, seen: Map<string, number[]>): Tally {
  const tally = { lost: 0, duplicated: 0 };
  for (const [word, n] of expected) {
    const counts = seen.get(word) ?? [];
    const distinct = new Set(counts.filter((c) => c >= 1 && c <= n)).size;
    tally.lost += n - distinct;
    tally.duplicated += counts.length - distinct;
  }
  for (const [word, counts] of seen) if (!expected.has(word)) tally.duplicated += counts.length;
  return tally;
}

/**
 * Under at_least_once a record processed again after a kill counts twice, and an update the
 * output lost may come again with a higher count, so only each word's last count tells: below n
 * records were lost, above n they were counted more than once. (A loss and a duplicate of the same
 * word cancel out here; exactly_once's check sees both.)
 */
function atLeastOnceTally(expected: Map<string, number>, seen: Map<string, number[]>): Tally {
  const tally = { lost: 0, duplicated: 0 };
  for (const [word, n] of expected) {
    const last = seen.get(word)?.at(-1) ?? 0;
    tally.lost += Math.max(0, n - last);
    tally.duplicated += Math.max(0, last - n);
  }
  return tally;
}

export function killScenario(name: string, order: number, guarantee: Guarantee): Scenario {
  const eos = guarantee === 'exactly_once';
  return {
    name,
    order,
    what: `wordcount under ${guarantee} in 2 instances (--instances), each SIGKILLed at random moments and restarted while input streams in; the output read read_committed against the input (${eos ? 'lost and duplicated must be 0' : 'lost must be 0, duplicates counted'})`,
    mirrors: eos
      ? "Kafka Streams' EosIntegrationTest / the system test StreamsEosTest (kill -9 under exactly_once, verify the output has every input record once), Jepsen-style kill tests"
      : "Kafka Streams' StreamsSmokeTest / StreamsBrokerDownResilienceTest under at_least_once (bounces by kill -9, verify nothing is lost)",
    options: {
      brokers: BROKERS_OPTION,
      records: { default: '20000', help: 'input lines (three words each)' },
      rate: { default: '400', help: 'input lines per second; the kills fall while the input is written' },
      keys: { default: '100', help: 'distinct words' },
      kills: { default: '5', help: 'SIGKILLs, each of a randomly chosen instance, at random moments' },
      instances: { default: '2', help: '`duality run` processes of the application' },
      partitions: { default: '4', help: 'partitions of the input and output topics' },
      seed: { default: '1', help: 'seed of the random moments and instances' },
      'settle-seconds': { default: '300', help: 'longest wait, after the input is written, for the application to commit all of it' },
    },
    short: eos ? { brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092', records: '1500', rate: '150', keys: '12', kills: '2' } : undefined,
    run: (context) => runKills(context, name, guarantee),
  };
}

async function runKills({ options, workDir, say }: ScenarioContext, scenario: string, guarantee: Guarantee): Promise<Outcome> {
  const began = Date.now();
  const { records, rate, keys, kills, instances: count, partitions, seed, 'settle-seconds': settleSeconds } = wholeNumbers(
    options,
    ['records', 'rate', 'keys', 'kills', 'instances', 'partitions', 'seed', 'settle-seconds'],
    ['kills', 'seed'],
  );
  const brokers = await brokersFor(options.brokers!, say);
  const log = await connect(brokers);
  const instances: { dir: string; run: Instance }[] = [];
  try {
    const app = await wordcountApp(log, workDir, `rel-${scenario}-${Date.now().toString(36)}`, guarantee, partitions);
    for (let i = 0; i < count; i++) {
      const dir = join(workDir, `state-${i}`);
      instances.push({ dir, run: startInstance(app, brokers, dir) });
    }
    await Promise.all(instances.map((i) => i.run.ready()));
    say(`${count} instances ready on ${brokers}; writing ${records} lines at ${rate}/s into ${app.input}`);

    const random = prng(seed);
    const writeMs = (records / rate) * 1000;
    const killAt = Array.from({ length: kills }, () => random() * writeMs).sort((a, b) => a - b);
    const writer = writeAtRate(log, app.input, records, rate, keys);
    const writeBegan = Date.now();
    for (const [k, at] of killAt.entries()) {
      await sleep(writeBegan + at - Date.now());
      const i = Math.floor(random() * count);
      await instances[i]!.run.stop('SIGKILL');
      say(`kill ${k + 1}/${kills}: instance ${i} SIGKILLed at ${((Date.now() - writeBegan) / 1000).toFixed(1)} s (${writer.written.length} lines written), restarted`);
      instances[i]!.run = startInstance(app, brokers, instances[i]!.dir);
    }
    const lines = await writer.done;
    say(`${lines.length} lines written; waiting for the application to commit all of them`);
    const settled = await settle(log, app, instances, settleSeconds);

    const expected = expectedCounts(lines);
    const seen = await countsSeen(log, app.output);
    const tally = guarantee === 'exactly_once' ? exactlyOnceTally(expected, seen) : atLeastOnceTally(expected, seen);
    const figures = { lost: tally.lost, duplicated: tally.duplicated, kills, records: lines.length, updates: [...seen.values()].reduce((n, c) => n + c.length, 0), seconds: Math.round((Date.now() - began) / 1000) };
    return outcome(figures, [
      [settled === undefined, `the application did not commit all its input within ${settleSeconds} s: ${settled}`],
      [tally.lost === 0, `${tally.lost} records lost (${lostWords(expected, seen)})`],
      ...(guarantee === 'exactly_once' ? [[tally.duplicated === 0, `${tally.duplicated} records duplicated under exactly_once (${duplicatedWords(expected, seen)})`] as [boolean, string]] : []),
    ]);
  } finally {
    await Promise.all(instances.map((i) => i.run.stop('SIGTERM').catch(() => i.run.stop('SIGKILL'))));
    await log.close();
  }
}

const lostWords = (expected: Map<string, number>, seen: Map<string, number[]>): string =>
  [...expected]
    .filter(([w, n]) => (seen.get(w)?.at(-1) ?? 0) !== n)
    .slice(0, 10)
    .map(([w, n]) => `${w}: expected ${n}, last ${seen.get(w)?.at(-1)}`)
    .join('; ');

const duplicatedWords = (expected: Map<string, number>, seen: Map<string, number[]>): string =>
  [...expected]
    .filter(([w, n]) => (seen.get(w)?.length ?? 0) !== n)
    .slice(0, 5)
    .map(([w, n]) => `${w}: ${n} expected, updates ${JSON.stringify(seen.get(w)?.slice(0, 60))}`)
    .join('; ');
