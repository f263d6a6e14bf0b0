/**
 * Duality's Produce request encoder (engine/kafka/produce-request.ts) writes the bytes kafkajs's
 * own would, for kafkajs's messages and for the batches the record accumulator encoded
 * (engine/kafka/record-accumulator.ts); and kafkajs uses it.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../engine/kafka/kafkajs.js';
import { original } from './kafkajs-original.js';
import { crc32C, encodeProduceRequest, groupMessagesPerPartition, produceRequest, type ProduceRequestArgs } from '../../../engine/kafka/produce-request.js';
import { BATCH_BYTES, RecordAccumulator, type EncodedBatch } from '../../../engine/kafka/record-accumulator.js';
import { fetchedFrom } from './fetched-from.js';

const require = createRequire(import.meta.url);
const REQUEST = 'kafkajs/src/protocol/requests/produce/v3/request.js';
const GROUP = 'kafkajs/src/producer/groupMessagesPerPartition.js';

type Request = (args: ProduceRequestArgs) => { apiVersion: number; encode(): Promise<{ buffer: Buffer }> };
const kafkajsRequest = original<Request>(REQUEST);
const kafkajsBytes = async (args: ProduceRequestArgs): Promise<Buffer> => (await kafkajsRequest(args).encode()).buffer;

const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown };

const base = 1_764_000_000_000;
const messages = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    key: i % 7 === 0 ? null : Buffer.from(`word-${from + i}`),
    value: i % 5 === 0 ? `é-${i}` : Buffer.from(String(i * 31)),
    timestamp: String(base + ((i * 7919) % 1000)),
    ...(i % 3 === 0 ? { headers: { trace: `t${i}`, many: [Buffer.from('a'), 'b'] } } : {}),
  }));

const cases: [string, ProduceRequestArgs][] = [
  ['one partition, no transaction', { acks: -1, timeout: 30_000, topicData: [{ topic: 'words', partitions: [{ partition: 0, messages: messages(5) }] }] }],
  [
    'transactional, several topics and partitions, long values, a producer id and sequence',
    {
      acks: -1,
      timeout: 30_000,
      transactionalId: 'wordcount-1_0',
      producerId: Long.fromValue('4000000000123'),
      producerEpoch: 3,
      topicData: [
        { topic: 'wordcount-counts-repartition', partitions: [{ partition: 2, firstSequence: 17, messages: messages(300) }, { partition: 0, firstSequence: 0, messages: messages(1) }] },
        { topic: 'ü-out', partitions: [{ partition: 1, firstSequence: 2_000_000_000, messages: [{ key: 'k', value: Buffer.alloc(70_000, 1), timestamp: String(base) }] }] },
      ],
    },
  ],
  ['acks 1, an empty partition list', { acks: 1, timeout: 5, topicData: [{ topic: 't', partitions: [] }] }],
  ['timestamps far apart (a delta beyond 32 bits)', { acks: -1, timeout: 1, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ value: 'a', timestamp: '1000000000000' }, { value: 'b', timestamp: '9000000000000' }] }] }] }],
];

for (const [name, args] of cases) {
  test(`the same bytes as kafkajs: ${name}`, async () => {
    assert.deepEqual(await encodeProduceRequest(args), await kafkajsBytes(args));
    assert.deepEqual((await produceRequest(args).encode() as unknown as { buffer: Buffer }).buffer, await kafkajsBytes(args));
  });
}

test('a gzip batch: the same bytes as kafkajs (the same zlib compresses the same records)', async () => {
  const args: ProduceRequestArgs = { acks: -1, timeout: 1, compression: 1, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: messages(50) }] }] };
  assert.deepEqual(await encodeProduceRequest(args), await kafkajsBytes(args));
});

test('batch timestamps compare as numbers (kafkajs sorted them as strings)', async () => {
  const args: ProduceRequestArgs = { acks: -1, timeout: 1, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ value: 'a', timestamp: '999' }, { value: 'b', timestamp: '1000' }] }] }] };
  const batch = (await encodeProduceRequest(args)).subarray(12 + 3 + 4 + 8);
  const firstTimestamp = batch.readBigInt64BE(8 + 4 + 4 + 1 + 4 + 2 + 4);
  const maxTimestamp = batch.readBigInt64BE(8 + 4 + 4 + 1 + 4 + 2 + 4 + 8);
  assert.deepEqual([firstTimestamp, maxTimestamp], [999n, 1000n]);
});

test('kafkajs loads the replacements', () => {
  assert.equal(require(require.resolve(REQUEST)), produceRequest);
  assert.equal(require(require.resolve(GROUP)), groupMessagesPerPartition);
});

test('grouping by partition gives kafkajs\'s answer', () => {
  type M = { key: string; partition: number };
  const kafkajsGroup = original<typeof groupMessagesPerPartition<M>>(GROUP);
  const ms: M[] = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, partition: (i * 7) % 3 }));
  const args = { topic: 't', partitionMetadata: [{}, {}, {}], messages: ms, partitioner: ({ message }: { message: M }) => message.partition };
  assert.deepEqual(groupMessagesPerPartition(args), kafkajsGroup(args));
  assert.deepEqual(groupMessagesPerPartition({ ...args, partitionMetadata: [] }), {});
});

test('CRC-32C: the check value of "123456789" (0xe3069283), and kafkajs\'s answer for every length up to 64', () => {
  const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
  assert.equal(crc32C(Buffer.from('123456789')), 0xe3069283);
  const bytes = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 0xff));
  for (let n = 0; n <= 64; n++) assert.equal(crc32C(bytes.subarray(0, n)), kafkajsCrc(bytes.subarray(0, n)), `${n} bytes`);
});

/** The accumulator's batch of `ms` (their partition 0): what the engine's producer hands kafkajs. */
function accumulated(ms: readonly { key: Buffer | string | null; value: Buffer | string | null; timestamp: string; headers?: Record<string, unknown> }[]): EncodedBatch[] {
  const acc = new RecordAccumulator();
  const bytes = (v: Buffer | string | null): Buffer | null => (v === null ? null : Buffer.from(v));
  for (const m of ms) {
    // The engine keeps a header's last value (as Java's lastHeader); kafkajs would write every one.
    const headers = m.headers && Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, Buffer.from((Array.isArray(v) ? v[v.length - 1] : v) as string)]));
    acc.append('words', 0, bytes(m.key), bytes(m.value), Number(m.timestamp), headers);
  }
  return acc.drain();
}

