/**
 * Duality's fetch decoding (engine/kafka/record-set.ts, fetched-batch.ts) answers what kafkajs's
 * own decodeMessages and Batch answer for the same fetch, hands the engine the records kafkajs
 * would, and drops aborted transactions as Kafka's Java consumer does.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../engine/kafka/kafkajs.js';
import { FetchedBatch } from '../../../engine/kafka/fetched-batch.js';
import { decodeRecordSet } from '../../../engine/kafka/record-set.js';
import { original } from './kafkajs-original.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => unknown;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (o: object) => Promise<{ buffer: Buffer }> };
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown };

const DECODE_MESSAGES = 'kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js';
const BATCH = 'kafkajs/src/consumer/batch.js';
type DecodeMessages = (decoder: unknown) => Promise<unknown>;
interface KafkajsBatch {
  messages: Iterable<{ offset: string; key: Buffer | null; value: Buffer | null; timestamp: string; headers: Record<string, unknown> }> & { length: number };
  isEmpty(): boolean;
  isEmptyIncludingFiltered(): boolean;
  isEmptyControlRecord(): boolean;
  isEmptyDueToFiltering(): boolean;
  isEmptyDueToLogCompactedMessages(): boolean;
  firstOffset(): string | null;
  lastOffset(): string;
  offsetLag(): string;
  offsetLagLow(): string;
}
type BatchClass = new (topic: string, fetchedOffset: string, partitionData: object) => KafkajsBatch;

const LOG_APPEND_TIME = 0x08;
const CONTROL = 0x20;
const T0 = 1_764_000_000_000;

interface BatchSpec {
  readonly first: number;
  /** Offset deltas of the records, when not 0, 1, 2, ... (a compacted batch). */
  readonly deltas?: number[];
  readonly records?: { key?: Buffer | string | null; value?: Buffer | string | null; headers?: object; timestampDelta?: number }[];
  readonly lastOffsetDelta?: number;
  readonly compression?: number;
  readonly producerId?: number;
  readonly transactional?: boolean;
  /** Attribute bits set after encoding: control batch, log-append time. */
  readonly flags?: number;
  /** A control batch's marker: 0 abort, 1 commit. */
  readonly marker?: 0 | 1;
}

async function encodeBatch(spec: BatchSpec): Promise<Buffer> {
  const records =
    spec.marker !== undefined
      ? [encodeRecord({ offsetDelta: 0, key: Buffer.from([0, 0, 0, spec.marker]), value: Buffer.from([0, 0, 0, 0, 0, 0]) })]
      : (spec.records ?? [{ value: 'x' }]).map((r, i) => encodeRecord({ offsetDelta: spec.deltas?.[i] ?? i, key: null, value: null, ...r }));
  const bytes = (
    await RecordBatch({
      firstOffset: Long.fromValue(spec.first),
      firstTimestamp: T0,
      maxTimestamp: T0 + 999,
      lastOffsetDelta: spec.lastOffsetDelta ?? (spec.deltas ? spec.deltas[spec.deltas.length - 1] : records.length - 1),
      compression: spec.compression ?? 0,
      transactional: spec.transactional ?? spec.marker !== undefined,
      producerId: Long.fromValue(spec.producerId ?? -1),
      records,
    })
  ).buffer;
  // The attributes are bytes 21-22; neither decoder checks the CRC that covers them.
  bytes[22] = bytes[22]! | (spec.flags ?? 0) | (spec.marker !== undefined ? CONTROL : 0);
  return bytes;
}

/** A partition's record set as the fetch response carries it: its size, then the batches. */
async function recordSet(specs: readonly BatchSpec[], cut = 0): Promise<Buffer> {
  const batches = Buffer.concat(await Promise.all(specs.map(encodeBatch)));
  const set = batches.subarray(0, batches.length - cut);
  const size = Buffer.alloc(4);
  size.writeInt32BE(set.length);
  return Buffer.concat([size, set]);
}

