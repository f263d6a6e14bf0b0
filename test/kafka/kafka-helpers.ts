/**
 * What the tests against the real broker share: one KafkaLog and one kafkajs admin per test file,
 * topic names unique per run, and a probe that turns a missing broker into a failure of every
 * test (in CI and locally alike; never a skip).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test as nodeTest } from 'node:test';
import kafkajs from '../../engine/kafka/kafkajs.js';
import type { Admin } from 'kafkajs';
import type { LogConsumer, LogRecord, TopicPartition } from '../../engine/api/log.js';
import { KafkaLog } from '../../engine/kafka/kafka-log.js';

export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const RUN = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
/** A topic or group name no other run uses. */
export const unique = (what: string): string => `duality-${what}-${RUN}`;

export interface Broker {
  log: KafkaLog;
  admin: Admin;
  /** kafkajs's own warnings and errors, for failure messages. */
  lines: string[];
  close(): Promise<void>;
}

/** Connects, or says why not; asked once per file, before its tests. */
export async function connectBroker(clientId: string): Promise<{ broker?: Broker; missing?: string }> {
  const lines: string[] = [];
  try {
    const log = await withTimeout(KafkaLog.connect({ brokers: BROKERS, clientId, logger: (l) => lines.push(l) }), 15_000, 'connecting');
    const admin = new kafkajs.Kafka({ clientId: `${clientId}-admin`, brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    return {
      broker: {
        log,
        admin,
        lines,
        async close() {
          await log.close();
          await admin.disconnect();
        },
      },
    };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { missing: `${why}: start it with npm run kafka:start${process.env.CI === 'true' ? ' (CI: these tests need the broker and are never skipped)' : ''}` };
  }
}

/** node:test's test(), failing at once with the reason when the broker is missing. */
export function brokerTest(missing: string | undefined, title: string, fn: () => Promise<void>, timeout = 45_000): void {
  nodeTest(title, { timeout }, async () => {
    if (missing) assert.fail(missing);
    await fn();
  });
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function until(cond: () => boolean | Promise<boolean>, what: () => string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const buf = (s: string): Buffer => Buffer.from(s);
export const tps = (list: TopicPartition[]): string[] => list.map((tp) => `${tp.topic}:${tp.partition}`).sort();
export const at = (r: LogRecord): string => `${r.partition}@${r.offset}`;

/** Topics and group members a test file makes, removed by `cleanup`. */
export class Fixture {
  private readonly created: string[] = [];
  private readonly open: LogConsumer[] = [];
  private readonly groups = new Set<string>();

  constructor(private readonly broker: Broker | undefined) {}

  async topic(what: string, partitions: number): Promise<string> {
    const name = unique(what);
    await this.broker!.log.createTopics([{ name, partitions }]);
    this.created.push(name);
    return name;
  }

  /** Deleted at the end even when the test made them some other way. */
  track(topic: string): void {
    this.created.push(topic);
  }

  trackGroup(groupId: string): void {
    this.groups.add(groupId);
  }

  /** A member whose listener writes `assigned t:p ...` / `revoked t:p ...` into `events`. */
  async subscribe(groupId: string, topics: string[], events: string[] = []): Promise<LogConsumer> {
    const c = this.broker!.log.consumer(groupId);
    this.open.push(c);
    this.groups.add(groupId);
    await c.subscribe(topics, {
      onAssigned: async (list) => void events.push(`assigned ${tps(list).join(' ')}`),
      onRevoked: async (list) => void events.push(`revoked ${tps(list).join(' ')}`),
    });
    return c;
  }

  async cleanup(): Promise<void> {
    for (const c of this.open) await c.close().catch(() => undefined);
    if (!this.broker) return;
    // Groups first: kafkajs's admin fails on topics it knew that are gone.
    await this.broker.admin.deleteGroups([...this.groups]).catch(() => undefined);
    await this.broker.log.deleteTopics(this.created).catch(() => undefined);
    await this.broker.close();
  }
}

/** Polls until `n` records came, then for `settleMs` more (to see extras that should not come). */
export async function pollUntil(c: LogConsumer, n: number, max = 500, settleMs = 0): Promise<LogRecord[]> {
  const got: LogRecord[] = [];
  await until(async () => (got.push(...(await c.poll(max, 100))), got.length >= n), () => `${n} records, got ${got.length}`);
  const settle = Date.now() + settleMs;
  while (Date.now() < settle) got.push(...(await c.poll(max, 100)));
  return got;
}
