/**
 * The Java side of the Schema Registry interop (issue #16), against the real broker and the test
 * registry (kafka/registry.sh): records that Apicurio's serializers write in the Confluent wire
 * format, for Avro, Protobuf and JSON Schema, schema v1 and v2, read back equal by its
 * deserializers; the id in each record is one the registry's Confluent API resolves.
 * A missing broker or registry fails every test (never a skip).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { tempDir, withRun } from '../engine/runtime/cli-harness.js';
import { BROKERS, unique } from './kafka-helpers.js';
import { REGISTRY_ROOT } from '../registry/registry.js';
import { ensureJavaSerdes, javaConsume, javaProduce, SCHEMAS, type Format } from '../serdes-interop/java-serdes.js';

const REGISTRY = REGISTRY_ROOT;
const AT = { brokers: BROKERS.join(','), registry: REGISTRY };
const CONFLUENT_TYPE: Record<Format, string | undefined> = { avro: undefined, protobuf: 'PROTOBUF', 'json-schema': 'JSON' };

describe('registry interop: Java serdes through the broker and the registry', () => {
  let missing: string | undefined;
  before(async () => {
    try {
      const res = await fetch(`${REGISTRY}/apis/ccompat/v7/subjects`);
      if (res.status !== 200) missing = `the registry at ${REGISTRY} answered ${res.status} (start it: npm run registry:start)`;
    } catch (e) {
      missing = `no registry at ${REGISTRY} (start it: npm run registry:start): ${(e as Error).message}`;
    }
    ensureJavaSerdes();
  });

  for (const format of ['avro', 'protobuf', 'json-schema'] as const) {
    for (const schema of ['v1', 'v2'] as const) {
      test(`${format} ${schema}: produced records are consumed equal, in the Confluent wire format`, async () => {
        assert.equal(missing, undefined, missing);
        const topic = unique(`registry-${format}-${schema}`);
        const sent = javaProduce(AT, format, topic, schema, 5);
        assert.equal(sent.length, 5);
        const read = javaConsume(AT, format, topic, 5);
        assert.deepEqual(read.map(({ key, value }) => ({ key, value })), sent);
        if (schema === 'v2') assert.deepEqual(read.map((r) => r.value.currency), ['EUR', 'USD', 'EUR', 'USD', 'EUR']);

        // Magic byte 0, then the 4-byte big-endian id; Protobuf's message-index array [0] is the byte 00.
        const id = read[0]!.schemaId!;
        for (const r of read) {
          assert.equal(r.schemaId, id);
          assert.equal(r.wire!.slice(0, 10), `00${id.toString(16).padStart(8, '0')}`);
          if (format === 'protobuf') assert.equal(r.wire!.slice(10, 14), '000a', 'message index 0, then field 1 (id)');
        }
        const res = await fetch(`${REGISTRY}/apis/ccompat/v7/schemas/ids/${id}`);
        assert.equal(res.status, 200);
        const body = (await res.json()) as { schema: string; schemaType?: string };
        assert.equal(body.schemaType, CONFLUENT_TYPE[format]);
        assert.match(body.schema, schema === 'v2' ? /currency/ : /^(?![\s\S]*currency)/);
      });
    }
  }

  test('schema evolution: v1 and v2 records on one topic are read back, each under its own schema id', async () => {
    assert.equal(missing, undefined, missing);
    const topic = unique('registry-avro-evolution');
    const v1 = javaProduce(AT, 'avro', topic, 'v1', 2);
    const v2 = javaProduce(AT, 'avro', topic, 'v2', 2);
    const read = javaConsume(AT, 'avro', topic, 4);
    assert.deepEqual(read.map(({ key, value }) => ({ key, value })), [...v1, ...v2]);
    assert.notEqual(read[0]!.schemaId, read[2]!.schemaId);
  });
  test('Java in, Duality through, Java out: Avro (v1 and v2), Protobuf and JSON Schema records, written as Avro v2 and read back equal', async () => {
    assert.equal(missing, undefined, missing);
    const topics = { avro: unique('registry-in-avro'), protobuf: unique('registry-in-proto'), 'json-schema': unique('registry-in-json'), out: unique('registry-out') };
    const v1 = javaProduce(AT, 'avro', topics.avro, 'v1', 2);
    const v2 = javaProduce(AT, 'avro', topics.avro, 'v2', 2);
    const proto = javaProduce(AT, 'protobuf', topics.protobuf, 'v1', 3);
    const json = javaProduce(AT, 'json-schema', topics['json-schema'], 'v1', 3);
    const dir = tempDir();
    const file = join(dir, 'orders.yaml');
    // Each source reads with its records' own schemas; the sink writes the v2 Avro schema, whose
    // `currency` has a default: the v1 orders get it, the v2 ones keep theirs.
    writeFileSync(
      file,
      `version: 1
name: ${unique('registry-app')}
kafka: {brokers: [${BROKERS.join(", ")}], schemaRegistry: {url: ${REGISTRY}/apis/ccompat/v7}}
streams:
  avro-orders: {topic: ${topics.avro}, value: avro}
  proto-orders: {topic: ${topics.protobuf}, value: protobuf}
  json-orders: {topic: ${topics['json-schema']}, value: json-schema}
  all:
    from: [avro-orders, proto-orders, json-orders]
    to: {topic: ${topics.out}, value: {type: avro, schema: ${join(SCHEMAS, 'order-v2.avsc')}}}
`,
    );
    let read: ReturnType<typeof javaConsume> = [];
    await withRun(file, join(dir, 'state'), [], async () => {
      read = javaConsume(AT, 'avro', topics.out, 10, 60_000);
    });
    const withCurrency = (r: { key: string; value: object }): { key: string; value: object } => ({ key: r.key, value: { currency: 'EUR', ...r.value } });
    const expected = [...v1.map(withCurrency), ...v2, ...proto.map(withCurrency), ...json.map(withCurrency)];
    const byKeyAndId = (a: { key: string; value: object }, b: { key: string; value: object }): number => (JSON.stringify([a.key, a.value]) < JSON.stringify([b.key, b.value]) ? -1 : 1);
    assert.deepEqual(read.map(({ key, value }) => ({ key, value })).sort(byKeyAndId), expected.map(({ key, value }) => ({ key, value })).sort(byKeyAndId));
    // One schema for every output record: the v2 schema Duality registered under <topic>-value.
    assert.equal(new Set(read.map((r) => r.schemaId)).size, 1);
    const res = await fetch(`${REGISTRY}/apis/ccompat/v7/subjects/${topics.out}-value/versions/latest`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { id: number }).id, read[0]!.schemaId);
  });
});