interface Fetch {
  readonly name: string;
  readonly batches: readonly BatchSpec[];
  readonly fetchedOffset: number;
  readonly highWatermark: number;
  readonly cut?: number;
  readonly abortedTransactions?: { producerId: string; firstOffset: string }[];
}

const fetches: Fetch[] = [
  {
    name: 'one plain batch: keys, values, null, headers (a key repeated)',
    batches: [{ first: 0, records: [{ key: 'k', value: 'v' }, { key: null, value: null, timestampDelta: 7 }, { key: 'é', value: Buffer.alloc(300, 9), headers: { a: '1', b: ['x', 'y'], c: Buffer.from([0, 1]) }, timestampDelta: 2 ** 33 }] }],
    fetchedOffset: 0,
    highWatermark: 3,
  },
  { name: 'two batches, the fetch starting inside the first', batches: [{ first: 10, records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] }, { first: 13, records: [{ value: 'd' }] }], fetchedOffset: 12, highWatermark: 20 },
  { name: 'a gzip batch the fetch starts inside', batches: [{ first: 0, compression: 1, records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }, { value: 'd' }] }], fetchedOffset: 2, highWatermark: 4 },
  { name: 'a batch cut off at the end of the response', batches: [{ first: 0 }, { first: 1, records: [{ value: 'long enough to cut' }] }], fetchedOffset: 0, highWatermark: 2, cut: 5 },
  { name: 'log-append time', batches: [{ first: 5, flags: LOG_APPEND_TIME, records: [{ value: 'a' }, { value: 'b', timestampDelta: 3 }] }], fetchedOffset: 5, highWatermark: 7 },
  {
    name: 'a committed transaction and its marker',
    batches: [{ first: 0, transactional: true, producerId: 7, records: [{ value: 'a' }, { value: 'b' }] }, { first: 2, producerId: 7, marker: 1 }],
    fetchedOffset: 0,
    highWatermark: 3,
  },
  { name: 'nothing but a marker', batches: [{ first: 4, producerId: 7, marker: 1 }], fetchedOffset: 4, highWatermark: 5 },
  { name: 'compacted: records missing, the fetch between them', batches: [{ first: 10, deltas: [0, 4], lastOffsetDelta: 9, records: [{ value: 'a' }, { value: 'b' }] }], fetchedOffset: 12, highWatermark: 20 },
  { name: 'compacted: nothing left at or after the fetch', batches: [{ first: 10, deltas: [0, 1], lastOffsetDelta: 9, records: [{ value: 'a' }, { value: 'b' }] }], fetchedOffset: 15, highWatermark: 20 },
  {
    name: 'one aborted transaction, one producer',
    batches: [{ first: 0, transactional: true, producerId: 3, records: [{ value: 'x' }] }, { first: 1, producerId: 3, marker: 0 }, { first: 2, records: [{ value: 'plain' }] }],
    fetchedOffset: 0,
    highWatermark: 3,
    abortedTransactions: [{ producerId: '3', firstOffset: '0' }],
  },
  { name: 'an empty fetch', batches: [], fetchedOffset: 8, highWatermark: 8 },
];

async function decodeBoth(f: Fetch): Promise<{ ours: FetchedBatch; theirs: KafkajsBatch }> {
  const bytes = await recordSet(f.batches, f.cut);
  const theirDecode = original<DecodeMessages>(DECODE_MESSAGES);
  const TheirBatch = original<BatchClass>(BATCH);
  const partition = { partition: 0, highWatermark: String(f.highWatermark), abortedTransactions: f.abortedTransactions ?? [] };
  const theirs = new TheirBatch('t', String(f.fetchedOffset), { ...partition, messages: await theirDecode(new Decoder(bytes)) });
  const ours = new FetchedBatch('t', String(f.fetchedOffset), { ...partition, messages: await decodeRecordSet(new Decoder(bytes) as never) });
  return { ours, theirs };
}

