/**
 * The broker side of the Kafka benches: kafkajs clients for the bench itself, topics created up
 * front, and a clean-up that removes every topic and group whose name starts with the run's prefix
 * (contenders' internal topics included), the temp dirs, and any child process still alive.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import kafkajs from '../../engine/kafka/kafkajs.js';
import type { Admin, Kafka, Message, Producer } from 'kafkajs';

const { Kafka: KafkaClient, logLevel } = kafkajs;

export const BROKERS = process.env.KAFKA_BROKERS || '127.0.0.1:9092';

/** A kafkajs client that only reports errors (its info lines would drown the figures). */
export function benchKafka(clientId: string): Kafka {
  return new KafkaClient({ clientId, brokers: BROKERS.split(','), logLevel: logLevel.ERROR, retry: { retries: 8 } });
}

/**
 * A producer for one topic, disconnected after `work`. One per topic: kafkajs keeps refreshing the
 * metadata of every topic a producer ever wrote to, and fails once one of them has been deleted.
 */
export async function withProducer<T>(b: { readonly prefix: string }, work: (p: Producer) => Promise<T>): Promise<T> {
  const producer = benchKafka(`${b.prefix}-producer`).producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    return await work(producer);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/**
 * Sends lines as values without keys (spread over the partitions), or messages as they are (keyed:
 * to their key's partition, as Java's producer would), a few requests in flight; `compression`:
 * kafkajs's CompressionTypes (engine/kafka/codecs.ts gives it lz4, snappy and zstd).
 */
export async function produce(producer: Producer, topic: string, lines: readonly (string | Message)[], compression = kafkajs.CompressionTypes.None): Promise<void> {
  const CHUNK = 5_000;
  const inFlight = new Set<Promise<unknown>>();
  // Keyed messages carry event times, whose order within a partition a window or a join depends
  // on: one request at a time, as concurrent sends can overtake each other (the first ones race
  // on the topic's metadata) and put records 30 s of event time behind, past a 10 s grace.
  const depth = lines.every((l) => typeof l === 'string') ? 4 : 1;
  for (let i = 0; i < lines.length; i += CHUNK) {
    const p = producer.send({ topic, acks: -1, compression, messages: lines.slice(i, i + CHUNK).map((m) => (typeof m === 'string' ? { value: m } : m)) });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    if (inFlight.size >= depth) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What one bench run leaves on the broker and on disk. Everything it names starts with `prefix`,
 * so `clean` finds the contenders' internal topics and groups too (Duality's
 * `<name>-word-counts-changelog`, Kafka Streams' `<application.id>-KSTREAM-...-changelog`).
 */
export class Cleanup {
  private readonly dirs = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private readonly admin: Admin;
  private connected: Promise<void> | undefined;

  constructor(readonly prefix: string) {
    this.admin = benchKafka(`${prefix}-admin`).admin();
  }

  /** The bench's admin client, connected on first use. */
  async client(): Promise<Admin> {
    this.connected ??= this.admin.connect();
    await this.connected;
    return this.admin;
  }

  async createTopics(names: readonly string[], partitions: number): Promise<void> {
    const admin = await this.client();
    await admin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })) });
  }

  dir(path: string): string {
    this.dirs.add(path);
    return path;
  }

  /** A child process killed (SIGKILL) by `clean` and on exit if it is still alive then. */
  child(p: ChildProcess): ChildProcess {
    this.children.add(p);
    p.once('exit', () => this.children.delete(p));
    return p;
  }

  /** Synchronous: for process 'exit', where nothing async runs any more. */
  killChildren(): void {
    for (const p of this.children) p.kill('SIGKILL');
  }

  /** Deletes the groups and topics that start with `prefix + suffix` (after a contender, or all of them). */
  async dropBrokerState(suffix = ''): Promise<void> {
    const admin = await this.client();
    const mine = (name: string): boolean => name.startsWith(this.prefix + suffix);
    // Groups first: a group whose topics are gone still lists them until it is deleted.
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(mine);
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    const topics = (await admin.listTopics()).filter(mine);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  }

  /** Everything: children, broker state, temp dirs. Never throws (it runs on failures too). */
  async clean(): Promise<void> {
    this.killChildren();
    try {
      await this.dropBrokerState();
    } catch (e) {
      console.error(`clean-up: could not delete the bench's topics and groups (prefix ${this.prefix}): ${(e as Error).message}`);
    }
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    await this.admin.disconnect().catch(() => undefined);
  }
}
