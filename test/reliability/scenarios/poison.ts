import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogRecord, ProducedRecord } from '../../../engine/api/log.js';
import { Instance } from '../instance.js';
import { brokersFor, compiled, connectLog, createTopic, readAll, runId, untilCaughtUp } from '../kafka.js';
import { prng } from '../../seeded.js';
import { outcome, type Scenario } from '../scenario.js';

/** The ways an input record is poisoned, each with the error code and node its dead letter must name. */
const POISONS = {
  /** Not JSON at all: the value serde of the source refuses it. */
  'bad-json': { code: 'SERDE', node: 'readings.source' },
  /** No `count`: the expression reads a missing field. */
  'missing-field': { code: 'EXPRESSION', node: 'ratios.0.mapValues' },
  /** `count` 0: a division by zero, an infinity, which an expression may not give. */
  'division-by-zero': { code: 'EXPRESSION', node: 'ratios.0.mapValues' },
} as const;
type Poison = keyof typeof POISONS;

interface Input {
  readonly key: string;
  readonly value: string;
  readonly sensor: string;
  /** What the topology computes from it (total / count), or how it is poisoned. */
  readonly ratio?: number;
  readonly poison?: Poison;
}

const SENSORS = 20;

/** Record `i` of the input, drawn from `random`; poisoned with probability `percent` %. */
function input(i: number, random: () => number, percent: number): Input {
  const key = `r${i}`;
  const sensor = `s${i % SENSORS}`;
  const count = 1 + Math.floor(random() * 9);
  // An integer ratio: sums of them are exact whatever order the table adds them in.
  const ratio = Math.floor(random() * 101) - 50;
  if (random() * 100 < percent) {
    const kinds = Object.keys(POISONS) as Poison[];
    const poison = kinds[Math.floor(random() * kinds.length)]!;
    const value =
      poison === 'bad-json'
        ? `{"sensor": "${sensor}", "total": ${ratio * count}, "count":` // cut short
        : poison === 'missing-field'
          ? JSON.stringify({ sensor, total: ratio * count })
          : JSON.stringify({ sensor, total: ratio * count + 1, count: 0 });
    return { key, value, sensor, poison };
  }
  return { key, value: JSON.stringify({ sensor, total: ratio * count, count }), sensor, ratio };
}

function topology(name: string, inputTopic: string, outputTopic: string): string {
  return `version: 1
name: ${name}
processing:
  guarantee: exactly_once
streams:
  readings:
    topic: ${inputTopic}
    key: string
    value: json
  ratios:
    from: readings
    steps:
      - mapValues: '{"sensor": value.sensor, "ratio": value.total / value.count}'
    to: ${outputTopic}
tables:
  ratio-per-sensor:
    from: ratios
    steps:
      - groupBy: value.sensor
      - sum: value.ratio
`;
}

const header = (r: LogRecord, name: string): string | undefined => r.headers[name]?.toString();

