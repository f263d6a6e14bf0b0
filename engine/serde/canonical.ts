import type { Serde as SerdeName } from '../api/topology-graph.js';
import { int32At } from './text.js';

/*
 * Shortcuts through a serde's round trip, for the typed store cache (engine/state/caching-store.ts),
 * which keeps decoded values and must hand out exactly what reading the bytes back would give.
 * For the common shapes (a string, a safe integer) that value is known without serializing; for the
 * rest the answer is NOT_CANONICAL and the caller does the round trip.
 */

export const NOT_CANONICAL: unique symbol = Symbol('not canonical');

/** ES2024's String methods: Node 20 has them, the ES2023 lib types do not. */
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** The string UTF-8 bytes decode back to: lone surrogates become U+FFFD, as in Buffer.from. */
export const wellFormed = (s: string): string => ((s as unknown as WellFormed).isWellFormed() ? s : (s as unknown as WellFormed).toWellFormed());

const INT_MIN = -0x8000_0000;
const INT_MAX = 0x7fff_ffff;

/**
 * `deserialize(serialize(value))` without the bytes, or NOT_CANONICAL when that takes the bytes
 * (objects, BigInt, numeric text, anything the serde would refuse). `value` is not null.
 */
export function canonicalValue(serde: SerdeName): (value: unknown) => unknown {
  switch (serde) {
    case 'string':
      return (v) => (typeof v === 'string' ? wellFormed(v) : NOT_CANONICAL);
    case 'long':
      // `+ 0` turns -0 into 0, as the bytes do.
      return (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? v + 0 : NOT_CANONICAL);
    case 'int':
      return (v) => (typeof v === 'number' && Number.isInteger(v) && v >= INT_MIN && v <= INT_MAX ? v + 0 : NOT_CANONICAL);
    case 'double':
      return (v) => (typeof v === 'number' && Number.isFinite(v) ? v : NOT_CANONICAL);
    case 'json':
      return (v) => {
        if (typeof v === 'string') return wellFormed(v);
        if (typeof v === 'number') return Number.isFinite(v) ? v + 0 : NOT_CANONICAL;
        if (typeof v === 'boolean') return v;
        return NOT_CANONICAL;
      };
    case 'bytes':
      return (v) => (Buffer.isBuffer(v) ? v : NOT_CANONICAL);
    default:
      return () => NOT_CANONICAL;
  }
}

/**
 * How a store cache keys its map: a form of the key that two keys share exactly when their bytes
 * are equal, and that costs nothing to compute for the common key types. String keys are their
 * (well-formed) text and long/int keys their number; other serdes use the bytes as a latin1 string.
 */
export interface MapKeyForm {
  /** The map key of a typed key, or NOT_CANONICAL when it takes the bytes (`fromBytes`). */
  fast(key: unknown): string | number | typeof NOT_CANONICAL;
  /** The map key of a key's serialized bytes. */
  fromBytes(bytes: Buffer): string | number;
  /** The bytes of a map key. */
  toBytes(mapKey: string | number, serialize: (key: unknown) => Buffer | null): Buffer;
}

export function mapKeyForm(serde: SerdeName): MapKeyForm {
  switch (serde) {
    case 'string':
      return {
        fast: (k) => (typeof k === 'string' ? wellFormed(k) : NOT_CANONICAL),
        fromBytes: (b) => b.toString('utf8'),
        toBytes: (k, serialize) => serialize(k)!,
      };
    case 'long':
    case 'int': {
      const canonical = canonicalValue(serde);
      return {
        fast: (k) => canonical(k) as number | typeof NOT_CANONICAL,
        fromBytes: (b) => (serde === 'long' ? int32At(b, 0) * 0x1_0000_0000 + (int32At(b, 4) >>> 0) : int32At(b, 0)),
        toBytes: (k, serialize) => serialize(k)!,
      };
    }
    default:
      return {
        fast: () => NOT_CANONICAL,
        fromBytes: (b) => b.toString('latin1'),
        toBytes: (k) => Buffer.from(k as string, 'latin1'),
      };
  }
}
