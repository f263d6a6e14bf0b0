/** The registry client against a real Schema Registry (test/registry/registry.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryError, type SchemaType } from '../../engine/serde/registry-client.js';
import { registryClient, RUN } from './registry.js';

const SCHEMAS: Record<SchemaType, string> = {
  AVRO: JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }] }),
  PROTOBUF: 'syntax = "proto3";\nmessage Order {\n  int64 id = 1;\n}\n',
  JSON: JSON.stringify({ type: 'object', properties: { id: { type: 'integer' } } }),
};

describe('registry client', () => {
  const client = registryClient();
  for (const schemaType of ['AVRO', 'PROTOBUF', 'JSON'] as const) {
    it(`${schemaType}: registers under a subject, looks up, reads by id and as the latest`, async () => {
      const subject = `${RUN}-${schemaType.toLowerCase()}-value`;
      const schema = { schemaType, schema: SCHEMAS[schemaType] };
      const id = await client.register(subject, schema);
      assert.equal(await client.register(subject, schema), id, 'registering it again gives its id');
      assert.equal(await client.lookup(subject, schema), id);
      const byId = await client.schemaById(id);
      assert.equal(byId.schemaType, schemaType);
      const latest = await client.latest(subject);
      assert.equal(latest.id, id);
      assert.equal(latest.schemaType, schemaType);
    });
  }
  it('answers 404 for an id, a subject and a schema it does not have', async () => {
    const notFound = (e: unknown): boolean => e instanceof RegistryError && e.status === 404 && e.code === 'REGISTRY';
    await assert.rejects(client.schemaById(2_000_000_000), notFound);
    await assert.rejects(client.latest(`${RUN}-nothing-value`), notFound);
    await client.register(`${RUN}-lookup-value`, { schemaType: 'AVRO', schema: SCHEMAS.AVRO });
    await assert.rejects(client.lookup(`${RUN}-lookup-value`, { schemaType: 'AVRO', schema: '"string"' }), notFound);
  });
});
