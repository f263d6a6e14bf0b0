import { SerdeError } from './serde-error.js';

/*
 * Confluent's wire format, which every Schema Registry serializer writes: a zero magic byte, the
 * schema id as a 4-byte big-endian int, then (protobuf only) the message indexes, then the payload.
 * https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */

export const MAGIC_BYTE = 0;
/** The magic byte and the schema id. */
export const HEADER_BYTES = 5;

/** The schema id of framed bytes, or undefined when they are too short or start with another byte. */
export function schemaIdOf(bytes: Buffer | null): number | undefined {
  if (bytes === null || bytes.length < HEADER_BYTES || bytes[0] !== MAGIC_BYTE) return undefined;
  return bytes.readInt32BE(1);
}

/** The schema id of framed bytes; SerdeError for bytes that are not in the wire format. */
export function readSchemaId(serde: string, bytes: Buffer): number {
  if (bytes.length < HEADER_BYTES) throw new SerdeError(serde, `${bytes.length} bytes are too few for the Schema Registry wire format (a magic byte 0 and a 4-byte schema id first)`);
  if (bytes[0] !== MAGIC_BYTE) throw new SerdeError(serde, `unknown magic byte ${bytes[0]}: not written by a Schema Registry serializer (expected 0, then a 4-byte schema id)`);
  return bytes.readInt32BE(1);
}

/** The magic byte and `id`, then `payload`. */
export function frame(id: number, payload: Uint8Array, indexes?: Buffer): Buffer {
  const extra = indexes?.length ?? 0;
  const out = Buffer.allocUnsafe(HEADER_BYTES + extra + payload.length);
  out[0] = MAGIC_BYTE;
  out.writeInt32BE(id, 1);
  if (indexes) indexes.copy(out, HEADER_BYTES);
  out.set(payload, HEADER_BYTES + extra);
  return out;
}

/*
 * Protobuf's message indexes: which message of the schema the payload is, as a path through the
 * nested message declarations ([1, 0] is the first message nested in the second top-level one).
 * Written as a zigzag varint count followed by zigzag varint indexes, except that the common [0]
 * is the single byte 0 (a count of zero), as Confluent's MessageIndexes.toByteArray writes it.
 */

/** The bytes of a message-index path. */
export function encodeMessageIndexes(path: readonly number[]): Buffer {
  if (path.length === 1 && path[0] === 0) return Buffer.from([0]);
  const bytes: number[] = [];
  for (const n of [path.length, ...path]) writeZigzagVarint(n, bytes);
  return Buffer.from(bytes);
}

/** The message-index path at `bytes[at..]` and where the payload starts; SerdeError when malformed. */
export function decodeMessageIndexes(bytes: Buffer, at: number): { path: number[]; end: number } {
  const count = readZigzagVarint(bytes, at);
  if (count.value === 0) return { path: [0], end: count.end };
  if (count.value < 0 || count.value > 100) throw new SerdeError('protobuf', `malformed message indexes: a count of ${count.value}`);
  const path: number[] = [];
  let end = count.end;
  for (let i = 0; i < count.value; i++) {
    const n = readZigzagVarint(bytes, end);
    if (n.value < 0) throw new SerdeError('protobuf', `malformed message indexes: index ${n.value}`);
    path.push(n.value);
    end = n.end;
  }
  return { path, end };
}

function writeZigzagVarint(n: number, out: number[]): void {
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  while (z >= 0x80) {
    out.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  out.push(z);
}

function readZigzagVarint(bytes: Buffer, at: number): { value: number; end: number } {
  let z = 0;
  for (let shift = 0, i = at; shift < 35; shift += 7, i++) {
    if (i >= bytes.length) break;
    const b = bytes[i]!;
    z |= (b & 0x7f) << shift;
    if (b < 0x80) return { value: (z >>> 1) ^ -(z & 1), end: i + 1 };
  }
  throw new SerdeError('protobuf', 'malformed message indexes: the bytes end inside a varint');
}