test('records the accumulator encoded as they were sent: the same request bytes as kafkajs writes for them', async () => {
  // In timestamp order: kafkajs's batch starts at the smallest timestamp, the accumulator's (as Java's) at the first.
  const ms = messages(300)
    .sort((a, b) => Number(a.timestamp) - Number(b.timestamp))
    .map((m) => ({ ...m, ...(m.headers && { headers: { trace: m.headers.trace, many: 'b' } }) }));
  for (const transactional of [false, true]) {
    const common = { acks: -1, timeout: 30_000, ...(transactional && { transactionalId: 'wordcount-1_0', producerId: Long.fromValue('4000000000123'), producerEpoch: 3 }) };
    const [batch] = accumulated(ms);
    const ours = await encodeProduceRequest({ ...common, topicData: [{ topic: 'words', partitions: [{ partition: 0, firstSequence: 17, messages: batch! }] }] });
    const theirs = await kafkajsBytes({ ...common, topicData: [{ topic: 'words', partitions: [{ partition: 0, firstSequence: 17, messages: ms }] }] });
    assert.deepEqual(ours, theirs, transactional ? 'transactional' : 'plain');
    // A retry writes the header again, with its new sequence number.
    const retried = await encodeProduceRequest({ ...common, topicData: [{ topic: 'words', partitions: [{ partition: 0, firstSequence: 18, messages: batch! }] }] });
    assert.deepEqual(retried, await kafkajsBytes({ ...common, topicData: [{ topic: 'words', partitions: [{ partition: 0, firstSequence: 18, messages: ms }] }] }));
  }
});

test('accumulated records read back as sent: out-of-order timestamps, nulls, headers, a value bigger than a batch; full batches close', async () => {
  const acc = new RecordAccumulator();
  const big = Buffer.alloc(BATCH_BYTES + 10, 7);
  const sent = [
    { key: Buffer.from('a'), value: Buffer.from('1'), timestamp: 5_000, headers: { h: Buffer.from('x') } },
    { key: null, value: null, timestamp: 1_000 },
    { key: Buffer.from('é'), value: big, timestamp: 2 ** 42 },
    { key: Buffer.from('after'), value: Buffer.from('the big one'), timestamp: 4_000 },
  ];
  for (const r of sent) acc.append('t', 3, r.key, r.value, r.timestamp, r.headers);
  assert.equal(acc.size, 4);
  const batches = acc.drain();
  assert.equal(acc.size, 0);
  // The big value filled its batch, which closed; the last record opened the next.
  assert.deepEqual(batches.map((b) => b.count), [3, 1]);
  const got = [];
  for (const [i, b] of batches.entries()) {
    got.push(...(await fetchedFrom(b, i === 0 ? 0 : 3, 0, 4)).records());
  }
  assert.deepEqual(
    got.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers, offset: r.offset })),
    sent.map((r, offset) => ({ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers ?? {}, offset })),
  );
});
