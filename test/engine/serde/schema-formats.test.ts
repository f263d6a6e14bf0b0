import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SerdeError } from '../../../engine/serde/index.js';
import { parseSchema } from '../../../engine/serde/registry-serdes.js';
import { nestingOrder } from '../../../engine/serde/proto-nesting.js';
import { SchemaParseError } from '../../../engine/serde/schema-format.js';
import { decodeMessageIndexes, encodeMessageIndexes, frame, readSchemaId } from '../../../engine/serde/wire-format.js';

/*
 * Bytes as Confluent's serializers write them (the wire format: magic byte 0, a big-endian schema
 * id, for protobuf the message indexes, then the payload), worked out by hand from the specs.
 */

const fromHex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

function serdeError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SerdeError, `expected a SerdeError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const ORDER_AVSC = JSON.stringify({
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'item', type: 'string' },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'DONE'] } },
    { name: 'raw', type: 'bytes' },
    { name: 'lines', type: { type: 'array', items: { type: 'record', name: 'Line', fields: [{ name: 'qty', type: 'int' }] } } },
  ],
});

const ORDER_PROTO = `
syntax = "proto3";
package shop;
message Ping { int32 x = 1; }
message Order {
  int64 id = 1;
  string item = 2;
  Status status = 3;
  bytes raw = 4;
  repeated Line lines = 5;
  map<string, int64> totals = 6;
  enum Status { NEW = 0; DONE = 1; }
  message Line { int32 qty = 1; }
}
`;

describe('wire format', () => {
  it('frames a payload behind magic byte 0 and the big-endian schema id', () => {
    assert.deepEqual(frame(258, fromHex('ab')), fromHex('00 00000102 ab'));
    assert.equal(readSchemaId('avro', fromHex('00 00000102 ab')), 258);
  });
  it('refuses another magic byte and too few bytes', () => {
    serdeError(() => readSchemaId('avro', fromHex('01 00000102 ab')), /unknown magic byte 1/);
    serdeError(() => readSchemaId('avro', fromHex('00 0001')), /3 bytes are too few/);
  });
  it('writes the message indexes [0] as the single byte 0, others as a zigzag count and zigzag indexes', () => {
    assert.deepEqual(encodeMessageIndexes([0]), fromHex('00'));
    assert.deepEqual(encodeMessageIndexes([1]), fromHex('02 02'));
    assert.deepEqual(encodeMessageIndexes([1, 0]), fromHex('04 02 00'));
    assert.deepEqual(encodeMessageIndexes([70]), fromHex('02 8c01'));
    assert.deepEqual(decodeMessageIndexes(fromHex('04 02 00 ff'), 0), { path: [1, 0], end: 3 });
    assert.deepEqual(decodeMessageIndexes(fromHex('00 ff'), 0), { path: [0], end: 1 });
    assert.deepEqual(decodeMessageIndexes(fromHex('02 8c01'), 0), { path: [70], end: 3 });
    serdeError(() => decodeMessageIndexes(fromHex('02'), 0), /end inside a varint/);
  });
});

describe('avro', () => {
  const avro = parseSchema('avro', ORDER_AVSC);
  const value = { id: 1, item: 'ab', note: 'x', status: 'DONE', raw: Buffer.from([0xff]), lines: [{ qty: 3 }] };
  // id 1 → 02; "ab" → 04 61 62; union branch 1 → 02, "x" → 02 78; enum 1 → 02; bytes 1 → 02 ff; 1 line → 02, qty 3 → 06, end → 00
  const bytes = fromHex('02 04 6162 02 0278 02 02ff 02 06 00');
  it('writes the Avro binary encoding', () => assert.deepEqual(avro.encode(value), bytes));
  it('reads records as plain maps, unions bare, enums as symbols, bytes as Buffers', () => {
    const read = avro.decode(bytes) as Record<string, unknown>;
    assert.deepEqual(read, value);
    assert.equal(Object.getPrototypeOf(read), Object.prototype);
    assert.equal(Object.getPrototypeOf((read.lines as object[])[0]), Object.prototype);
  });
  it('refuses a long beyond 2^53 rather than rounding it', () => {
    const big = Buffer.concat([fromHex('feffffffffffffffff01'), bytes.subarray(1)]);
    serdeError(() => avro.decode(big), /precision/);
  });
  it('refuses a value that does not fit, naming the fields', () => {
    serdeError(() => avro.encode({ ...value, id: 1.5, status: 'LOST' }), /does not fit schema shop.Order: wrong or missing id, status/);
  });
  it('refuses bytes that are not of the schema', () => serdeError(() => avro.decode(fromHex('02')), /cannot decode/));
  it('knows the fields of a record', () => assert.deepEqual([...avro.fields!], ['id', 'item', 'note', 'status', 'raw', 'lines']));
  it('says why a schema does not parse', () => {
    assert.throws(() => parseSchema('avro', ORDER_PROTO), SchemaParseError);
    assert.throws(() => parseSchema('avro', '{"type": "record", "name": "X"}'), /not a valid Avro schema/);
  });
});

describe('protobuf', () => {
  const proto = parseSchema('protobuf', ORDER_PROTO, 'Order');
  const value = { id: 1, item: 'ab', status: 'DONE', raw: Buffer.from([0xff]), lines: [{ qty: 3 }], totals: {} };
  // indexes [1]: 02 02; id: 08 01; item: 12 02 61 62; status: 18 01; raw: 22 01 ff; lines: 2a 02 (08 03)
  const bytes = fromHex('0202 0801 12026162 1801 2201ff 2a020803');
  it('writes the message indexes of the message, then the message', () => assert.deepEqual(proto.encode(value), bytes));
  it('reads 64-bit integers as numbers, enums by name, and fills defaults', () => {
    assert.deepEqual(proto.decode(bytes), value);
    assert.deepEqual(proto.decode(fromHex('0202')), { id: 0, item: '', status: 'NEW', raw: Buffer.alloc(0), lines: [], totals: {} });
  });
  it('reads the message the indexes name: [0] is the first; a map field\'s entry type counts among nested messages, as in protoc\'s descriptors', () => {
    assert.deepEqual(proto.decode(fromHex('00 0805')), { x: 5 });
    // Order's nested types are [TotalsEntry, Line]: Line is [1, 1].
    assert.deepEqual(proto.decode(fromHex('040202 0807')), { qty: 7 });
    serdeError(() => proto.decode(fromHex('040200 0807')), /indexes \[1, 0\] name no message/);
    assert.deepEqual(parseSchema('protobuf', ORDER_PROTO, 'Line').encode({ qty: 7 }), fromHex('040202 0807'));
    serdeError(() => proto.decode(fromHex('0206 0805')), /indexes \[3\] name no message/);
  });
  it('refuses a 64-bit integer beyond 2^53', () => {
    serdeError(() => proto.decode(fromHex('0202 08ffffffffffffffff7f')), /Order.id is 9223372036854775807, outside/);
  });
  it('refuses a value that does not fit, naming the field', () => {
    serdeError(() => proto.encode({ ...value, status: 'LOST' }), /status must be one of NEW, DONE/);
    serdeError(() => proto.encode({ ...value, qty: 1 }), /qty is not a field of message Order/);
    serdeError(() => proto.encode({ ...value, lines: [{ qty: 'x' }] }), /lines\[0\].qty must be a number/);
  });
  it('needs message: when the file has several, and names the ones it has', () => {
    assert.throws(() => parseSchema('protobuf', ORDER_PROTO), /declares 2 messages \(Ping, Order\): say which with message:/);
    assert.throws(() => parseSchema('protobuf', ORDER_PROTO, 'Nope'), /has no message Nope; it has Ping, Order/);
    assert.throws(() => parseSchema('protobuf', ORDER_AVSC), /not a valid .proto schema/);
  });
});

describe('protobuf nesting order', () => {
  it('interleaves nested messages, groups and map entries as written, past comments, enums, oneofs and options', () => {
    const text = `syntax = "proto2";
      message A {
        // message Commented { }
        /* map<string, int32> no = 9; */
        option (x) = { a: 1 };
        enum E { X = 0; }
        optional group G = 1 { optional int32 g = 1; }
        map<string, int32> m = 2;
        oneof o { int32 v = 3; }
        message B { map<int32, string> n = 1; message C {} }
      }
      message D {}`;
    assert.deepEqual([...nestingOrder(text)], [['A', ['G', null, 'B']], ['A.G', []], ['A.B', [null, 'C']], ['A.B.C', []], ['D', []]]);
  });
});

describe('json-schema', () => {
  const schema = parseSchema('json-schema', JSON.stringify({ type: 'object', properties: { id: { type: 'integer' }, item: { type: 'string' } }, required: ['id'], additionalProperties: false }));
  it('writes JSON text', () => assert.deepEqual(schema.encode({ id: 1, item: 'ab' }), Buffer.from('{"id":1,"item":"ab"}')));
  it('validates on writing', () => serdeError(() => schema.encode({ item: 'ab' }), /does not fit the schema: the value must have required property 'id'/));
  it('does not validate on reading, as Confluent\'s deserializer by default', () => assert.deepEqual(schema.decode(Buffer.from('{"id":"x"}')), { id: 'x' }));
  it('refuses text that is not JSON', () => serdeError(() => schema.decode(Buffer.from('{')), /not valid JSON/));
  it('knows the fields of a closed object', () => assert.deepEqual([...schema.fields!], ['id', 'item']));
});
