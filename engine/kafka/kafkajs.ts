/**
 * kafkajs, with five of its modules replaced in Node's module cache before kafkajs loads:
 *
 * - `src/consumer/filterAbortedMessages.js`, a fix: how a read_committed fetch drops the records
 *   of aborted transactions (below);
 * - `src/protocol/requests/produce/v3/request.js` (Produce v3..v7) and
 *   `src/producer/groupMessagesPerPartition.js`, for speed: the same bytes and the same grouping
 *   in linear time without an object per record (engine/kafka/produce-request.ts);
 * - `src/protocol/recordBatch/record/v0/decoder.js` and `src/protocol/recordBatch/v0/decoder.js`,
 *   for speed: the same records decoded with numbers instead of a BigInt wrapper per field, in one
 *   pass over a batch (engine/kafka/record-decoder.ts, record-batch-decoder.ts).
 *
 * kafkajs (unmaintained since 2023) walks the fetch response's aborted transactions in the order the
 * broker lists them and takes at most one per record. The broker lists them in the order they
 * ended (its transaction index), not the order they began; with several producers writing one
 * partition (our repartition topics under exactly_once: one producer per task) and several of them
 * aborted at once (their instance was killed), a transaction can then be taken too late and its
 * first records handed out as if committed. Kafka's Java consumer sorts them by first offset and
 * takes every one that has begun; so does this replacement of kafkajs's
 * `src/consumer/filterAbortedMessages.js`, put in Node's module cache before kafkajs is loaded.
 *
 * Every module of Duality takes kafkajs from here, never from 'kafkajs' directly.
 */
import { createRequire } from 'node:module';
import { groupMessagesPerPartition, produceRequest } from './produce-request.js';
import { decodeRecordBatch } from './record-batch-decoder.js';
import { decodeRecord } from './record-decoder.js';

const require = createRequire(import.meta.url);

interface Message {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean };
}
interface AbortedTransaction {
  readonly firstOffset: string;
  readonly producerId: string;
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);
const isAbortMarker = (m: Message): boolean => m.key !== null && m.key !== undefined && Buffer.from(m.key).equals(ABORT_MARKER_KEY);

export function filterAbortedMessages({ messages, abortedTransactions }: { messages: Message[]; abortedTransactions?: AbortedTransaction[] }): Message[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => (BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : BigInt(a.firstOffset) > BigInt(b.firstOffset) ? 1 : 0));
  const aborted = new Set<string>();
  return messages.filter((m) => {
    const offset = BigInt(m.offset);
    while (pending.length > 0 && offset >= BigInt(pending[0]!.firstOffset)) aborted.add(String(pending.shift()!.producerId));
    const producer = String(m.batchContext.producerId);
    if (isAbortMarker(m)) {
      aborted.delete(producer);
      return true;
    }
    return !(m.batchContext.inTransaction && aborted.has(producer));
  });
}

function replace(module: string, exports: unknown): void {
  const path = require.resolve(module);
  if (require.cache[path] === undefined) {
    require.cache[path] = { id: path, filename: path, path, loaded: true, exports, children: [], paths: [] } as unknown as NodeJS.Module;
  }
}
replace('kafkajs/src/consumer/filterAbortedMessages.js', filterAbortedMessages);
replace('kafkajs/src/protocol/requests/produce/v3/request.js', produceRequest);
replace('kafkajs/src/producer/groupMessagesPerPartition.js', groupMessagesPerPartition);
replace('kafkajs/src/protocol/recordBatch/record/v0/decoder.js', decodeRecord);
replace('kafkajs/src/protocol/recordBatch/v0/decoder.js', decodeRecordBatch);

const kafkajs = require('kafkajs') as typeof import('kafkajs');
export default kafkajs;
