import type { Serde } from '../api/serde.js';
import type { Serde as SerdeName } from '../api/topology-graph.js';
import { expectLength, nonFiniteAt, NOT_FINITE, toDouble, toInteger } from './numbers.js';
import { describeValue, SerdeError } from './serde-error.js';
import { doubleAt, doubleBytes, int32At, intBytes, jsonStringBytes, longBytes, shortJsonString, utf8Bytes, utf8Text } from './text.js';

/*
 * The serdes, byte-for-byte as Kafka's StringSerializer, LongSerializer, IntegerSerializer,
 * DoubleSerializer and ByteArraySerializer, so topics are readable by Java clients and back.
 * `null` is a tombstone both ways in every serde.
 *
 * `bytes` values are Buffers inside the engine, which CEL sees as its `bytes` type. Wherever bytes
 * meet text (JSON results, HTTP bodies, a json sink) they are base64, the protobuf JSON mapping
 * that CEL's own JSON conversion uses; so the bytes serde also accepts a base64 string, which makes
 * a value that went through JSON come back as the same bytes.
 */

const MAX_LONG = Number.MAX_SAFE_INTEGER;
const LONG_RANGE = '±(2^53-1), the integers a JSON number holds exactly';
const INT_RANGE = 'the 32-bit range -2147483648..2147483647';

const string: Serde = {
  name: 'string',
  serialize(value) {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string') return utf8Bytes(value);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new SerdeError('string', `cannot encode ${describeValue(value)}: ${NOT_FINITE}`);
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      return utf8Bytes(String(value));
    }
    throw new SerdeError('string', `cannot encode ${describeValue(value)} as text; use the json serde for structured values`);
  },
  // Malformed UTF-8 becomes U+FFFD, as Java's decoder does in StringDeserializer.
  deserialize: (bytes) => (bytes === null ? null : utf8Text(bytes)),
};

// JSON.stringify would write a Buffer as {"type":"Buffer","data":[...]}; bytes are base64 instead.
// The replacer costs, so it only runs when that shape shows up in the fast path's output.
function bytesAsBase64(this: unknown, key: string, v: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  return original instanceof Uint8Array ? Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') : v;
}

const json: Serde = {
  name: 'json',
  serialize(value) {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string') return jsonStringBytes(value);
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
      if (text !== undefined && text.includes('"type":"Buffer"')) text = JSON.stringify(value, bytesAsBase64);
    } catch (e) {
      throw new SerdeError('json', `cannot encode the value: ${(e as Error).message}`, { cause: e });
    }
    if (text === undefined) throw new SerdeError('json', `cannot encode ${describeValue(value)}`);
    // JSON.stringify writes NaN and ±Infinity as null: a value whose text has no null has none.
    if (text.includes('null')) {
      const at = nonFiniteAt(value);
      if (at !== undefined) throw new SerdeError('json', `cannot encode ${at === '' ? describeValue(value) : `the number at ${at}`}: ${NOT_FINITE}`);
    }
    return Buffer.from(text, 'utf8');
  },
  deserialize(bytes) {
    if (bytes === null) return null;
    const short = shortJsonString(bytes);
    if (short !== undefined) return short;
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch (e) {
      throw new SerdeError('json', `not valid JSON: ${(e as Error).message}`, { cause: e });
    }
  },
};

const long: Serde = {
  name: 'long',
  serialize(value) {
    if (value === null || value === undefined) return null;
    return longBytes(toInteger('long', value, -MAX_LONG, MAX_LONG, LONG_RANGE));
  },
  deserialize(bytes) {
    if (bytes === null) return null;
    expectLength('long', bytes, 8);
    // Two halves keep the common case free of BigInt; the high word decides whether it fits.
    const n = int32At(bytes, 0) * 0x1_0000_0000 + (int32At(bytes, 4) >>> 0);
    if (!Number.isSafeInteger(n)) {
      throw new SerdeError('long', `${bytes.readBigInt64BE(0)} is outside ${LONG_RANGE}`);
    }
    return n;
  },
};

const int: Serde = {
  name: 'int',
  serialize(value) {
    if (value === null || value === undefined) return null;
    return intBytes(toInteger('int', value, -0x8000_0000, 0x7fff_ffff, INT_RANGE));
  },
  deserialize(bytes) {
    if (bytes === null) return null;
    expectLength('int', bytes, 4);
    return int32At(bytes, 0);
  },
};

const double: Serde = {
  name: 'double',
  serialize(value) {
    if (value === null || value === undefined) return null;
    return doubleBytes(toDouble('double', value));
  },
  deserialize(bytes) {
    if (bytes === null) return null;
    expectLength('double', bytes, 8);
    return doubleAt(bytes);
  },
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

const bytes: Serde = {
  name: 'bytes',
  serialize(value) {
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (typeof value === 'string') {
      // Node's decoder skips characters it does not know; a typo must not silently change the bytes.
      if (!BASE64.test(value)) throw new SerdeError('bytes', `cannot encode ${describeValue(value)}: a string must be base64`);
      return Buffer.from(value, 'base64');
    }
    throw new SerdeError('bytes', `cannot encode ${describeValue(value)}: expected bytes or a base64 string`);
  },
  deserialize: (b) => b,
};

const SERDES: Partial<Record<SerdeName, Serde>> = { string, json, long, int, double, bytes };

/**
 * The serde of a name from the topology; serdes are stateless, so each name has one shared
 * instance. The Schema Registry serdes (avro, protobuf, json-schema) are the engine's (RegistrySerdes).
 */
export function serdeFor(name: SerdeName): Serde {
  const serde = Object.hasOwn(SERDES, name) ? SERDES[name] : undefined;
  if (serde === undefined) {
    if (name === 'avro' || name === 'protobuf' || name === 'json-schema') throw new SerdeError(name, 'needs a Schema Registry, which only a running topology has (duality run)');
    throw new SerdeError(String(name), `unknown serde; expected one of ${Object.keys(SERDES).join(', ')}`);
  }
  return serde;
}
