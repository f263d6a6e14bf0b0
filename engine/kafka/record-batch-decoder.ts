/**
 * kafkajs's decoder of a record batch (magic 2), with the records decoded in one pass over the
 * batch's bytes (record-decoder.ts) instead of a Buffer slice and a Decoder object per record. The
 * batch's fields, its errors (a batch cut off at the end of a fetch response is kafkajs's
 * KafkaJSPartialMessageError, which its fetch decoder expects) and its compressed form are
 * kafkajs's own; a test compares the answers with kafkajs's.
 *
 * engine/kafka/kafkajs.ts puts `decodeRecordBatch` in Node's module cache in place of
 * `kafkajs/src/protocol/recordBatch/v0/decoder.js`, before kafkajs loads.
 */
import { createRequire } from 'node:module';
import { decodeRecords, type BatchContext, type DecodedRecord } from './record-decoder.js';

const require = createRequire(import.meta.url);
const { KafkaJSPartialMessageError } = require('kafkajs/src/errors.js') as { KafkaJSPartialMessageError: new (message: string) => Error };
const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression/index.js') as {
  lookupCodecByAttributes(attributes: number): { decompress(b: Buffer): Promise<Buffer> } | undefined;
};

/** kafkajs's Decoder, the methods of it this uses. */
interface Decoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  slice(length: number): Decoder;
  forward(length: number): void;
  readAll(): Buffer;
}

const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
const CREATE_TIME = 0;
const LOG_APPEND_TIME = 1;

export async function decodeRecordBatch(fetchDecoder: Decoder): Promise<BatchContext & Record<string, unknown> & { records: DecodedRecord[] }> {
  const firstOffset = fetchDecoder.readInt64().toString();
  const length = fetchDecoder.readInt32();
  const decoder = fetchDecoder.slice(length);
  fetchDecoder.forward(length);
  const remainingBytes = Buffer.byteLength(decoder.buffer);
  if (remainingBytes < length) {
    throw new KafkaJSPartialMessageError(`Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`);
  }
  const partitionLeaderEpoch = decoder.readInt32();
  const magicByte = decoder.readInt8();
  decoder.readInt32(); // the CRC, which kafkajs does not check either
  const attributes = decoder.readInt16();
  const lastOffsetDelta = decoder.readInt32();
  const firstTimestamp = decoder.readInt64().toString();
  const maxTimestamp = decoder.readInt64().toString();
  const producerId = decoder.readInt64().toString();
  const producerEpoch = decoder.readInt16();
  const firstSequence = decoder.readInt32();

  const recordContext = {
    firstOffset,
    firstTimestamp,
    partitionLeaderEpoch,
    inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
    isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
    lastOffsetDelta,
    producerId,
    producerEpoch,
    firstSequence,
    maxTimestamp,
    timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
  };
  const records = await readRecords(lookupCodecByAttributes(attributes), decoder, { ...recordContext, magicByte });
  return { ...recordContext, records };
}

async function readRecords(codec: ReturnType<typeof lookupCodecByAttributes>, decoder: Decoder, context: BatchContext): Promise<DecodedRecord[]> {
  const count = decoder.readInt32();
  if (!codec) return count === -1 ? [] : decodeRecords(decoder.buffer, decoder.offset, count, context);
  if (count <= 0) return [];
  return decodeRecords(await codec.decompress(decoder.readAll()), 0, count, context);
}
