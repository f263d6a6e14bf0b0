import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogRecord, ProducedRecord } from '../../../engine/api/log.js';
import { Instance } from '../instance.js';
import { brokersFor, compiled, connectLog, createTopic, produce, readAll, runId, untilCaughtUp } from '../kafka.js';
import { RssSampler } from '../measure.js';
import { outcome, type Scenario } from '../scenario.js';

const MB = 1_000_000;
/** The input topic takes records up to this big: the broker's default (message.max.bytes) is about 1 MB. */
const INPUT_MAX_BYTES = 12 * 1024 * 1024;
/** What the topics Duality creates take, the broker's default message.max.bytes: the table's changelog. */
const OUTPUT_MAX_BYTES = 1_048_588;
/**
 * The echo topic, created here, takes 6 MB: so a 5 MB record goes through it and is refused by the
 * changelog, a 10 MB one by both (whichever it reaches first).
 */
const ECHO_MAX_BYTES = 6_000_000;

/**
 * `sizes` writes a few bytes per record, so every record's result fits; `echo` writes the value
 * as it came, which the broker refuses for output topics at their default limit (about 1 MB); the
 * table `latest` keeps each key's value, which its changelog (same limit) must take.
 */
function topology(name: string, guarantee: string, inputTopic: string, sizesTopic: string, echoTopic: string): string {
  return `version: 1
name: ${name}
processing:
  guarantee: ${guarantee}
streams:
  blobs:
    topic: ${inputTopic}
    key: string
    value: string
  sizes:
    from: blobs
    steps:
      - mapValues: 'size(value)'
    to: {topic: ${sizesTopic}, value: json}
  echo:
    from: blobs
    to: ${echoTopic}
tables:
  latest:
    from: blobs
    steps:
      - toTable
`;
}

/** A value of `bytes` ASCII characters whose first ones say which record it is. */
const blob = (key: string, bytes: number): Buffer => {
  const b = Buffer.alloc(bytes, 'x'.charCodeAt(0));
  b.write(`${key}:`);
  return b;
};

