/**
 * The application several reliability scenarios run: topologies/wordcount.yaml with a run's own
 * name and topics, the input it is fed (lines of three words from a vocabulary of a chosen size),
 * and what a user would read back to check it: the output topic read_committed, the group's
 * committed offsets, the table through the HTTP API.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { compileTopology } from '../../engine/compiler/index.js';
import { KafkaLog } from '../../engine/kafka/kafka-log.js';
import { ROOT } from '../root.js';
import { Instance, waitFor } from './instance.js';
import { behind } from './kafka.js';

export const TABLE = 'word-counts';

export interface WordcountApp {
  /** The topology's name: its consumer group and the prefix of its internal topics. */
  readonly name: string;
  /** The topology file in the scenario's directory, for `duality run`. */
  readonly file: string;
  readonly input: string;
  readonly output: string;
  /** The compiled topology: the topics its group consumes (the input and the repartition topic). */
  readonly graph: TopologyGraph;
}


/**
 * wordcount.yaml under `guarantee`, named `name` (unique per run: topics and group are its own),
 * written to `dir`; its input topic created with `partitions` partitions.
 */
export async function wordcountApp(log: KafkaLog, dir: string, name: string, guarantee: string, partitions: number): Promise<WordcountApp> {
  const [input, output] = [`${name}-lines`, `${name}-counts`];
  const text = readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: ${name}\nprocessing:\n  guarantee: ${guarantee}`)
    .replace('TextLinesTopic', input)
    .replace('WordsWithCountsTopic', output);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  const { graph, diagnostics } = compileTopology(file, text);
  if (graph === undefined) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  await log.createTopics([
    { name: input, partitions },
    { name: output, partitions },
  ]);
  return { name, file, input, output, graph };
}

/** A `duality run` of the app on Kafka with its own state directory, every update sent on (cache off). */
export const startInstance = (app: WordcountApp, brokers: string, stateDir: string): Instance =>
  new Instance([app.file, '--brokers', brokers, '--port', '0', '--state-dir', stateDir, '--cache-max-bytes', '0']);

/** Line `seq` of the input: three words of a vocabulary of `keys` words (`w0`, `w1`, ...). */
export const line = (seq: number, keys: number): string => [0, 1, 2].map((k) => `w${(seq * 7919 + k * 104729 + (seq >> 4)) % keys}`).join(' ');

/** The counts the input makes: the truth the output is compared with. */
export function expectedCounts(lines: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const l of lines) for (const w of l.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** A producer of input lines: `write` sends lines `from`..`from + count - 1` and flushes them (acknowledged by the broker). */
export function lineWriter(log: KafkaLog, input: string, keys: number): { write(from: number, count: number): Promise<string[]>; close(): Promise<void> } {
  const producer = log.producer();
  return {
    async write(from, count) {
      const lines = Array.from({ length: count }, (_, i) => line(from + i, keys));
      producer.send(lines.map((value, i) => ({ topic: input, key: Buffer.from(String(from + i)), value: Buffer.from(value), timestamp: Date.now() })));
      await producer.flush();
      return lines;
    },
    close: () => producer.close(),
  };
}

/**
 * Writes `total` lines at about `perSecond` in batches every 100 ms, in the background; `done`
 * resolves with every line written. A line counts as written once its batch was flushed.
 */
export function writeAtRate(log: KafkaLog, input: string, total: number, perSecond: number, keys: number): { readonly written: string[]; readonly done: Promise<string[]> } {
  const written: string[] = [];
  const batch = Math.max(1, Math.round(perSecond / 10));
  const writer = lineWriter(log, input, keys);
  const done = (async () => {
    try {
      const began = Date.now();
      while (written.length < total) {
        written.push(...(await writer.write(written.length, Math.min(batch, total - written.length))));
        // Paced by the clock rather than by a fixed sleep, so slow flushes do not lower the rate.
        const due = began + (written.length / perSecond) * 1000;
        await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      }
      return written;
    } finally {
      await writer.close();
    }
  })();
  return { written, done };
}

/** The output topic read read_committed: per word, its counts in offset order. */
export async function countsSeen(log: KafkaLog, output: string): Promise<Map<string, number[]>> {
  const seen = new Map<string, number[]>();
  for (const [partition, end] of (await log.endOffsets(output)).entries()) {
    for (let offset = 0; offset < end; ) {
      const batch = await log.read({ topic: output, partition }, offset, 5000);
      if (batch.length === 0) break;
      for (const r of batch) {
        const word = r.key!.toString();
        let counts = seen.get(word);
        if (counts === undefined) seen.set(word, (counts = []));
        counts.push(Number(r.value!.readBigInt64BE()));
      }
      offset = batch.at(-1)!.offset + 1;
    }
  }
  return seen;
}

/** Waits until the group committed all its input; undefined then, else what is behind and what the instances said. */
export async function settle(log: KafkaLog, app: WordcountApp, instances: readonly { run: Instance }[], seconds: number): Promise<string | undefined> {
  let short: string[] = [];
  try {
    await waitFor('', seconds * 1000, async () => ((short = await behind(log, app.graph)).length === 0 ? true : undefined));
    return undefined;
  } catch {
    return `behind: ${short.join(', ')}; instances said:\n${instances.map((i) => i.run.stderr.slice(-3000)).join('\n---\n')}`;
  }
}

/** Every entry of a table through the HTTP API, page by page (as a user would dump it). */
export async function tableContents(url: string, table: string): Promise<Map<string, unknown>> {
  const entries = new Map<string, unknown>();
  let cursor: string | undefined;
  do {
    const r = await fetch(`${url}/tables/${table}?limit=1000${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    if (r.status !== 200) throw new Error(`GET ${url}/tables/${table}: ${r.status} ${await r.text()}`);
    const page = (await r.json()) as { entries: { key: string; value: unknown }[]; cursor?: string };
    for (const e of page.entries) entries.set(String(e.key), e.value);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return entries;
}

/** Sleeps `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
