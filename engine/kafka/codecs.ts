/**
 * The compression codecs of Kafka's record batches (attributes bits 0-2), with the framing Kafka's
 * Java producer writes, so that Duality reads what any Kafka client wrote and Kafka reads what
 * Duality writes:
 *
 * - gzip (1): kafkajs's own (zlib);
 * - snappy (2): snappy-java's stream framing ("xerial": a magic header, then blocks of 32 KiB,
 *   each its compressed length and raw snappy); a batch of raw snappy (no header, as librdkafka
 *   and some ports write) is read too, as snappy-java's SnappyInputStream reads it;
 * - lz4 (3): the LZ4 frame format with independent blocks of 64 KiB, as Kafka's
 *   KafkaLZ4BlockOutputStream writes it (since message format v1 its header checksum is the
 *   standard one). Frames are read by lz4js; blocks are compressed by lz4_flex (wasm), since
 *   lz4js's compressor may start a block's last match 10 bytes before its end, which LZ4 forbids
 *   (12 at least) and the broker's JNI decoder refuses: the whole produce request failed;
 * - zstd (4): zstd frames; Java's streaming writer leaves the content size out, which fzstd reads
 *   (the wasm zstd's one-shot decompress needs it), while writing goes through the wasm zstd, at
 *   level 3 (Kafka's default).
 *
 * All are pure JavaScript or bundled wasm: nothing to build or download at install. Importing
 * this module also registers them in kafkajs's CompressionCodecs, where kafkajs's own encoders and
 * decoders look them up (instead of throwing KafkaJSNotImplemented).
 */
import { createRequire } from 'node:module';
import { decompress as zstdDecompress } from 'fzstd';

const require = createRequire(import.meta.url);
interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(bytes: Buffer): Promise<Buffer>;
}
const kafkajsCompression = require('kafkajs/src/protocol/message/compression/index.js') as {
  Codecs: Record<number, () => KafkajsCodec>;
};
const gzip = require('kafkajs/src/protocol/message/compression/gzip.js') as KafkajsCodec;
const snappy = require('snappyjs') as { compress(b: Buffer): Buffer; uncompress(b: Buffer): Buffer };
const lz4 = require('lz4js') as { decompress(src: Uint8Array): Uint8Array };
/** One LZ4 block, preceded by its decoded size (4 bytes, little-endian). */
const lz4Block = require('lz4-wasm-nodejs') as { compress(src: Uint8Array): Uint8Array };
const xxh32 = require('lz4js/xxh32.js') as { hash(seed: number, src: Uint8Array, index: number, length: number): number };
const zstd = require('@bokuweb/zstd-wasm') as { init(): Promise<void>; compress(b: Uint8Array, level: number): Uint8Array };

/** The names a topology gives (`kafka.compression`), by their attribute value. */
export const COMPRESSION_TYPES = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof COMPRESSION_TYPES;

/** Bytes from a codec as a Buffer over the same memory. */
const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

const SNAPPY_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const SNAPPY_HEADER = SNAPPY_MAGIC.length + 8;
/** snappy-java's default block size (SnappyOutputStream), which Kafka's producer keeps. */
const SNAPPY_BLOCK = 32 * 1024;

export function snappyCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [SNAPPY_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]; // version 1, compatible with 1
  for (let at = 0; at < data.length; at += SNAPPY_BLOCK) {
    const block = snappy.compress(data.subarray(at, at + SNAPPY_BLOCK));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

export function snappyDecompress(data: Buffer): Buffer {
  if (data.length < SNAPPY_HEADER || !data.subarray(0, SNAPPY_MAGIC.length).equals(SNAPPY_MAGIC)) return snappy.uncompress(data);
  const parts: Buffer[] = [];
  for (let at = SNAPPY_HEADER; at < data.length; ) {
    if (data.length - at < 4) throw new Error('kafka: a snappy block is cut off (xerial framing)');
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > data.length) throw new Error('kafka: a snappy block is cut off (xerial framing)');
    parts.push(snappy.uncompress(data.subarray(at, at + length)));
    at += length;
  }
  return Buffer.concat(parts);
}

const LZ4_MAGIC = 0x184d2204;
/** Version 01 and independent blocks: what KafkaLZ4BlockOutputStream writes (Java reads each block on its own). */
const LZ4_FLG = 0x60;
/** 64 KiB blocks (KafkaLZ4BlockOutputStream's default). */
const LZ4_BD = 0x40;
const LZ4_BLOCK = 64 * 1024;
const LZ4_UNCOMPRESSED = 0x80000000;

export function lz4Compress(data: Buffer): Buffer {
  const blocks = Math.ceil(data.length / LZ4_BLOCK);
  const out = Buffer.allocUnsafe(7 + blocks * (4 + LZ4_BLOCK) + 4);
  let at = out.writeUInt32LE(LZ4_MAGIC, 0);
  out[at++] = LZ4_FLG;
  out[at++] = LZ4_BD;
  out[at] = (xxh32.hash(0, out, 4, 2) >>> 8) & 0xff;
  at++;
  for (let from = 0; from < data.length; from += LZ4_BLOCK) {
    const size = Math.min(LZ4_BLOCK, data.length - from);
    // Each block compressed on its own: the blocks are independent.
    const block = lz4Block.compress(data.subarray(from, from + size)).subarray(4);
    if (block.length >= size) {
      at = out.writeUInt32LE((LZ4_UNCOMPRESSED | size) >>> 0, at);
      at += data.copy(out, at, from, from + size);
    } else {
      at = out.writeUInt32LE(block.length, at);
      out.set(block, at);
      at += block.length;
    }
  }
  at = out.writeUInt32LE(0, at); // end mark
  return out.subarray(0, at);
}

export function lz4Decompress(data: Buffer): Buffer {
  return asBuffer(lz4.decompress(data));
}

/** Kafka's default zstd level (compression.zstd.level). */
const ZSTD_LEVEL = 3;
let zstdReady: Promise<void> | undefined;

export async function zstdCompress(data: Buffer): Promise<Buffer> {
  await (zstdReady ??= zstd.init());
  return asBuffer(zstd.compress(data, ZSTD_LEVEL));
}

export function zstdDecompressBytes(data: Buffer): Buffer {
  return asBuffer(zstdDecompress(data));
}

/** The codecs as kafkajs calls them: `compress` takes an Encoder, `decompress` bytes. */
const codecs: Record<number, KafkajsCodec> = {
  [COMPRESSION_TYPES.gzip]: gzip,
  [COMPRESSION_TYPES.snappy]: { compress: async (e) => snappyCompress(e.buffer), decompress: async (b) => snappyDecompress(b) },
  [COMPRESSION_TYPES.lz4]: { compress: async (e) => lz4Compress(e.buffer), decompress: async (b) => lz4Decompress(b) },
  [COMPRESSION_TYPES.zstd]: { compress: (e) => zstdCompress(e.buffer), decompress: async (b) => zstdDecompressBytes(b) },
};
for (const [type, codec] of Object.entries(codecs)) kafkajsCompression.Codecs[Number(type)] = () => codec;

/** The codec of attribute value `type` (1-4); 5-7 are not Kafka codecs: a clear error, not a guess. */
export function codecOf(type: number): KafkajsCodec {
  const codec = codecs[type];
  if (codec === undefined) throw new Error(`kafka: a record batch names compression type ${type}, which is not a Kafka codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)`);
  return codec;
}
