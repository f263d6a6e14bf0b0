import type { Serde } from '../api/serde.js';
import { canonicalValue, NOT_CANONICAL } from '../serde/canonical.js';

/**
 * A store's value with the timestamp it was written with (Kafka Streams' ValueAndTimestamp): an
 * aggregation's result carries the later of its previous timestamp and the record's, a table-table
 * join's the later of its two sides'.
 */
export interface Timestamped {
  readonly value: unknown;
  readonly timestamp: number;
}

/**
 * On disk (LevelDB) a value is its timestamp, a big-endian 64-bit integer, then the value's bytes,
 * as in Kafka Streams' timestamped stores. Changelogs hold the plain value, its timestamp as the
 * record's (changelogging-store.ts), so they read as before and as Kafka Streams writes them.
 */
export function withTimestamp(timestamp: number, value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + value.length);
  // Two 32-bit halves rather than a BigInt: this runs for every value a store writes.
  const high = Math.floor(timestamp / 2 ** 32);
  out.writeInt32BE(high, 0);
  out.writeUInt32BE(timestamp - high * 2 ** 32, 4);
  value.copy(out, 8);
  return out;
}

export const timestampOf = (bytes: Buffer): number => bytes.readInt32BE(0) * 2 ** 32 + bytes.readUInt32BE(4);
export const plainValue = (bytes: Buffer): Buffer => bytes.subarray(8);

/** The serde of a timestamped store's values, with the cache's shortcut through its round trip (canonical.ts). */
export function timestampedSerde(inner: Serde): Serde & { canonical: (v: unknown) => unknown } {
  const innerCanonical = canonicalValue(inner.name);
  return {
    name: inner.name,
    serialize(v: unknown): Buffer | null {
      if (v === null || v === undefined) return null;
      const { value, timestamp } = v as Timestamped;
      return withTimestamp(timestamp, inner.serialize(value)!);
    },
    deserialize(bytes: Buffer | null): unknown {
      if (bytes === null) return null;
      return { value: inner.deserialize(plainValue(bytes)), timestamp: timestampOf(bytes) };
    },
    canonical(v: unknown): unknown {
      const { value, timestamp } = v as Timestamped;
      const c = innerCanonical(value);
      return c === NOT_CANONICAL ? NOT_CANONICAL : { value: c, timestamp };
    },
  };
}
