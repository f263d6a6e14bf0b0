/**
 * kafkajs, with four of its modules replaced in Node's module cache before kafkajs loads:
 *
 * - `src/protocol/requests/fetch/v4/decodeMessages.js` (Fetch v4..v11) and `src/consumer/batch.js`,
 *   for speed and a fix: a fetch's records stay bytes until the engine polls them, and whole
 *   batches are filtered, aborted transactions as Kafka's Java consumer filters them
 *   (engine/kafka/record-set.ts, fetched-batch.ts);
 * - `src/protocol/requests/produce/v3/request.js` (Produce v3..v7) and
 *   `src/producer/groupMessagesPerPartition.js`, for speed: the same bytes and the same grouping
 *   in linear time without an object per record (engine/kafka/produce-request.ts).
 *
 * It also has every Kafka codec (engine/kafka/codecs.ts registers snappy, lz4 and zstd in its
 * CompressionCodecs, which kafkajs 2.2.4 lacks).
 *
 * Every module of Duality takes kafkajs from here, never from 'kafkajs' directly.
 */
import { createRequire } from 'node:module';
import './codecs.js';
import { FetchedBatch } from './fetched-batch.js';
import { groupMessagesPerPartition, produceRequest } from './produce-request.js';
import { decodeRecordSet } from './record-set.js';

const require = createRequire(import.meta.url);

function replace(module: string, exports: unknown): void {
  const path = require.resolve(module);
  if (require.cache[path] === undefined) {
    require.cache[path] = { id: path, filename: path, path, loaded: true, exports, children: [], paths: [] } as unknown as NodeJS.Module;
  }
}
replace('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js', decodeRecordSet);
replace('kafkajs/src/consumer/batch.js', FetchedBatch);
replace('kafkajs/src/protocol/requests/produce/v3/request.js', produceRequest);
replace('kafkajs/src/producer/groupMessagesPerPartition.js', groupMessagesPerPartition);

const kafkajs = require('kafkajs') as typeof import('kafkajs');
export default kafkajs;
