/*
 * Kafka's default partitioner, so a key lands in the same partition here as with a Java producer
 * (and co-partitioned topics written by either line up).
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's `Utils.murmur2`: 32-bit MurmurHash2, little-endian blocks, as a signed 32-bit int. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The tail bytes fall through from 3 to 1, as in the Java switch.
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= (data[blocks + 2] as number) << 16;
    if (rest >= 2) h ^= (data[blocks + 1] as number) << 8;
    h ^= data[blocks] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which differs for negative hashes). */
const toPositive = (n: number): number => n & 0x7fffffff;

/** The partition of a keyed record: `toPositive(murmur2(key)) % numPartitions`. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/**
 * Chooses partitions for one producer. Records without a key go round-robin, one counter per topic
 * (Kafka's older default). Kafka's sticky partitioner fills one partition per batch instead, which
 * only pays off for network batching; round-robin spreads keyless records evenly in every flush.
 */
export class Partitioner {
  private readonly counters = new Map<string, number>();

  partition(topic: string, key: Uint8Array | null, numPartitions: number): number {
    // One partition: nothing to choose (and round-robin's counter only ever picks it).
    if (numPartitions === 1) return 0;
    if (key !== null) return partitionForKey(key, numPartitions);
    const next = this.counters.get(topic) ?? 0;
    this.counters.set(topic, next + 1);
    return next % numPartitions;
  }
}
