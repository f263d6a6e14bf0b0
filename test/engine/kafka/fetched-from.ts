import { createRequire } from 'node:module';
import '../../../engine/kafka/kafkajs.js';
import { FetchedBatch } from '../../../engine/kafka/fetched-batch.js';
import { encodeProduceRequest } from '../../../engine/kafka/produce-request.js';
import type { EncodedBatch } from '../../../engine/kafka/record-accumulator.js';
import { decodeRecordSet } from '../../../engine/kafka/record-set.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => never;

/** Bytes of a one-partition Produce request (topic `t`) before its record set: transactional id (-1), acks, timeout, topic count, topic, partition count, partition. */
const RECORD_SET_AT = 2 + 2 + 4 + 4 + 2 + 1 + 4 + 4;

/**
 * An accumulator's batch as a fetch of topic `t` would bring it back: the Produce request's record
 * set, with the offset the broker would give the batch, decoded and filtered as the consumer does.
 */
export async function fetchedFrom(b: EncodedBatch, baseOffset: number, fetchedOffset: number, highWatermark: number): Promise<FetchedBatch> {
  const request = await encodeProduceRequest({ acks: -1, timeout: 1, topicData: [{ topic: 't', partitions: [{ partition: b.partition, messages: b }] }] });
  const set = request.subarray(RECORD_SET_AT);
  set.writeBigInt64BE(BigInt(baseOffset), 4);
  return new FetchedBatch('t', String(fetchedOffset), { partition: b.partition, highWatermark: String(highWatermark), messages: await decodeRecordSet(new Decoder(set)) });
}