export const scenario: Scenario = {
  name: 'poison',
  order: 40,
  what: 'input with a seeded share of records that cannot be decoded or make the expression fail, under exactly_once with errors.policy dlq: each goes to the dead-letter topic with its headers, every other record is processed exactly once',
  mirrors: "Kafka Streams' DeserializationExceptionHandler / ProcessingExceptionHandler with a dead-letter queue (KIP-1034), as its integration tests check it",
  options: {
    brokers: { default: '', help: "Kafka brokers; '' starts the suite's own broker" },
    records: { default: '500000', help: 'input records' },
    'poison-percent': { default: '1', help: 'the share of them that is poisoned, in %' },
    partitions: { default: '3', help: 'partitions of the input topic' },
    seed: { default: '18', help: 'the seed of the input' },
  },
  short: { brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092', records: '5000' },

  async run({ options, workDir, say }) {
    const brokers = await brokersFor(options.brokers!, say);
    const run = runId();
    const name = `poison-${run}`;
    const [inputTopic, outputTopic, dlqTopic] = [`${name}-readings`, `${name}-ratios`, `${name}-dlq`];
    const file = join(workDir, 'poison.yaml');
    const text = topology(name, inputTopic, outputTopic);
    writeFileSync(file, text);
    const graph = compiled(file, text);

    const count = Number(options.records);
    const random = prng(Number(options.seed));
    const inputs = Array.from({ length: count }, (_, i) => input(i, random, Number(options['poison-percent'])));
    const poisoned = inputs.filter((r) => r.poison !== undefined);

    const log = await connectLog(brokers);
    let instance: Instance | undefined;
    try {
      await createTopic(brokers, inputTopic, Number(options.partitions));
      // Where each input record landed, in input order: dead letters are matched by it.
      const placed = new Map<string, string>();
      const producer = log.producer();
      try {
        for (let i = 0; i < inputs.length; i += 5000) {
          const records: ProducedRecord[] = inputs.slice(i, i + 5000).map((r) => ({ topic: inputTopic, key: Buffer.from(r.key), value: Buffer.from(r.value), timestamp: Date.now() }));
          producer.send(records);
          const acks = await producer.flush();
          acks.forEach((a, j) => placed.set(inputs[i + j]!.key, `${a.partition}@${a.offset}`));
        }
      } finally {
        await producer.close();
      }
      say(`wrote ${count} records to ${inputTopic}, ${poisoned.length} poisoned; running ${file}`);

      const began = Date.now();
      instance = new Instance([file, '--brokers', brokers, '--port', '0', '--state-dir', join(workDir, 'state')]);
      const url = await instance.ready();
      await untilCaughtUp(log, graph, instance, 600_000);
      const seconds = (Date.now() - began) / 1000;

      // Dead letters, matched to the inputs by where they came from.
      const byPlace = new Map(inputs.map((r) => [placed.get(r.key)!, r]));
      const dlq = await readAll(log, dlqTopic);
      const lettered = new Map<string, number>();
      const byCause = new Map<string, number>();
      const wrongLetters: string[] = [];
      for (const d of dlq) {
        const place = `${header(d, '__streams.errors.partition')}@${header(d, '__streams.errors.offset')}`;
        const r = byPlace.get(place);
        lettered.set(place, (lettered.get(place) ?? 0) + 1);
        const cause = `${r?.poison ?? 'unpoisoned'} -> ${header(d, '__streams.errors.exception')} at ${header(d, '__duality.errors.node')}`;
        byCause.set(cause, (byCause.get(cause) ?? 0) + 1);
        const why = [
          r === undefined && `no input at ${place}`,
          r !== undefined && r.poison === undefined && `${r.key} was not poisoned`,
          header(d, '__streams.errors.topic') !== inputTopic && `topic header ${header(d, '__streams.errors.topic')}`,
          r?.poison !== undefined && header(d, '__streams.errors.exception') !== POISONS[r.poison].code && `exception ${header(d, '__streams.errors.exception')} for ${r.poison}`,
          r?.poison !== undefined && header(d, '__duality.errors.node') !== POISONS[r.poison].node && `node ${header(d, '__duality.errors.node')} for ${r.poison}`,
          !header(d, '__streams.errors.message') && 'no message',
          r !== undefined && (d.key?.toString() !== r.key || d.value?.toString() !== r.value) && 'not the original key and value',
        ].filter((w) => w !== false);
        if (why.length > 0 && wrongLetters.length < 5) wrongLetters.push(`dead letter ${d.partition}@${d.offset} (${place}): ${why.join(', ')}`);
        else if (why.length > 0) wrongLetters.push('');
      }
      for (const [cause, n] of byCause) say(`dead letters ${cause}: ${n}`);
      const missing = poisoned.filter((r) => !lettered.has(placed.get(r.key)!));
      const twice = [...lettered.values()].filter((n) => n > 1).length;

      // Every other record: its output once, equal to a recomputation.
      const outputs = new Map<string, string[]>();
      for (const o of await readAll(log, outputTopic)) {
        const k = o.key?.toString() ?? '';
        outputs.set(k, [...(outputs.get(k) ?? []), o.value?.toString() ?? '']);
      }
      const wrongOutputs: string[] = [];
      for (const r of inputs) {
        const seen = outputs.get(r.key) ?? [];
        outputs.delete(r.key);
        const want = r.poison === undefined ? [{ sensor: r.sensor, ratio: r.ratio }] : [];
        const got = seen.map((v) => JSON.parse(v) as unknown);
        if (JSON.stringify(got) !== JSON.stringify(want)) wrongOutputs.push(`${r.key}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      }
      for (const [k, v] of outputs) wrongOutputs.push(`${k}: ${JSON.stringify(v)}, for no input`);

      // The table, through the HTTP API: each sensor's sum of the good records' ratios.
      const sums = new Map<string, number>();
      for (const r of inputs) if (r.poison === undefined) sums.set(r.sensor, (sums.get(r.sensor) ?? 0) + r.ratio!);
      const wrongSums: string[] = [];
      for (const [sensor, sum] of sums) {
        const res = await fetch(`${url}/tables/ratio-per-sensor/keys/${sensor}`);
        const body = (await res.json()) as { value?: number };
        if (body.value !== sum) wrongSums.push(`${sensor}: ${JSON.stringify(body)}, expected ${sum}`);
      }

      const exit = await instance.stop('SIGTERM');
      return outcome(
        {
          records: count,
          poisoned: poisoned.length,
          in_dlq: dlq.length,
          missing_from_dlq: missing.length,
          wrong_dlq: wrongLetters.length + twice,
          wrong_outputs: wrongOutputs.length,
          wrong_sums: wrongSums.length,
          seconds: seconds.toFixed(1),
          exit: String(exit),
        },
        [
          [poisoned.length > 0, 'the input holds no poisoned record: nothing was tested'],
          [missing.length === 0, `poisoned records missing from ${dlqTopic}: ${missing.slice(0, 5).map((r) => `${r.key} (${r.poison}) at ${placed.get(r.key)}`).join(', ')}`],
          [wrongLetters.length === 0 && twice === 0, `wrong dead letters (${twice} sent more than once): ${wrongLetters.filter(Boolean).join('; ')}`],
          [wrongOutputs.length === 0, `wrong outputs: ${wrongOutputs.slice(0, 5).join('; ')}`],
          [wrongSums.length === 0, `wrong sums in ratio-per-sensor: ${wrongSums.slice(0, 5).join('; ')}`],
          [exit === 0, `duality run exited ${exit} after SIGTERM:\n${instance.stderr.slice(-3000)}`],
        ],
      );
    } finally {
      if (instance?.running) await instance.stop('SIGKILL');
      await log.close();
    }
  },
};