test('fetches decode as kafkajs decodes them: messages, emptiness, first and last offsets, lags', async () => {
  for (const f of fetches) {
    const { ours, theirs } = await decodeBoth(f);
    assert.deepEqual([...ours.messages], [...theirs.messages], f.name);
    assert.equal(ours.messages.length, theirs.messages.length, f.name);
    for (const m of ['isEmpty', 'isEmptyIncludingFiltered', 'isEmptyControlRecord', 'isEmptyDueToFiltering', 'isEmptyDueToLogCompactedMessages', 'firstOffset', 'lastOffset', 'offsetLag', 'offsetLagLow'] as const) {
      assert.equal(ours[m](), theirs[m](), `${f.name}: ${m}`);
    }
  }
});

test('the engine gets the records kafkajs hands out, as LogRecords, from any offset on', async () => {
  for (const f of fetches) {
    const { ours, theirs } = await decodeBoth(f);
    const expected = [...theirs.messages].map((m) => {
      const headers: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(m.headers)) headers[k] = Array.isArray(v) ? v[v.length - 1] : v;
      return { topic: 't', partition: 0, offset: Number(m.offset), key: m.key, value: m.value, timestamp: Number(m.timestamp), headers };
    });
    assert.deepEqual(ours.records(), expected, f.name);
    // A poll at a time, from past the first record: the cursor counts and hands out the rest.
    const from = expected.length > 1 ? expected[1]!.offset : f.fetchedOffset;
    const cursor = ours.cursor(from);
    const rest = expected.filter((r) => r.offset >= from);
    assert.equal(cursor.remaining, rest.length, f.name);
    const got: unknown[] = [];
    while (cursor.remaining > 0) assert.equal(cursor.next(got as never, 1), 1);
    assert.deepEqual(got, rest, f.name);
    assert.equal(cursor.last, rest.length > 0 ? rest[rest.length - 1]!.offset : -1);
  }
});

test('records of aborted transactions are dropped whatever the order of the broker\'s list (kafkajs handed some out)', async () => {
  // Producers 1 and 2 interleave in one partition and are both aborted (their instance was
  // killed); producer 3 writes outside transactions. The broker lists aborted transactions in the
  // order they ended. Then producer 1 commits a new transaction.
  const f: Fetch = {
    name: 'two producers aborted at once',
    batches: [
      { first: 0, transactional: true, producerId: 1, records: [{ value: 'p1 aborted' }] },
      { first: 1, transactional: true, producerId: 2, records: [{ value: 'p2 aborted' }] },
      { first: 2, transactional: true, producerId: 1, records: [{ value: 'p1 aborted too' }] },
      { first: 3, producerId: 3, records: [{ value: 'plain' }] },
      { first: 4, producerId: 2, marker: 0 },
      { first: 5, producerId: 1, marker: 0 },
      { first: 6, transactional: true, producerId: 1, records: [{ value: 'p1 committed' }] },
      { first: 7, producerId: 1, marker: 1 },
    ],
    fetchedOffset: 0,
    highWatermark: 8,
    abortedTransactions: [{ firstOffset: '1', producerId: '2' }, { firstOffset: '0', producerId: '1' }],
  };
  const { ours, theirs } = await decodeBoth(f);
  assert.deepEqual(ours.records().map((r) => r.value?.toString()), ['plain', 'p1 committed']);
  assert.equal(ours.lastOffset(), '7');
  assert.ok([...theirs.messages].some((m) => m.value?.toString() === 'p1 aborted'), 'kafkajs 2.2.4 hands out the aborted record of producer 1');
});

test('kafkajs loads the replacements', () => {
  assert.equal(require(require.resolve(DECODE_MESSAGES)), decodeRecordSet);
  assert.equal(require(require.resolve(BATCH)), FetchedBatch);
});
