/**
 * Duality's record decoder (engine/kafka/record-decoder.ts) answers what kafkajs's own does, and
 * kafkajs uses it.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../engine/kafka/kafkajs.js';
import { decodeRecord, type BatchContext } from '../../../engine/kafka/record-decoder.js';
import { original } from './kafkajs-original.js';

const require = createRequire(import.meta.url);
const DECODER = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
type Decoder = { buffer: Buffer; offset: number };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => Decoder;
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => { buffer: Buffer };

const kafkajsDecoder = (): typeof decodeRecord => original<typeof decodeRecord>(DECODER);

const records = [
  { offsetDelta: 0, timestampDelta: 0, key: Buffer.from('k'), value: Buffer.from('v') },
  { offsetDelta: 7, timestampDelta: 123_456, key: null, value: null },
  { offsetDelta: 70_000, timestampDelta: 2 ** 40, key: 'é', value: Buffer.alloc(300, 9), headers: { a: '1', b: ['x', 'y', 'z'], c: Buffer.from([0, 1]) } },
];
const contexts: BatchContext[] = [
  { firstOffset: '0', firstTimestamp: '1764000000000', magicByte: 2, timestampType: 0, maxTimestamp: '1764000000001' },
  { firstOffset: '9007199254000000', firstTimestamp: '-1', magicByte: 2, isControlBatch: true, timestampType: 0 },
  { firstOffset: '42', firstTimestamp: '5', magicByte: 2, timestampType: 1, maxTimestamp: '1764000000999' },
];

test('records decode as kafkajs decodes them: offsets, timestamps (create and log-append time), keys, values, headers', () => {
  const theirs = kafkajsDecoder();
  assert.notEqual(theirs, decodeRecord);
  for (const record of records) {
    for (const context of contexts) {
      // The batch decoder hands each record its own bytes, after the length prefix.
      const bytes = encodeRecord(record).buffer;
      const body = (at: number): Buffer => bytes.subarray(at);
      const prefix = new Decoder(bytes);
      (prefix as unknown as { readVarInt(): number }).readVarInt();
      const a = new Decoder(body(prefix.offset));
      const b = new Decoder(body(prefix.offset));
      assert.deepEqual(decodeRecord(a, context), theirs(b, context));
      assert.equal(a.offset, b.offset);
    }
  }
});

test('kafkajs loads the replacement', () => {
  assert.equal(require(require.resolve(DECODER)), decodeRecord);
});

const BATCH_DECODER = 'kafkajs/src/protocol/recordBatch/v0/decoder.js';
type BatchDecoder = (d: Decoder) => Promise<unknown>;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (o: object) => Promise<{ buffer: Buffer }> };
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown };

const kafkajsBatchDecoder = (): BatchDecoder => original<BatchDecoder>(BATCH_DECODER);

test('record batches decode as kafkajs decodes them: plain, gzip, transactional, and a batch cut off at the end of a fetch', async () => {
  const theirs = kafkajsBatchDecoder();
  const ours = require(require.resolve(BATCH_DECODER)) as BatchDecoder;
  assert.notEqual(ours, theirs, 'kafkajs loads the replacement');
  const batchRecords = records.map((r, i) => encodeRecord({ ...r, offsetDelta: i }));
  for (const options of [
    { compression: 0 },
    { compression: 1 },
    { compression: 0, transactional: true, producerId: Long.fromValue('4000000000123'), producerEpoch: 2, firstSequence: 9, firstOffset: Long.fromValue(77) },
    { compression: 0, records: [] as unknown[] },
  ]) {
    const bytes = (await RecordBatch({ records: batchRecords, firstTimestamp: 1_764_000_000_000, maxTimestamp: 1_764_000_000_500, lastOffsetDelta: batchRecords.length - 1, ...options })).buffer;
    const a = new Decoder(bytes);
    const b = new Decoder(bytes);
    assert.deepEqual(await ours(a), await theirs(b), JSON.stringify(options));
    assert.equal(a.offset, b.offset);
    const cut = bytes.subarray(0, bytes.length - 3);
    await assert.rejects(ours(new Decoder(cut)), (e: Error) => e.name === 'KafkaJSPartialMessageError');
    await assert.rejects(theirs(new Decoder(cut)), (e: Error) => e.name === 'KafkaJSPartialMessageError');
  }
});
