/**
 * A partition's stream time as committed with its offset: Kafka Streams' offset-commit metadata
 * (TopicPartitionMetadata, version 1: one version byte, then the time as a big-endian 64-bit
 * integer, base64). The same bytes as Kafka Streams, so either reads what the other committed.
 */

const VERSION = 1;

export function encodePartitionTime(time: number): string {
  const b = Buffer.alloc(9);
  b.writeUInt8(VERSION, 0);
  b.writeBigInt64BE(BigInt(time), 1);
  return b.toString('base64');
}

/**
 * The time in committed metadata; undefined when there is none or it is not ours (another tool
 * committed the offset, or a later version of the format): the task then starts without a stream
 * time, as Kafka Streams does with metadata it cannot read.
 */
export function decodePartitionTime(metadata: string | undefined): number | undefined {
  if (!metadata) return undefined;
  const b = Buffer.from(metadata, 'base64');
  // Kafka Streams' version 2 adds processor metadata after the time; the time reads the same.
  if (b.length < 9 || (b[0] !== 1 && b[0] !== 2)) return undefined;
  const time = Number(b.readBigInt64BE(1));
  return Number.isSafeInteger(time) && time >= 0 ? time : undefined;
}
