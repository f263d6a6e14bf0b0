/**
 * Windowed aggregations on small hand-checked inputs: sliding windows (KIP-450), session
 * windows with `emit: final`, and retention of session and time windows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDuality, type InputRecord } from './window-harness.js';

const records = (...rows: [string, number][]): InputRecord[] => rows.map(([key, timestamp], i) => ({ key, value: { n: i, s: String.fromCharCode(97 + i) }, timestamp }));
const CONCAT = `aggregate: {initial: '""', add: 'agg + value.s'}`;

test('sliding windows: each record has its window [t - size, t], and a right window [t + 1, t + 1 + size] once a later record falls in it', async () => {
  // a@10s, b@14s, c@30s: size 5s, both ends included. b falls in a's right window [10001, 15001].
  // Each window carries the largest timestamp of its records, as Kafka Streams forwards it.
  const { output, table } = await runDuality('window: {type: sliding, size: 5s}', CONCAT, 'changes', records(['k', 10_000], ['k', 14_000], ['k', 30_000]));
  assert.deepEqual(output, [
    { key: 'k', start: 5_000, end: 10_000, value: 'a', timestamp: 10_000 },
    { key: 'k', start: 10_001, end: 15_001, value: 'b', timestamp: 14_000 },
    { key: 'k', start: 9_000, end: 14_000, value: 'ab', timestamp: 14_000 },
    { key: 'k', start: 25_000, end: 30_000, value: 'c', timestamp: 30_000 },
  ]);
  assert.deepEqual(table.map((w) => [w.start, w.value]), [[5_000, 'a'], [9_000, 'ab'], [10_001, 'b'], [25_000, 'c']]);
});

test('sliding windows: an out-of-order record within grace updates the windows that contain it and gets its own', async () => {
  const { output } = await runDuality('window: {type: sliding, size: 5s, grace: 10s}', CONCAT, 'changes', records(['k', 10_000], ['k', 14_000], ['k', 12_000]));
  assert.deepEqual(output.slice(3), [
    { key: 'k', start: 10_001, end: 15_001, value: 'bc', timestamp: 14_000 },
    { key: 'k', start: 9_000, end: 14_000, value: 'abc', timestamp: 14_000 },
    { key: 'k', start: 7_000, end: 12_000, value: 'ac', timestamp: 12_000 },
    { key: 'k', start: 12_001, end: 17_001, value: 'b', timestamp: 14_000 },
  ]);
});

test('sliding windows, emit: final: each window once, when stream time has passed its end + grace', async () => {
  const { output } = await runDuality('window: {type: sliding, size: 5s, grace: 1s}', 'count', 'final', records(['k', 10_000], ['k', 14_000], ['k', 16_000], ['k', 16_001]));
  // At 16,000 the close time is 15,000: [5000, 10000] and [9000, 14000] ended before it. At 16,001
  // it is 15,001, and [10001, 15001] ends on it: both ends are included, so it is still open.
  assert.deepEqual(output, [
    { key: 'k', start: 5_000, end: 10_000, value: 1, timestamp: 10_000 },
    { key: 'k', start: 9_000, end: 14_000, value: 2, timestamp: 14_000 },
  ]);
});

test('session windows, emit: final: one result per session once stream time passes its end + gap + grace, and no tombstones', async () => {
  const { output } = await runDuality('window: {type: session, gap: 5s, grace: 1s}', 'count', 'final', records(['k', 1_000], ['k', 4_000], ['k', 2_000], ['k', 11_000], ['k', 20_000]));
  // [1000, 4000] closes when stream time passes 4000 + 5000 + 1000; [11000, 11000] at 17000.
  // Each goes out with its session's end as timestamp, not the closing record's.
  assert.deepEqual(output, [
    { key: 'k', start: 1_000, end: 4_000, value: 3, timestamp: 4_000 },
    { key: 'k', start: 11_000, end: 11_000, value: 1, timestamp: 11_000 },
  ]);
});

test('session windows: sessions that ended more than the retention before stream time are deleted', async () => {
  const { table } = await runDuality('window: {type: session, gap: 1s, retention: 5s}', 'count', 'changes', records(['old', 1_000], ['new', 200_000]));
  assert.deepEqual(table, [{ key: 'new', start: 200_000, end: 200_000, value: 1 }]);
});

test('session windows: a second record at the same time replaces its session without a tombstone, as Kafka Streams does', async () => {
  const { output } = await runDuality('window: {type: session, gap: 1s}', 'count', 'changes', records(['k', 1_000], ['k', 1_000]));
  assert.deepEqual(output, [
    { key: 'k', start: 1_000, end: 1_000, value: 1, timestamp: 1_000 },
    { key: 'k', start: 1_000, end: 1_000, value: 2, timestamp: 1_000 },
  ]);
});

test('tumbling windows: every window past its retention is deleted, however many there are', async () => {
  const keys = Array.from({ length: 1_500 }, (_, i) => [`k${i}`, 1_000] as [string, number]);
  const { table } = await runDuality('window: {type: tumbling, size: 10s, retention: 20s}', 'count', 'changes', records(...keys, ['last', 60_000]));
  assert.deepEqual(table, [{ key: 'last', start: 60_000, end: 70_000, value: 1 }]);
});

test('tumbling windows: a window is deleted once its start is the retention before stream time, as in Kafka Streams', async () => {
  // Retention 20s: at stream time 20,000 the window starting at 0 is gone (Kafka Streams' window store keeps start > stream time - retention).
  const { table } = await runDuality('window: {type: tumbling, size: 10s, retention: 20s}', 'count', 'changes', records(['a', 0], ['b', 20_000]));
  assert.deepEqual(table.map((w) => w.key), ['b']);
});
