import { randomBytes } from 'node:crypto';
import type { LogRecord, ProducedRecord } from '../../engine/api/log.js';
import type { TopologyGraph } from '../../engine/api/topology-graph.js';
import { compileTopology } from '../../engine/compiler/index.js';
import { createKafka } from '../../engine/kafka/client.js';
import { KafkaLog } from '../../engine/kafka/kafka-log.js';
import { SuiteBroker } from './broker.js';
import { waitFor, type Instance } from './instance.js';

/** Tells one run's topics and groups from another's on a shared broker. */
export const runId = (): string => `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/**
 * The brokers a scenario talks to: `--brokers` when given, else the suite's own broker (started
 * when it is not running yet, and left running for the next scenario).
 */
export async function brokersFor(given: string, say: (line: string) => void): Promise<string> {
  if (given !== '') return given;
  const broker = new SuiteBroker();
  say(`starting the suite's broker on ${broker.brokers} (or finding it running)`);
  await broker.start();
  return broker.brokers;
}

/** The `--brokers` option every Kafka scenario has: '' starts the suite's own broker. */
export const BROKERS_OPTION = { default: '', help: "Kafka brokers; '' starts the suite's own broker (RELIABILITY_KAFKA_PORT, 29092)" } as const;

/** A KafkaLog of the scenario's own, for writing input and reading output (read_committed). */
export const connectLog = (brokers: string): Promise<KafkaLog> => KafkaLog.connect({ brokers: brokers.split(','), clientId: 'duality-reliability' });

/**
 * Creates a topic with topic configs (`max.message.bytes`, say), which KafkaLog's createTopics
 * does not take: the admin of kafkajs directly.
 */
export async function createTopic(brokers: string, topic: string, partitions: number, config: Readonly<Record<string, string>> = {}): Promise<void> {
  const admin = createKafka({ brokers: brokers.split(','), clientId: 'duality-reliability' }).admin();
  await admin.connect();
  try {
    const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: -1, configEntries }] });
  } finally {
    await admin.disconnect();
  }
}

/** Writes records durably (acks=all), in batches of `batch`. */
export async function produce(log: KafkaLog, records: readonly ProducedRecord[], batch = 5000): Promise<void> {
  const producer = log.producer({ offsets: false });
  try {
    for (let i = 0; i < records.length; i += batch) {
      producer.send(records.slice(i, i + batch));
      await producer.flush();
    }
  } finally {
    await producer.close();
  }
}

/** Every record of a topic as a read_committed consumer sees it now (nothing when it does not exist). */
export async function readAll(log: KafkaLog, topic: string): Promise<LogRecord[]> {
  const all: LogRecord[] = [];
  if ((await log.partitions(topic)) === undefined) return all;
  for (const [partition, end] of (await log.endOffsets(topic)).entries()) {
    for (let offset = 0; offset < end; ) {
      const batch = await log.read({ topic, partition }, offset, 1000);
      if (batch.length === 0) break;
      all.push(...batch);
      offset = batch.at(-1)!.offset + 1;
    }
  }
  return all;
}

/** How many records a topic holds, read_committed (its end offsets summed; compaction aside). */
export async function endTotal(log: KafkaLog, topic: string): Promise<number> {
  if ((await log.partitions(topic)) === undefined) return 0;
  return (await log.endOffsets(topic)).reduce((a, b) => a + b, 0);
}

/**
 * The source partitions (input and repartition topics) whose committed offset, in the group of
 * the application, is still short of the partition's end, as `topic:partition committed/end`. Once
 * none is, the application has committed everything it read: its output is complete.
 */
export async function behind(log: KafkaLog, graph: TopologyGraph): Promise<string[]> {
  // A consumer that never joins the group: it only reads the group's committed offsets.
  const group = log.consumer(graph.name);
  try {
    const short: string[] = [];
    for (const topic of new Set(graph.subtopologies.flatMap((s) => s.sourceTopics))) {
      if ((await log.partitions(topic)) === undefined) continue;
      for (const [partition, end] of (await log.endOffsets(topic)).entries()) {
        const at = (await group.committed({ topic, partition })) ?? 0;
        if (at < end) short.push(`${topic}:${partition} ${at}/${end}`);
      }
    }
    return short;
  } finally {
    await group.close();
  }
}

/** A topology's compiled graph: what `duality run` will run, for its topic names. */
export function compiled(file: string, text: string): TopologyGraph {
  const { graph, diagnostics } = compileTopology(file, text);
  if (!graph) throw new Error(`${file} does not compile:\n${diagnostics.map((d) => d.message).join('\n')}`);
  return graph;
}

/** Waits until `instance` has committed everything it read (see behind); fails at once when it exits. */
export async function untilCaughtUp(log: KafkaLog, graph: TopologyGraph, instance: Instance, timeoutMs: number): Promise<void> {
  let short: string[] = [];
  await waitFor(() => `${graph.name} to commit all it read; behind: ${short.join(', ')}\n${instance.stderr.slice(-3000)}`, timeoutMs, async () => {
    if (!instance.running) throw new Error(`duality run exited (${instance.child.exitCode ?? instance.child.signalCode}):\n${instance.stderr.slice(-4000)}`);
    short = await behind(log, graph);
    return short.length === 0 ? true : undefined;
  });
}
