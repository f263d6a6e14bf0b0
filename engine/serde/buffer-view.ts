/**
 * Node's own Buffer class (FastBuffer), which Buffer publishes as its Symbol.species so that
 * typed-array methods such as subarray make Buffers. Constructing it over an ArrayBuffer is what
 * Buffer.from(arrayBuffer, offset, length) ends in, minus the argument checks: half the cost, for
 * the record path's millions of short-lived views (serialized keys and values, records read from
 * the log). The result is an ordinary Buffer in every way.
 */
const FastBuffer = (Buffer as unknown as { [Symbol.species]: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer })[Symbol.species];

/** A Buffer over `length` bytes of `arrayBuffer` from `byteOffset`; the caller keeps them in range. */
export const bufferView = (arrayBuffer: ArrayBufferLike, byteOffset: number, length: number): Buffer => new FastBuffer(arrayBuffer, byteOffset, length);
