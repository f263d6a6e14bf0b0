/**
 * The exactly-once check the Kafka tests share: wordcount.yaml under exactly_once with a run's own
 * topics, a writer of lines, and the strongest output check a user could make. With the cache off
 * every count update reaches the output, so read read_committed, each word's counts must go
 * 1, 2, ..., n with nothing doubled and nothing missing, n being its count in the input, also once
 * the application has committed everything it read.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { compileTopology } from '../../engine/compiler/index.js';
import type { KafkaLog } from '../../engine/kafka/kafka-log.js';
import { ROOT } from '../root.js';
import { RUN, until } from './kafka-helpers.js';

export const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];

export interface EosApp {
  readonly graph: TopologyGraph;
  /** The topology's text, for `duality run`. */
  readonly text: string;
  readonly input: string;
  readonly output: string;
}

/** wordcount.yaml under exactly_once, with this run's own name and topics; input with `partitions` partitions. */
export async function eosWordcount(log: KafkaLog, what: string, partitions: number): Promise<EosApp> {
  const name = `eos-${what}-${RUN}`;
  const [input, output] = [`${name}-lines`, `${name}-counts`];
  const text = readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: ${name}\nprocessing:\n  guarantee: exactly_once`)
    .replace('TextLinesTopic', input)
    .replace('WordsWithCountsTopic', output);
  const { graph, diagnostics } = compileTopology('wordcount.yaml', text);
  assert.ok(graph, diagnostics.map((d) => d.message).join('\n'));
  await log.createTopics([{ name: input, partitions }]);
  return { graph, text, input, output };
}

/** Line `seq` of the input: three words. */
const line = (seq: number): string => [0, 1, 2].map((k) => WORDS[(seq * 7 + k * 5 + (seq >> 3)) % WORDS.length]).join(' ');

/** Writes `count` lines from line `from` on, durably. */
export async function writeBatch(log: KafkaLog, input: string, from: number, count: number): Promise<string[]> {
  const producer = log.producer();
  try {
    const lines = Array.from({ length: count }, (_, i) => line(from + i));
    producer.send(lines.map((value, i) => ({ topic: input, key: Buffer.from(String(from + i)), value: Buffer.from(value), timestamp: Date.now() })));
    await producer.flush();
    return lines;
  } finally {
    await producer.close();
  }
}

/** Writes lines at about `perSecond`, until stopped; resolves with the lines written. */
export function writeLines(log: KafkaLog, input: string, perSecond: number): { stop(): Promise<string[]> } {
  const written: string[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      written.push(...(await writeBatch(log, input, written.length, perSecond / 10)));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return written;
    },
  };
}

export function expectedCounts(lines: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of lines) for (const w of l.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** The output topic read read_committed: per word, its counts in offset order. */
export async function countsSeen(log: KafkaLog, output: string): Promise<Map<string, number[]>> {
  const seen = new Map<string, number[]>();
  if ((await log.partitions(output)) === undefined) return seen;
  const ends = await log.endOffsets(output);
  for (const [partition, end] of ends.entries()) {
    for (let offset = 0; offset < end; ) {
      const batch = await log.read({ topic: output, partition }, offset, 1000);
      if (batch.length === 0) break;
      for (const r of batch) {
        const word = r.key!.toString();
        seen.set(word, [...(seen.get(word) ?? []), Number(r.value!.readBigInt64BE())]);
      }
      offset = batch.at(-1)!.offset + 1;
    }
  }
  return seen;
}

/** How many count updates the output holds. */
export const updatesSeen = async (log: KafkaLog, output: string): Promise<number> => [...(await countsSeen(log, output)).values()].reduce((n, c) => n + c.length, 0);

/**
 * Waits until every word's last count is its count in the input and the application has committed
 * all it read (its group's offsets at the end of its input and repartition topics: nothing more can
 * come), then checks the whole output: each word's counts went 1..n, once each. A record processed
 * twice or lost shows in the last count, a zombie's stale update as a count that falls or repeats.
 * The application runs with its record cache off (`--cache-max-bytes 0`), so every update is there.
 */
export async function assertExactlyOnce(log: KafkaLog, app: EosApp, lines: readonly string[], said: () => string): Promise<void> {
  const expected = expectedCounts(lines);
  let seen = new Map<string, number[]>();
  await until(
    async () => {
      seen = await countsSeen(log, app.output);
      return [...expected].every(([w, n]) => seen.get(w)?.at(-1) === n);
    },
    () => `the final counts ${JSON.stringify([...expected])}, have ${JSON.stringify([...seen].map(([w, c]) => [w, c.at(-1)]))}; engine said: ${said()}`,
    90_000,
  );
  let behind: string[] = [];
  await until(
    async () => (behind = await uncommitted(log, app.graph)).length === 0,
    () => `the group ${app.graph.name} to commit all it read; behind: ${behind.join(', ')}; engine said: ${said()}`,
    60_000,
  );
  seen = await countsSeen(log, app.output);
  for (const [word, n] of expected) {
    const counts = seen.get(word)!;
    const wrong = counts.findIndex((c, i) => c !== i + 1);
    assert.equal(wrong, -1, `${word}: counts must go 1..${n} once each; at position ${wrong} came ${counts[wrong]} (${counts.length} updates, last ${counts.at(-1)})`);
    assert.equal(counts.length, n, `${word}: ${n} updates`);
  }
  assert.deepEqual([...seen.keys()].sort(), [...expected.keys()].sort());
}

/** The partitions the application's group has not committed to their end yet, as `topic:partition committed/end`. */
async function uncommitted(log: KafkaLog, graph: TopologyGraph): Promise<string[]> {
  // A consumer that never joins: only its view of the group's committed offsets is used.
  const group = log.consumer(graph.name);
  try {
    const behind: string[] = [];
    for (const topic of new Set(graph.subtopologies.flatMap((s) => s.sourceTopics))) {
      for (const [partition, end] of (await log.endOffsets(topic)).entries()) {
        const committed = (await group.committed({ topic, partition })) ?? 0;
        if (committed < end) behind.push(`${topic}:${partition} ${committed}/${end}`);
      }
    }
    return behind;
  } finally {
    await group.close();
  }
}
