/**
 * The exactly-once workload of the fault scenarios: topologies/wordcount.yaml with a run's own
 * topics, keyed input lines written steadily by a writer that survives the broker's faults, and the
 * output check. With the record cache off (`--cache-max-bytes 0`) every count update reaches the
 * output, so, read read_committed, each word's counts must go 1, 2, ..., n once each, n being its
 * count in the input as it is in the topic at the end (recomputed from the input topic itself, so a
 * write the writer was not sure of counts exactly when it is there).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogProducer } from '../../engine/api/log.js';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { KafkaLog } from '../../engine/kafka/kafka-log.js';
import { ROOT } from '../root.js';
import { behind, compiled, readAll } from './kafka.js';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];

export interface Wordcount {
  /** The topology's text, for `duality run`. */
  readonly text: string;
  readonly graph: TopologyGraph;
  readonly input: string;
  readonly output: string;
}

/** wordcount.yaml under `guarantee`, named `name`, its topics named after it. */
export function wordcount(name: string, guarantee: 'exactly_once' | 'at_least_once' = 'exactly_once'): Wordcount {
  const [input, output] = [`${name}-lines`, `${name}-counts`];
  const text = readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: ${name}\nprocessing:\n  guarantee: ${guarantee}`)
    .replace('TextLinesTopic', input)
    .replace('WordsWithCountsTopic', output);
  return { text, graph: compiled('wordcount.yaml', text), input, output };
}

/**
 * The scenario's own client, for input and output, quiet: its complaints while a fault lasts are
 * expected, and Duality's own are in its output.
 */
export const connectQuietly = (brokers: string): Promise<KafkaLog> => KafkaLog.connect({ brokers: brokers.split(','), clientId: 'duality-reliability', logger: () => undefined });

/** Line `seq` of the input: three words, keyed by `seq`. */
export const line = (seq: number): string => [0, 1, 2].map((k) => WORDS[(seq * 7 + k * 5 + (seq >> 3)) % WORDS.length]).join(' ');

/**
 * Writes `perSecond` lines a second to `topic` until stopped, in tenths of a second; a batch the
 * broker does not take (it is down, frozen, cut off) is counted and the writer goes on with new
 * lines after a pause, with a new producer. Whether a failed batch got in after all is for the
 * check to read back.
 */
export class SteadyWriter {
  sent = 0;
  failedBatches = 0;
  private stopping = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly log: KafkaLog,
    private readonly topic: string,
    private readonly perSecond: number,
  ) {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    let producer: LogProducer | undefined;
    const batch = Math.max(1, Math.round(this.perSecond / 10));
    while (!this.stopping) {
      const began = Date.now();
      try {
        producer ??= this.log.producer({ offsets: false });
        const from = this.sent;
        producer.send(Array.from({ length: batch }, (_, i) => ({ topic: this.topic, key: Buffer.from(String(from + i)), value: Buffer.from(line(from + i)), timestamp: Date.now() })));
        this.sent += batch;
        await producer.flush();
      } catch {
        this.failedBatches++;
        await producer?.close().catch(() => undefined);
        producer = undefined;
        await sleep(500);
      }
      await sleep(Math.max(0, 100 - (Date.now() - began)));
    }
    await producer?.close().catch(() => undefined);
  }
}

export interface CountCheck {
  /** Input lines in the topic at the end. */
  readonly lines: number;
  /** Count updates that should be in the output (one per word of the input). */
  readonly updates: number;
  /** Count updates missing: a value in 1..n that no update of its word carries. */
  readonly lost: number;
  /** Count updates too many: a value seen twice, or above n (an input record counted twice). */
  readonly duplicated: number;
  /** Words whose counts did not go 1, 2, ..., n in offset order (a stale update from a zombie, say). */
  readonly disordered: number;
}

/** Compares the output, read read_committed, with the counts recomputed from the input topic. */
export async function checkCounts(log: KafkaLog, app: Wordcount): Promise<CountCheck> {
  const input = await readAll(log, app.input);
  const expected = new Map<string, number>();
  for (const r of input) for (const w of r.value!.toString().split(' ')) expected.set(w, (expected.get(w) ?? 0) + 1);
  const seen = await countsSeen(log, app.output);
  let [updates, lost, duplicated, disordered] = [0, 0, 0, 0];
  for (const word of new Set([...expected.keys(), ...seen.keys()])) {
    const n = expected.get(word) ?? 0;
    const counts = seen.get(word) ?? [];
    const distinct = new Set(counts);
    updates += n;
    for (let c = 1; c <= n; c++) if (!distinct.has(c)) lost++;
    duplicated += counts.length - distinct.size + [...distinct].filter((c) => c < 1 || c > n).length;
    if (counts.length !== n || counts.some((c, i) => c !== i + 1)) disordered++;
  }
  return { lines: input.length, updates, lost, duplicated, disordered };
}

/**
 * Waits until the application has committed everything it read: its group's offsets at the ends of
 * its input and repartition topics. Under exactly_once the offsets commit in the transaction of the
 * output they led to, so its output is then complete. Gives what is still behind: nothing once done,
 * the partitions short of their end after `timeoutMs`.
 */
export async function waitUntilCommitted(log: KafkaLog, app: Wordcount, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const short = await behind(log, app.graph).catch((e: unknown) => [`(${e instanceof Error ? e.message : String(e)})`]);
    if (short.length === 0 || Date.now() > deadline) return short;
    await sleep(1000);
  }
}

/** The output topic read read_committed: per word, its counts in offset order. */
async function countsSeen(log: KafkaLog, output: string): Promise<Map<string, number[]>> {
  const seen = new Map<string, number[]>();
  for (const r of await readAll(log, output)) {
    const word = r.key!.toString();
    seen.set(word, [...(seen.get(word) ?? []), Number(r.value!.readBigInt64BE())]);
  }
  return seen;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
