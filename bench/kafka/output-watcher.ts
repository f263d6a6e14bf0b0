/**
 * Reads a WordCount output topic (key: word as a string, value: count as an 8-byte big-endian
 * long, as Kafka's LongSerializer writes it; another bench's output through its `Decode`) from the
 * beginning, keeps the latest count per word, and notes when every word's latest count equals the
 * expected one: the moment a contender is done. It also takes end-to-end latency samples: the wall clock when a record is read minus the
 * record's timestamp (the input's, by Kafka Streams semantics). Reads are read_committed
 * (kafkajs's default), so exactly-once output counts only once its transaction commits.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { benchKafka, sleep } from './cluster.js';

/** An output record as the watcher compares it: its key, and its value (a count, or text). */
export type Decode = (key: Buffer, value: Buffer) => readonly [string, number | string];

/** WordCount's output: the word as key, its count as a long. */
const wordCount: Decode = (key, value) => [key.toString(), value.length === 8 ? Number(value.readBigInt64BE()) : Number.NaN];

export class OutputWatcher {
  /** Wall clock (epoch ms) when the latest counts first all matched the expected ones. */
  doneAt: number | undefined;
  /** Output records read, and those for words not in the input (the latency run's probes). */
  records = 0;
  unexpected = 0;
  /** Words whose latest count went past the expected one (duplicates: at-least-once after a failure). */
  readonly overcounted = new Set<string>();
  /** Latency samples (ms) of records whose timestamp is inside `window`, when one is set. */
  readonly latencies: number[] = [];
  window: { from: number; to: number } | undefined;
  private readonly latest = new Map<string, number | string>();
  private matching = 0;

  private constructor(
    private readonly consumer: Consumer,
    private readonly expected: ReadonlyMap<string, number | string>,
    private readonly decode: Decode,
  ) {}

  /**
   * Subscribes and returns once the group has joined, so no output goes unseen for long. Done once
   * the latest value of every key in `expected` (keys and values as `decode` reads them; by
   * default WordCount's word and long count) equals the expected one.
   */
  static async start(topic: string, groupId: string, expected: ReadonlyMap<string, number | string>, decode = wordCount): Promise<OutputWatcher> {
    const consumer = benchKafka(groupId).consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    const w = new OutputWatcher(consumer, expected, decode);
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ partitionsConsumedConcurrently: 8, eachBatch: (p) => w.onBatch(p) });
    for (let i = 0; !joined; i++) {
      if (i > 600) throw new Error(`the output watcher of ${topic} did not join its group within 30 s`);
      await sleep(50);
    }
    return w;
  }

  private async onBatch({ batch }: EachBatchPayload): Promise<void> {
    const now = Date.now();
    for (const m of batch.messages) {
      this.records++;
      if (this.window) {
        const ts = Number(m.timestamp);
        if (ts >= this.window.from && ts <= this.window.to) this.latencies.push(now - ts);
      }
      if (!m.key || !m.value) continue;
      const [word, count] = this.decode(m.key, m.value);
      const want = this.expected.get(word);
      if (want === undefined) {
        this.unexpected++;
        continue;
      }
      const before = this.latest.get(word);
      if (before === want) this.matching--;
      if (count === want) this.matching++;
      if (typeof count === 'number' && typeof want === 'number' && count > want) this.overcounted.add(word);
      this.latest.set(word, count);
    }
    if (this.matching === this.expected.size) this.doneAt ??= now;
  }

  /** How many words have their final count, for progress and failure messages. */
  get progress(): string {
    const off = [...this.expected].filter(([k, v]) => this.latest.get(k) !== v).slice(0, 3);
    const e = off.map(([k, v]) => `${k}: ${this.latest.get(k) ?? 'none'} for ${v}`).join(', ');
    return `${this.matching} of ${this.expected.size} keys at their final value${e ? ` (${e}, ...)` : ''}, ${this.records} output records`;
  }

  /**
   * Resolves with `doneAt` once every count is final; with `keys`, with the wall clock once those
   * keys' counts are. Fails when `failed` says the contender died, or when no output record
   * arrives for `stallMs` (start-up included, so it is generous).
   */
  async untilDone(failed: () => string | undefined, stallMs = 120_000, keys?: readonly string[]): Promise<number> {
    let seen = -1;
    let since = Date.now();
    const done = keys ? (): number | undefined => (keys.every((k) => this.latest.get(k) === this.expected.get(k)) ? Date.now() : undefined) : () => this.doneAt;
    for (let at = done(); at === undefined; at = done()) {
      const why = failed();
      if (why !== undefined) throw new Error(`${why} (${this.progress})`);
      if (this.records !== seen) [seen, since] = [this.records, Date.now()];
      else if (Date.now() - since > stallMs) throw new Error(`no output for ${stallMs / 1000} s (${this.progress})`);
      await sleep(20);
    }
    return done()!;
  }

  async close(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }
}
