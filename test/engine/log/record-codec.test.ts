import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Headers } from '../../../engine/api/log.js';
import { decodeRecordAt, encodeRecords, frameStarts, type RecordFields } from '../../../engine/log/record-codec.js';

const protoHeader: Headers = {};
Object.defineProperty(protoHeader, '__proto__', { value: Buffer.from([1]), enumerable: true, writable: true, configurable: true });

describe('record codec', () => {
  const records: RecordFields[] = [
    { key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: 1700000000123 },
    { key: null, value: null, timestamp: 0 },
    { key: Buffer.alloc(0), value: Buffer.from([0, 255]), timestamp: -5, headers: { trace: Buffer.from('abc'), 'é': Buffer.alloc(0) } },
    { key: Buffer.from('x'), value: Buffer.from('y'), timestamp: 1, headers: protoHeader },
  ];

  it('reads back keys, values, null tombstones, timestamps and headers', () => {
    const data = encodeRecords(records);
    const starts = frameStarts(data, 't:0');
    assert.equal(starts.length, 4);
    const back = starts.map((pos, i) => decodeRecordAt(data, pos, 't', 0, 10 + i));
    assert.deepEqual(back.map((r) => r.offset), [10, 11, 12, 13]);
    assert.equal(back[0]?.key?.toString(), 'k1');
    assert.equal(back[0]?.timestamp, 1700000000123);
    assert.equal(back[1]?.key, null);
    assert.equal(back[1]?.value, null);
    assert.deepEqual(back[2]?.key, Buffer.alloc(0), 'an empty key is not a null key');
    assert.deepEqual(back[2]?.value, Buffer.from([0, 255]));
    assert.equal(back[2]?.timestamp, -5);
    assert.deepEqual(Object.keys(back[2]?.headers ?? {}), ['trace', 'é']);
    assert.equal(back[2]?.headers.trace?.toString(), 'abc');
    assert.deepEqual(Object.keys(back[1]?.headers ?? { x: 1 }), []);
  });

  it('keeps a header named __proto__ as a header', () => {
    const data = encodeRecords([records[3]!]);
    const r = decodeRecordAt(data, 0, 't', 0, 0);
    assert.deepEqual(Object.keys(r.headers), ['__proto__']);
    assert.equal(Object.getPrototypeOf(r.headers), Object.prototype);
  });

  it('refuses a buffer that ends inside a record', () => {
    const data = encodeRecords(records);
    assert.throws(() => frameStarts(data.subarray(0, data.length - 3), 'orders:2'), /data of orders:2 is damaged at byte \d+/);
  });
});
