/**
 * Reads a WordCount output topic (key: word as a string, value: count as an 8-byte big-endian
 * long, as Kafka's LongSerializer writes it) from the beginning, keeps the latest count per word,
 * and notes when every word's latest count equals the expected one: the moment a contender is
 * done. It also takes end-to-end latency samples: the wall clock when a record is read minus the
 * record's timestamp (the input's, by Kafka Streams semantics). Reads are read_committed
 * (kafkajs's default), so exactly-once output counts only once its transaction commits.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { benchKafka, sleep } from './cluster.js';

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
  private readonly latest = new Map<string, number>();
  private matching = 0;

  private constructor(
    private readonly consumer: Consumer,
    private readonly expected: ReadonlyMap<string, number>,
  ) {}

  /** Subscribes and returns once the group has joined, so no output goes unseen for long. */
  static async start(topic: string, groupId: string, expected: ReadonlyMap<string, number>): Promise<OutputWatcher> {
    const consumer = benchKafka(groupId).consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    const w = new OutputWatcher(consumer, expected);
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
      const word = m.key.toString();
      const want = this.expected.get(word);
      if (want === undefined) {
        this.unexpected++;
        continue;
      }
      const count = m.value.length === 8 ? Number(m.value.readBigInt64BE()) : Number.NaN;
      const before = this.latest.get(word);
      if (before === want) this.matching--;
      if (count === want) this.matching++;
      if (count > want) this.overcounted.add(word);
      this.latest.set(word, count);
    }
    if (this.matching === this.expected.size) this.doneAt ??= now;
  }

  /** How many words have their final count, for progress and failure messages. */
  get progress(): string {
    return `${this.matching} of ${this.expected.size} words at their final count, ${this.records} output records`;
  }

  /**
   * Resolves with `doneAt` once every count is final. Fails when `failed` says the contender died,
   * or when no output record arrives for `stallMs` (start-up included, so it is generous).
   */
  async untilDone(failed: () => string | undefined, stallMs = 120_000): Promise<number> {
    let seen = -1;
    let since = Date.now();
    while (this.doneAt === undefined) {
      const why = failed();
      if (why !== undefined) throw new Error(`${why} (${this.progress})`);
      if (this.records !== seen) [seen, since] = [this.records, Date.now()];
      else if (Date.now() - since > stallMs) throw new Error(`no output for ${stallMs / 1000} s (${this.progress})`);
      await sleep(20);
    }
    return this.doneAt;
  }

  async close(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }
}