export const scenario: Scenario = {
  name: 'big-records',
  order: 41,
  what: 'records of 1, 5 and 10 MB between small ones into a stream and a table: each is processed or goes to the error policy (an output or changelog record too large for its topic), the partition goes on, nothing crashes, memory stays bounded',
  mirrors: "Kafka Streams' ProductionExceptionHandler for RecordTooLargeException (KIP-210, KIP-1065); the large-message tests of Kafka clients",
  options: {
    brokers: { default: '', help: "Kafka brokers; '' starts the suite's own broker" },
    sizes: { default: '1,5,10', help: 'the big values, in MB (10^6 bytes), comma-separated' },
    each: { default: '3', help: 'records of each size' },
    small: { default: '200', help: 'small records, spread between the big ones' },
    guarantee: { default: 'exactly_once', help: 'processing.guarantee' },
    // A 10 MB record is held a few times over while it goes through (the fetched bytes, the decoded
    // string, the encoded output and its batch, the dead letter): some 100 MB above the ~150 MB a
    // running instance takes. 600 MB leaves room for the garbage collector's lag and catches what a
    // leak of big records, or a retry loop holding them, would add.
    'rss-bound-mb': { default: '600', help: "the child's peak RSS must stay under this (MB)" },
  },
  short: { brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092', each: '1', small: '50' },

  async run({ options, workDir, say }) {
    const brokers = await brokersFor(options.brokers!, say);
    const name = `big-${runId()}`;
    const [inputTopic, sizesTopic, echoTopic, dlqTopic, changelogTopic] = [`${name}-blobs`, `${name}-sizes`, `${name}-echo`, `${name}-dlq`, `${name}-latest-changelog`];
    const file = join(workDir, 'big-records.yaml');
    const text = topology(name, options.guarantee!, inputTopic, sizesTopic, echoTopic);
    writeFileSync(file, text);
    const graph = compiled(file, text);

    // Big records in a fixed order, small ones spread evenly between them: those after a big one show the partition goes on.
    const bigSizes = options.sizes!.split(',').map((s) => Math.round(Number(s) * MB));
    const each = Number(options.each);
    const small = Number(options.small);
    const plan: { key: string; bytes: number }[] = [];
    const bigs = bigSizes.flatMap((bytes) => Array.from({ length: each }, () => bytes));
    const smallPerGap = Math.ceil(small / (bigs.length + 1));
    let s = 0;
    for (let i = 0; i <= bigs.length; i++) {
      for (let j = 0; j < smallPerGap && s < small; j++, s++) plan.push({ key: `small-${s}`, bytes: 100 });
      if (i < bigs.length) plan.push({ key: `big-${i}-${bigs[i]! / MB}MB`, bytes: bigs[i]! });
    }

    const log = await connectLog(brokers);
    let instance: Instance | undefined;
    let rss: RssSampler | undefined;
    try {
      await createTopic(brokers, inputTopic, 1, { 'max.message.bytes': String(INPUT_MAX_BYTES) });
      await createTopic(brokers, echoTopic, 1, { 'max.message.bytes': String(ECHO_MAX_BYTES) });
      const records: ProducedRecord[] = plan.map((p) => ({ topic: inputTopic, key: Buffer.from(p.key), value: blob(p.key, p.bytes), timestamp: Date.now() }));
      await produce(log, records, 1);
      say(`wrote ${plan.length} records (${bigs.length} big: ${options.sizes} MB) to ${inputTopic}; running ${file}`);

      const began = Date.now();
      instance = new Instance([file, '--brokers', brokers, '--port', '0', '--state-dir', join(workDir, 'state')]);
      rss = new RssSampler(instance.child.pid!, 500);
      const url = await instance.ready();
      await untilCaughtUp(log, graph, instance, 300_000);
      const seconds = (Date.now() - began) / 1000;

      const sizes = new Map<string, number[]>();
      for (const r of await readAll(log, sizesTopic)) {
        const k = r.key!.toString();
        sizes.set(k, [...(sizes.get(k) ?? []), Number(r.value!.toString())]);
      }
      const echoed = new Map<string, LogRecord[]>();
      for (const r of await readAll(log, echoTopic)) echoed.set(r.key!.toString(), [...(echoed.get(r.key!.toString()) ?? []), r]);
      const letters = new Map<string, LogRecord[]>();
      for (const r of await readAll(log, dlqTopic)) letters.set(r.key?.toString() ?? '', [...(letters.get(r.key?.toString() ?? '') ?? []), r]);

      let processed = 0;
      let toPolicy = 0;
      const wrong: string[] = [];
      const causes = new Map<string, string>();
      const atNode = new Map<string, number>();
      for (const p of plan) {
        const sized = sizes.get(p.key) ?? [];
        if (sized.length !== 1 || sized[0] !== p.bytes) wrong.push(`${p.key}: sizes ${JSON.stringify(sized)}, expected [${p.bytes}]`);
        const out = echoed.get(p.key) ?? [];
        const dead = letters.get(p.key) ?? [];
        const res = await fetch(`${url}/tables/latest/keys/${p.key}`);
        const stored = res.status === 200 ? ((await res.json()) as { value?: string }).value : (await res.arrayBuffer(), undefined);
        const echoedWhole = out.length === 1 && out[0]!.value!.equals(blob(p.key, p.bytes));
        const storedWhole = stored !== undefined && stored.length === p.bytes && stored.startsWith(`${p.key}:`);
        // Within a kilobyte of a limit the record's overhead decides: either way is right there.
        const over = (limit: number): boolean | undefined => (p.bytes > limit ? true : p.bytes < limit - 1000 ? false : undefined);
        const [echoOver, changelogOver] = [over(ECHO_MAX_BYTES), over(OUTPUT_MAX_BYTES)];
        if (dead.length === 0) {
          // Processed: every output whole, and none of them too large.
          if (echoedWhole && storedWhole && !echoOver && !changelogOver) processed++;
          else wrong.push(`${p.key}: no dead letter, ${out.length} in ${echoTopic}, ${storedWhole ? 'whole' : stored === undefined ? 'not' : 'wrong'} in table latest`);
          continue;
        }
        // Sent to the error policy once, at the first output that refused it; outputs the record
        // reached before that have it whole, the others do not have it.
        toPolicy++;
        const d = dead[0]!;
        const [code, message, node] = (['__streams.errors.exception', '__streams.errors.message', '__duality.errors.node'] as const).map((h) => d.headers[h]?.toString() ?? '') as [string, string, string];
        causes.set(node, `${code}: ${message}`);
        atNode.set(node, (atNode.get(node) ?? 0) + 1);
        const whole = d.value?.equals(blob(p.key, p.bytes)) ?? false;
        const refusedBy = message.includes(`"${echoTopic}"`) ? echoOver : message.includes(`"${changelogTopic}"`) ? changelogOver : false;
        if (dead.length !== 1 || code !== 'RECORD_TOO_LARGE' || refusedBy === false || !(whole || (d.value === null && message.includes('left out')))) {
          wrong.push(`${p.key}: ${dead.length} dead letters, the first ${code} at ${node}: ${message.slice(0, 200)} (value ${d.value?.length ?? null} bytes)`);
        }
        if ((out.length > 0 && !echoedWhole) || (stored !== undefined && !storedWhole) || (echoOver && out.length > 0) || (changelogOver && stored !== undefined)) {
          wrong.push(`${p.key}: dead letter at ${node}, and ${out.length} in ${echoTopic}, ${storedWhole ? 'whole' : stored === undefined ? 'not' : 'wrong'} in table latest`);
        }
      }
      rss.stop();
      const bound = Number(options['rss-bound-mb']);
      const exit = await instance.stop('SIGTERM');
      for (const [node, c] of causes) say(`a dead letter's cause at ${node}: ${c.slice(0, 400)}`);
      return outcome(
        {
          records: plan.length,
          big: bigs.length,
          processed,
          to_error_policy: toPolicy,
          ...Object.fromEntries([...atNode].map(([node, n]) => [`dead_at_${node}`, n])),
          wrong: wrong.length,
          peak_rss_mb: rss.peakMb.toFixed(0),
          rss_bound_mb: bound,
          seconds: seconds.toFixed(1),
          exit: String(exit),
        },
        [
          [wrong.length === 0, `records whose outputs neither went through once nor each got a dead letter: ${wrong.slice(0, 5).join('; ')}`],
          [rss.peakMb < bound, `peak RSS ${rss.peakMb.toFixed(0)} MB, over the bound of ${bound} MB`],
          [exit === 0, `duality run exited ${exit} after SIGTERM:\n${instance.stderr.slice(-3000)}`],
        ],
      );
    } finally {
      rss?.stop();
      if (instance?.running) await instance.stop('SIGKILL');
      await log.close();
    }
  },
};
