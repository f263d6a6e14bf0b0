/**
 * Every Kafka codec (engine/kafka/codecs.ts) round-trips: through kafkajs's own CompressionCodecs
 * (its decoders and encoders look them up there) and through Duality's Produce request encoder and
 * fetched record set decoder. Kafka's Java clients reading and writing them:
 * test/kafka/compression-kafka.test.ts.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import kafkajs from '../../../engine/kafka/kafkajs.js';
import { encodeProduceRequest } from '../../../engine/kafka/produce-request.js';
import { decodeRecordSet, type RecordBatch } from '../../../engine/kafka/record-set.js';
import { COMPRESSION_TYPES, lz4Compress, snappyCompress } from '../../../engine/kafka/codecs.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => never;
const snappy = require('snappyjs') as { compress(b: Buffer): Buffer };

/** Seeded bytes, partly repetitive (so that they compress) and larger than one lz4 or snappy block. */
function sample(size: number, seed = 7): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = i % 100 < 60 ? 97 + (x % 4) : x & 0xff;
  }
  return out;
}

const codecs = ['gzip', 'snappy', 'lz4', 'zstd'] as const;

for (const name of codecs) {
  test(`${name}: kafkajs's CompressionCodecs has it, and it round-trips 0 bytes, 1 byte and 300 KB`, async () => {
    const codec = kafkajs.CompressionCodecs[COMPRESSION_TYPES[name]]!() as unknown as {
      compress(e: { buffer: Buffer }): Promise<Buffer>;
      decompress(b: Buffer): Promise<Buffer>;
    };
    for (const data of [Buffer.alloc(0), Buffer.from('x'), sample(300_000)]) {
      const packed = await codec.compress({ buffer: data });
      if (data.length > 1000) assert.ok(packed.length < data.length, `${name} compresses`);
      assert.deepEqual(await codec.decompress(packed), data);
    }
  });

  test(`${name}: a produced batch decodes to its records`, async () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({ key: Buffer.from(`k${i % 13}`), value: Buffer.from(`value ${i} `.repeat(20)), timestamp: String(1_764_000_000_000 + i) }));
    const request = await encodeProduceRequest({ acks: -1, timeout: 1, compression: COMPRESSION_TYPES[name], topicData: [{ topic: 't', partitions: [{ partition: 0, messages }] }] });
    const set = request.subarray(2 + 2 + 4 + 4 + 2 + 1 + 4 + 4);
    assert.equal(set.readInt16BE(4 + 21) & 7, COMPRESSION_TYPES[name]);
    const [batch] = (await decodeRecordSet(new Decoder(set))) as RecordBatch[];
    assert.equal(batch!.count, 500);
    const body = batch!.bytes.subarray(batch!.start, batch!.end);
    // The last record's value is in the decompressed records.
    assert.ok(body.includes(Buffer.from('value 499 value 499')));
  });
}

test('snappy: what Kafka writes is xerial-framed (magic, version 1, compatible 1), raw snappy is read too', async () => {
  const data = sample(100_000);
  const framed = snappyCompress(data);
  assert.deepEqual(framed.subarray(0, 16), Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]));
  const codec = kafkajs.CompressionCodecs[COMPRESSION_TYPES.snappy]!() as unknown as { decompress(b: Buffer): Promise<Buffer> };
  assert.deepEqual(await codec.decompress(snappy.compress(data)), data);
});

test('lz4: a frame of independent 64 KiB blocks, as KafkaLZ4BlockOutputStream writes it', () => {
  const framed = lz4Compress(sample(200_000));
  assert.equal(framed.readUInt32LE(0), 0x184d2204);
  assert.equal(framed[4], 0x60, 'FLG: version 01, independent blocks');
  assert.equal(framed[5], 0x40, 'BD: 64 KiB');
  assert.equal(framed.readUInt32LE(framed.length - 4), 0, 'end mark');
});

test('a batch naming compression type 5 fails clearly', async () => {
  const messages = [{ value: Buffer.from('a') }];
  const request = await encodeProduceRequest({ acks: -1, timeout: 1, topicData: [{ topic: 't', partitions: [{ partition: 0, messages }] }] });
  const set = Buffer.from(request.subarray(2 + 2 + 4 + 4 + 2 + 1 + 4 + 4));
  set.writeInt16BE(5, 4 + 21);
  await assert.rejects(decodeRecordSet(new Decoder(set)), /compression type 5, which is not a Kafka codec/);
});

/**
 * The sequences of one LZ4 block: where each match starts in the decoded output and how long the
 * block decodes to; a match's offset is checked to point into the block (blocks are independent).
 */
function lz4Sequences(block: Buffer): { matchStarts: number[]; decoded: number; lastLiterals: number } {
  const matchStarts: number[] = [];
  let at = 0;
  let out = 0;
  let lastLiterals = 0;
  const length = (n: number): number => {
    if (n !== 15) return n;
    for (let b = 255; b === 255; n += b) b = block[at++]!;
    return n;
  };
  for (;;) {
    const token = block[at++]!;
    const literals = length(token >> 4);
    at += literals;
    out += literals;
    lastLiterals = literals;
    if (at >= block.length) return { matchStarts, decoded: out, lastLiterals };
    const offset = block.readUInt16LE(at);
    at += 2;
    assert.ok(offset > 0 && offset <= out, `a match at ${out} reaches back ${offset} bytes, outside its block`);
    matchStarts.push(out);
    out += length(token & 15) + 4;
  }
}

test('lz4: every block keeps the end-of-block rules Kafka\'s JNI decoder enforces (last match starts >= 12 bytes before the end, last 5 bytes literals)', () => {
  // Words, as records of a WordCount carry them: the case that made the broker refuse batches.
  let x = 11;
  const words = Array.from({ length: 60_000 }, () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return `w${x % 5000}`;
  }).join(' ');
  for (const data of [sample(300_000), sample(1_000_000, 3), Buffer.from(words)]) {
    const framed = lz4Compress(data);
    let decoded = 0;
    for (let at = 7; ; ) {
      const header = framed.readUInt32LE(at);
      at += 4;
      if (header === 0) break;
      const size = header & 0x7fffffff;
      const block = framed.subarray(at, at + size);
      at += size;
      if ((header & 0x80000000) !== 0) {
        decoded += size;
        continue;
      }
      const { matchStarts, decoded: n, lastLiterals } = lz4Sequences(block);
      for (const start of matchStarts) assert.ok(start <= n - 12, `a match starts ${n - start} bytes before the end of a block of ${n}`);
      assert.ok(lastLiterals >= 5 || n < 5, `the block ends with ${lastLiterals} literals`);
      decoded += n;
    }
    assert.equal(decoded, data.length);
  }
});
