import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileTopology } from '../../../engine/compiler/index.js';
import { renderGraph } from '../../../engine/describe/index.js';

const dir = mkdtempSync(join(tmpdir(), 'duality-schemas-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'order.avsc'), JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }, { name: 'qty', type: 'int' }, { name: 'store', type: 'string' }] }));
writeFileSync(join(dir, 'order.proto'), 'syntax = "proto3";\nmessage Order { int64 id = 1; int32 qty = 2; }\nmessage Refund { int64 id = 1; }\n');

/** Compiles a topology as if it were `dir/t.yaml`; its diagnostics as `line:col: path: message`. */
function compile(text: string): { lines: string[]; graph: ReturnType<typeof compileTopology>['graph'] } {
  const r = compileTopology(join(dir, 't.yaml'), text, { env: {} });
  return { lines: r.diagnostics.map((d) => `${d.line}:${d.col}: ${d.path}: ${d.message}`), graph: r.graph };
}

const topology = (value: string, steps = '[{filter: "value.qty > 1"}]', to = 'out'): string => `version: 1
name: app
streams:
  orders:
    topic: orders
    value: ${value}
  big:
    from: orders
    steps: ${steps}
    to: ${to}
`;

describe('Schema Registry serdes in the topology', () => {
  it('takes a serde by name or as a map with a pinned schema, read relative to the topology file', () => {
    const { lines, graph } = compile(topology('{type: avro, schema: order.avsc}', undefined, '{topic: out, value: {type: protobuf, schema: order.proto, message: Order, autoRegister: false}}'));
    assert.deepEqual(lines, []);
    const source = graph!.nodes.find((n) => n.type === 'source')!;
    assert.equal(source.valueSerde, 'avro');
    assert.equal(source.valueSchema!.schemaFile, 'order.avsc');
    assert.match(source.valueSchema!.schema!, /"name":"Order"/);
    const sink = graph!.nodes.find((n) => n.type === 'sink')!;
    assert.deepEqual([sink.valueSerde, sink.valueSchema!.message, sink.valueSchema!.autoRegister], ['protobuf', 'Order', false]);
    assert.equal(compile(topology('json-schema')).lines.length, 0);
  });
  it('keeps stores and internal topics in json: a schema id is only meaningful under a user topic\'s subject', () => {
    const { graph, lines } = compile(`version: 1\nname: app\ntables:\n  orders: {topic: orders, key: avro, value: avro}\n  per-store:\n    from: orders\n    steps: [{groupBy: value.store}, count]\n`);
    assert.deepEqual(lines, []);
    assert.deepEqual(graph!.stores.map((s) => [s.name, s.keySerde, s.valueSerde]), [['orders', 'json', 'json'], ['per-store-0-groupBy', 'json', 'json'], ['per-store', 'json', 'long']]);
    assert.ok(graph!.nodes.filter((n) => n.type.startsWith('repartition')).every((n) => n.valueSerde === 'json'));
  });
  it('points at a schema file that is missing, of another kind, or a protobuf file that does not say its message', () => {
    assert.deepEqual(compile(topology('{type: avro, schema: nope.avsc}')).lines, [`6:33: streams.orders.value.schema: cannot read the schema file nope.avsc (${join(dir, 'nope.avsc')}): no such file`]);
    assert.match(compile(topology('{type: avro, schema: order.proto}')).lines.join('\n'), /^6:33: streams.orders.value.schema: order.proto is no avro schema: not an Avro schema/);
    assert.match(compile(topology('{type: protobuf, schema: order.avsc}')).lines.join('\n'), /^6:37: streams.orders.value.schema: order.avsc is no protobuf schema: not a valid .proto schema/);
    assert.deepEqual(compile(topology('{type: protobuf, schema: order.proto}')).lines, ['6:37: streams.orders.value.schema: order.proto is no protobuf schema: the .proto schema declares 2 messages (Order, Refund): say which with message:']);
    assert.deepEqual(compile(topology('{type: avro, message: Order}')).lines, ['6:34: streams.orders.value.message: message is for protobuf; avro has one schema per subject']);
  });
  it('says what a misspelt serde name should be', () => {
    assert.deepEqual(compile(topology('arvo')).lines, ['6:12: streams.orders.value: must be one of string, json, long, int, double, bytes, avro, protobuf, json-schema; got "arvo"; did you mean "avro"?']);
  });
  it('points at an expression after a pinned source that reads a field the schema lacks', () => {
    assert.deepEqual(compile(topology('{type: avro, schema: order.avsc}', '[{filter: "value.qty > 1 && value.quantity > 2"}]')).lines, [
      '9:46: streams.big.steps[0].filter: value.quantity: the value schema of orders has no field quantity; it has id, qty, store',
    ]);
    // Through steps that keep the value, and in protobuf messages too.
    assert.equal(compile(topology('{type: protobuf, schema: order.proto, message: Order}', '[{filter: "true"}, {mapValues: "value.store"}]')).lines.length, 1);
  });
  it('raises no false alarm: presence tests, macros that bind value, values computed by an earlier step, schemas by id', () => {
    for (const steps of ['[{filter: "has(value.quantity)"}]', '[{filter: "[{\\"nope\\": 1}].exists(value, value.nope > 0)"}]', '[{mapValues: "{\\"n\\": value.qty}"}, {filter: "value.n > 1"}]', '[{filter: "value.qty > 1"}]']) {
      assert.deepEqual(compile(topology('{type: avro, schema: order.avsc}', steps)).lines, [], steps);
    }
    assert.deepEqual(compile(topology('avro', '[{filter: "value.anything > 1"}]')).lines, []);
  });
  it('checks the schema registry section', () => {
    const text = `version: 1\nname: app\nkafka:\n  schemaRegistry:\n    url: localhost:8081\n    basicAuth: {username: u, password: p}\n    bearerToken: t\nstreams:\n  s: {topic: t}\n`;
    assert.deepEqual(compile(text).lines, ['5:10: kafka.schemaRegistry.url: must be an http:// or https:// URL; got "localhost:8081"']);
    assert.deepEqual(compile(text.replace('localhost', 'http://localhost')).lines, ['7:18: kafka.schemaRegistry.bearerToken: give basicAuth or bearerToken, not both: the registry takes one Authorization header']);
  });
  it('shows where the registry\'s secrets are, never what they are (GET /topology, duality describe)', () => {
    const text = `version: 1\nname: app\nkafka:\n  schemaRegistry:\n    url: https://key:hunter2@registry.example:8081/api\n    basicAuth: {username: key, password: hunter3}\n    tls: {ca: "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"}\nstreams:\n  s: {topic: t, value: avro}\n`;
    const { graph, lines } = compile(text);
    assert.deepEqual(lines, []);
    const json = renderGraph(graph!, 'json');
    assert.ok(!json.includes('hunter') && !json.includes('MIIB'), json);
    assert.deepEqual(JSON.parse(json).kafka.schemaRegistry, { url: 'https://registry.example:8081/api (credentials hidden)', basicAuth: { username: 'key', password: '(secret)' }, tls: { ca: '(PEM text)' } });
    const token = compile(text.replace('basicAuth: {username: key, password: hunter3}', 'bearerToken: hunter4'));
    assert.equal(JSON.parse(renderGraph(token.graph!, 'json')).kafka.schemaRegistry.bearerToken, '(secret)');
  });
});
