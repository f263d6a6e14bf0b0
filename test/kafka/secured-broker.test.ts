/**
 * The SASL_SSL listener of kafka/start.sh (127.0.0.1:9094; KAFKA_SASL_PORT overrides, and
 * KAFKA_CACHE_DIR says where its certificates are): kafkajs over TLS with each SASL mechanism,
 * the ACLs of `restricted`, and the failures a user must see (wrong password, untrusted CA).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import kafkajs from '../../engine/kafka/kafkajs.js';
import { BROKERS, brokerTest, connectBroker, RUN, until } from './kafka-helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const TLS = join(process.env.KAFKA_CACHE_DIR ?? join(ROOT, 'kafka/.cache'), 'tls');
const SASL_BROKERS = [`127.0.0.1:${process.env.KAFKA_SASL_PORT ?? '9094'}`];
const tlsFile = (name: string): Buffer => readFileSync(join(TLS, name));

/** An unsigned JWT (alg "none"), what the broker's unsecured OAUTHBEARER validator accepts. */
function unsignedJwt(sub: string): string {
  const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none' })}.${part({ sub, iat: now, exp: now + 3600 })}.`;
}

const sasl = {
  PLAIN: (user: string, password: string): SASLOptions => ({ mechanism: 'plain', username: user, password }),
  'SCRAM-SHA-256': (user: string, password: string): SASLOptions => ({ mechanism: 'scram-sha-256', username: user, password }),
  'SCRAM-SHA-512': (user: string, password: string): SASLOptions => ({ mechanism: 'scram-sha-512', username: user, password }),
  OAUTHBEARER: (user: string): SASLOptions => ({ mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: unsignedJwt(user) }) }),
};

const secured = (auth: SASLOptions, ca = 'ca.pem', extra: Partial<KafkaConfig> = {}): InstanceType<typeof kafkajs.Kafka> =>
  new kafkajs.Kafka({
    clientId: 'duality-secured-test',
    brokers: SASL_BROKERS,
    ssl: { ca: [tlsFile(ca)] },
    sasl: auth,
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 5000,
    ...extra,
  });

/** For the failures: no retry, they are not transient. */
const once: Partial<KafkaConfig> = { retry: { retries: 0 } };

/** The error's kafkajs type or name, through its causes. */
function kinds(e: unknown): string[] {
  const out: string[] = [];
  for (let c = e as { type?: string; name?: string; message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) {
    out.push(`${c.name}:${c.type ?? ''}:${c.message}`);
  }
  return out;
}

// The plaintext listener (the shared broker) must be there too: the topics are made through it.
const { broker, missing } = await connectBroker('duality-secured-test');
const allowed = `allowed-${RUN}`;
const denied = `duality-denied-${RUN}`;

describe('the SASL_SSL listener', { timeout: 120_000 }, () => {
  after(async () => {
    await broker?.admin.deleteTopics({ topics: [allowed, denied] }).catch(() => undefined);
    await broker?.close();
  });

  brokerTest(missing, 'duality lists topics over TLS with PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (unsigned JWT)', async () => {
    await broker!.admin.createTopics({ topics: [{ topic: denied }], waitForLeaders: true });
    for (const [name, auth] of Object.entries(sasl)) {
      const admin = secured(auth('duality', 'duality-secret')).admin();
      try {
        await admin.connect();
        assert.ok((await admin.listTopics()).includes(denied), `${name}: the topic made on ${BROKERS.join(',')} is listed`);
      } finally {
        await admin.disconnect();
      }
    }
  });

  brokerTest(missing, 'a client certificate signed by the CA (mTLS) is accepted beside SASL', async () => {
    const admin = secured(sasl['SCRAM-SHA-256']('duality', 'duality-secret'), 'ca.pem', {
      ssl: { ca: [tlsFile('ca.pem')], cert: tlsFile('client.pem'), key: tlsFile('client.key') },
    }).admin();
    try {
      await admin.connect();
      assert.ok(Array.isArray(await admin.listTopics()));
    } finally {
      await admin.disconnect();
    }
  });

  brokerTest(missing, 'restricted creates, writes and reads an allowed- topic in an allowed- group, and is refused another topic', async () => {
    const kafka = secured(sasl['SCRAM-SHA-512']('restricted', 'restricted-secret'));
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true })
    const consumer = kafka.consumer({ groupId: `allowed-${RUN}` });
    const crashes: string[] = [];
    consumer.on(consumer.events.CRASH, (e) => void crashes.push(kinds(e.payload.error).join(' <- ')));
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: allowed }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic: allowed, messages: [{ key: 'k', value: 'hello' }] });
      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: allowed, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) });
      await until(() => seen.length > 0, () => `the record on ${allowed} (consumer crashes: ${crashes.join('; ') || 'none'})`);
      assert.deepEqual(seen, ['hello']);

      const refused = await producer.send({ topic: denied, messages: [{ value: 'no' }] }).then(() => [], kinds);
      assert.ok(refused.some((k) => k.includes('TOPIC_AUTHORIZATION_FAILED')), refused.join(' <- ') || 'the send succeeded');
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  brokerTest(missing, 'restricted commits a transaction with an allowed- transactional id (exactly_once)', async () => {
    const kafka = secured(sasl.PLAIN('restricted', 'restricted-secret'));
    const producer = kafka.producer({ transactionalId: `allowed-${RUN}-tx`, idempotent: true, maxInFlightRequests: 1 });
    try {
      await producer.connect();
      const tx = await producer.transaction();
      await tx.send({ topic: allowed, messages: [{ value: 'in a transaction' }] });
      await tx.commit();
    } finally {
      await producer.disconnect();
    }
  });

  brokerTest(missing, 'restricted deletes its group and its allowed- topic (what duality reset does)', async () => {
    const admin = secured(sasl['SCRAM-SHA-256']('restricted', 'restricted-secret')).admin();
    try {
      await admin.connect();
      await admin.deleteGroups([`allowed-${RUN}`]);
      await admin.deleteTopics({ topics: [allowed] });
      await until(async () => !(await admin.listTopics()).includes(allowed), () => `${allowed} to be gone`);
    } finally {
      await admin.disconnect();
    }
  });

  brokerTest(missing, 'a wrong password fails with a SASL authentication error, for PLAIN and SCRAM', async () => {
    for (const name of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
      const admin = secured(sasl[name]('duality', 'wrong'), 'ca.pem', once).admin();
      const failure = await admin.connect().then(() => [], kinds);
      await admin.disconnect();
      assert.ok(failure.some((k) => k.startsWith('KafkaJSSASLAuthenticationError')), `${name}: ${failure.join(' <- ') || 'connected'}`);
    }
  });

  brokerTest(missing, 'a client that trusts another CA does not connect (the broker certificate is checked)', async () => {
    const admin = secured(sasl.PLAIN('duality', 'duality-secret'), 'untrusted-ca.pem', once).admin();
    const failure = await admin.connect().then(() => [], kinds);
    await admin.disconnect();
    assert.ok(failure.some((k) => /certificate/i.test(k)), failure.join(' <- ') || 'connected');
  });
});
