/**
 * Avro, protobuf and json-schema topics through a topology on the embedded log, with a real Schema
 * Registry (test/registry/registry.ts): records framed as Confluent's serializers frame them are
 * read, a pinned sink schema is registered and written with, and what cannot be read or written
 * goes to the dead-letter topic.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compileTopologyFile } from '../../engine/compiler/index.js';
import { EmbeddedLog } from '../../engine/log/embedded-log.js';
import { Engine } from '../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../engine/runtime/facade.js';
import { RequestError } from '../../engine/api/engine-facade.js';
import { parseSchema, RegistrySerdes } from '../../engine/serde/registry-serdes.js';
import { frame } from '../../engine/serde/wire-format.js';
import { registryClient, REGISTRY_URL, RUN } from './registry.js';

const dir = mkdtempSync(join(tmpdir(), 'duality-registry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ORDER_AVSC = JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }, { name: 'qty', type: 'int' }, { name: 'note', type: ['null', 'string'], default: null }] });
const ORDER_PROTO = 'syntax = "proto3";\nmessage Ping { int32 x = 1; }\nmessage Order { int64 id = 1; int32 qty = 2; }\n';
const ORDER_JSON = JSON.stringify({ type: 'object', properties: { id: {}, qty: { type: 'integer' } } });
const BIG_AVSC = JSON.stringify({ type: 'record', name: 'BigOrder', namespace: 'shop', fields: [{ name: 'id', type: 'long' }, { name: 'qty', type: 'int' }, { name: 'from', type: 'string' }] });

test('avro, protobuf and json-schema records in, avro out with a pinned schema registered under <topic>-value; the misfits to the dead-letter topic', async () => {
  writeFileSync(join(dir, 'big.avsc'), BIG_AVSC);
  const file = join(dir, 'orders.yaml');
  writeFileSync(
    file,
    `version: 1
name: ${RUN}
streams:
  avro-orders: {topic: ${RUN}-avro, value: avro}
  proto-orders: {topic: ${RUN}-proto, value: protobuf}
  json-orders: {topic: ${RUN}-json, value: json-schema}
  big:
    from: [avro-orders, proto-orders, json-orders]
    steps:
      - filter: value.qty > 1
      - mapValues: '{"id": value.id, "qty": value.qty, "from": source}'
    to: {topic: ${RUN}-big, value: {type: avro, schema: big.avsc}}
`,
  );
  const compiled = compileTopologyFile(file, { env: {} });
  assert.deepEqual(compiled.diagnostics, []);
  const graph = compiled.graph!;
  const client = registryClient();
  const avroId = await client.register(`${RUN}-avro-value`, { schemaType: 'AVRO', schema: ORDER_AVSC });
  const protoId = await client.register(`${RUN}-proto-value`, { schemaType: 'PROTOBUF', schema: ORDER_PROTO });
  const jsonId = await client.register(`${RUN}-json-value`, { schemaType: 'JSON', schema: ORDER_JSON });
  const avro = parseSchema('avro', ORDER_AVSC);
  const proto = parseSchema('protobuf', ORDER_PROTO, 'Order');
  const json = parseSchema('json-schema', ORDER_JSON);

  const log = await EmbeddedLog.open(join(dir, 'log'));
  const p = log.producer();
  const send = (topic: string, value: Buffer): void => p.send([{ topic: `${RUN}-${topic}`, key: null, value, timestamp: 0 }]);
  await log.createTopics(['avro', 'proto', 'json'].map((t) => ({ name: `${RUN}-${t}`, partitions: 1 })));
  send('avro', frame(avroId, avro.encode({ id: 1, qty: 2, note: 'gift' })));
  send('avro', frame(avroId, avro.encode({ id: 2, qty: 1, note: null }))); // filtered out
  send('avro', frame(2_000_000_000, avro.encode({ id: 3, qty: 5, note: null }))); // unknown id
  send('proto', frame(protoId, proto.encode({ id: 4, qty: 3 })));
  send('json', frame(jsonId, json.encode({ id: 5, qty: 4 })));
  send('json', frame(jsonId, json.encode({ id: 'six', qty: 4 }))); // does not fit BigOrder.id
  await p.flush();
  await p.close();

  const engine = new Engine({ graph, log, stateDir: join(dir, 'state'), logger: () => undefined, registry: new RegistrySerdes(graph, client) });
  await engine.start();
  await engine.runUntilIdle();
  await engine.stop();

  const bigId = await client.lookup(`${RUN}-big-value`, { schemaType: 'AVRO', schema: BIG_AVSC });
  const big = parseSchema('avro', BIG_AVSC);
  const out = await log.read({ topic: `${RUN}-big`, partition: 0 }, 0, 10);
  assert.deepEqual(
    // The three topics' records all have timestamp 0: which of them goes first is not fixed.
    out.map((r) => [r.value!.readInt32BE(1), r.value![0], big.decode(r.value!.subarray(5))]).sort((a, b) => (a[2] as { id: number }).id - (b[2] as { id: number }).id),
    [
      [bigId, 0, { id: 1, qty: 2, from: 'avro-orders' }],
      [bigId, 0, { id: 4, qty: 3, from: 'proto-orders' }],
      [bigId, 0, { id: 5, qty: 4, from: 'json-orders' }],
    ],
  );
  const dlq = await log.read({ topic: `${RUN}-dlq`, partition: 0 }, 0, 10);
  assert.deepEqual(
    // Each source topic is a task of its own: their order in the dead-letter topic is not fixed.
    dlq.map((r) => [r.headers['__streams.errors.topic']!.toString(), r.headers['__streams.errors.offset']!.toString(), r.headers['__streams.errors.message']!.toString()]).sort(),
    [
      [`${RUN}-avro`, '2', `avro serde: schema id 2000000000 is unknown to the schema registry at ${REGISTRY_URL}`],
      [`${RUN}-json`, '1', 'avro serde: the value does not fit schema shop.BigOrder: wrong or missing id'],
    ],
  );
  await log.close();
});

test('a sink by name writes with its subject\'s latest schema; with none, or a pinned schema not registered and autoRegister: false, the engine does not start and says why', async () => {
  const client = registryClient();
  const run = `${RUN}-latest`;
  const latestId = await client.register(`${run}-out-value`, { schemaType: 'AVRO', schema: ORDER_AVSC });
  writeFileSync(join(dir, 'order.avsc'), ORDER_AVSC);
  const topology = (to: string): string => `version: 1\nname: ${run}\nstreams:\n  in: {topic: ${run}-in, value: json}\n  copy:\n    from: in\n    steps: [{filter: "true"}]\n    to: ${to}\n`;
  const start = async (name: string, to: string): Promise<{ engine: Engine; log: EmbeddedLog }> => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, topology(to));
    const { graph, diagnostics } = compileTopologyFile(file, { env: {} });
    assert.deepEqual(diagnostics, []);
    const log = await EmbeddedLog.open(join(dir, `${name}-log`));
    const engine = new Engine({ graph: graph!, log, stateDir: join(dir, `${name}-state`), logger: () => undefined, registry: new RegistrySerdes(graph!, client) });
    return { engine, log };
  };

  const { engine, log } = await start('latest', `{topic: ${run}-out, value: avro}`);
  await engine.start();
  const p = log.producer();
  p.send([{ topic: `${run}-in`, key: null, value: Buffer.from('{"id": 7, "qty": 1, "note": null}'), timestamp: 0 }]);
  await p.flush();
  await p.close();
  await engine.runUntilIdle();
  await engine.stop();
  const [out] = await log.read({ topic: `${run}-out`, partition: 0 }, 0, 1);
  assert.equal(out!.value!.readInt32BE(1), latestId);
  assert.deepEqual(parseSchema('avro', ORDER_AVSC).decode(out!.value!.subarray(5)), { id: 7, qty: 1, note: null });
  await log.close();

  for (const [name, to, message] of [
    ['no-subject', `{topic: ${run}-nothing, value: protobuf}`, `subject ${run}-nothing-value has no schema in the schema registry at ${REGISTRY_URL}, so topic ${run}-nothing cannot be written with protobuf: register one, or pin one in the topology ({type: protobuf, schema: FILE})`],
    ['not-registered', `{topic: ${run}-unregistered, value: {type: avro, schema: order.avsc, autoRegister: false}}`, `the schema order.avsc is not registered under subject ${run}-unregistered-value of the schema registry at ${REGISTRY_URL}, and autoRegister is false: register it, or leave autoRegister out`],
  ] as const) {
    const { engine: e, log: l } = await start(name, to);
    await assert.rejects(e.start(), (err: Error) => err.message === message);
    await l.close();
  }
});

test('records posted over HTTP to an avro topic are written with its subject\'s latest schema; a topic whose subject has none answers 409', async () => {
  const client = registryClient();
  const run = `${RUN}-post`;
  const id = await client.register(`${run}-in-value`, { schemaType: 'AVRO', schema: ORDER_AVSC });
  const file = join(dir, 'post.yaml');
  writeFileSync(file, `version: 1\nname: ${run}\nstreams:\n  in: {topic: ${run}-in, value: avro}\n  other: {topic: ${run}-other, value: protobuf}\n`);
  const { graph } = compileTopologyFile(file, { env: {} });
  const log = await EmbeddedLog.open(join(dir, 'post-log'));
  const engine = new Engine({ graph: graph!, log, stateDir: join(dir, 'post-state'), logger: () => undefined, registry: new RegistrySerdes(graph!, client) });
  await engine.start();
  const facade = new LocalEngineFacade(engine, log);
  await facade.produce(`${run}-in`, [{ key: 'k', value: { id: 9, qty: 2, note: 'x' } }]);
  const [r] = await log.read({ topic: `${run}-in`, partition: 0 }, 0, 1);
  assert.equal(r!.value!.readInt32BE(1), id);
  assert.deepEqual(parseSchema('avro', ORDER_AVSC).decode(r!.value!.subarray(5)), { id: 9, qty: 2, note: 'x' });
  await assert.rejects(facade.produce(`${run}-other`, [{ value: { id: 1 } }]), (e: RequestError) => e instanceof RequestError && e.status === 409 && e.code === 'NO_SCHEMA' && e.message.startsWith(`subject ${run}-other-value has no schema in the schema registry`));
  await facade.close();
  await engine.stop();
  await log.close();
});
