/**
 * The fix to kafkajs's read_committed filter (engine/kafka/kafkajs.ts): records of aborted
 * transactions are dropped whatever order the broker lists the transactions in.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { filterAbortedMessages } from '../../../engine/kafka/kafkajs.js';

const MARKER = Buffer.from([0, 0, 0, 0]);
const message = (offset: number, producerId: number, inTransaction: boolean, key: Buffer | null = null) => ({ offset: String(offset), key, batchContext: { producerId: String(producerId), inTransaction } });
// Producers 1 and 2 interleave in one partition and are both aborted (their instance was killed);
// producer 3 writes outside transactions. The broker lists aborted transactions in the order they ended.
const messages = [message(0, 1, true), message(1, 2, true), message(2, 1, true), message(3, 3, false), message(4, 2, true, MARKER), message(5, 1, true, MARKER), message(6, 1, true)];
const abortedTransactions = [{ firstOffset: '1', producerId: '2' }, { firstOffset: '0', producerId: '1' }];

test('records of aborted transactions are dropped whatever the order of the broker\'s list; markers and other records stay', () => {
  assert.deepEqual(filterAbortedMessages({ messages, abortedTransactions }).map((m) => m.offset), ['3', '4', '5', '6']);
  assert.deepEqual(filterAbortedMessages({ messages, abortedTransactions: [] }).map((m) => m.offset), ['0', '1', '2', '3', '4', '5', '6']);
});

test('kafkajs loads the fixed filter (its own hands out the first record of producer 1)', () => {
  const require = createRequire(import.meta.url);
  const loaded = require(require.resolve('kafkajs/src/consumer/filterAbortedMessages.js')) as typeof filterAbortedMessages;
  assert.equal(loaded, filterAbortedMessages);
  assert.deepEqual(loaded({ messages, abortedTransactions }).map((m) => m.offset), ['3', '4', '5', '6']);
});
