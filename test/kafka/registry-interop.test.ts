/**
 * The Java side of the Schema Registry interop (issue #16), against the real broker and the test
 * registry (kafka/registry.sh): records that Apicurio's serializers write in the Confluent wire
 * format, for Avro, Protobuf and JSON Schema, schema v1 and v2, read back equal by its
 * deserializers; the id in each record is one the registry's Confluent API resolves.
 * A missing broker or registry fails every test (never a skip).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { BROKERS, unique } from './kafka-helpers.js';
import { ensureJavaSerdes, javaConsume, javaProduce, type Format } from '../serdes-interop/java-serdes.js';

const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${process.env.REGISTRY_PORT ?? '8081'}`;
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
});
