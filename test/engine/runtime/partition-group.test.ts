import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogRecord } from '../../../engine/api/log.js';
import { IDLE_DISABLED } from '../../../engine/api/topology-graph.js';
import { PartitionGroup } from '../../../engine/runtime/partition-group.js';

const record = (topic: string, offset: number, timestamp: number): LogRecord => ({ topic, partition: 0, offset, key: null, value: null, timestamp, headers: {} });

function group(maxIdleMs: number, lags: Record<string, number | undefined>): PartitionGroup {
  return new PartitionGroup(['a:0', 'b:0'], maxIdleMs, (key) => lags[key], (r) => r.timestamp);
}

const drain = (g: PartitionGroup): string[] => {
  const out: string[] = [];
  for (let n = g.next(); n; n = g.next()) out.push(`${n.record.topic}@${n.record.timestamp}`);
  return out;
};

test('the lowest head timestamp goes first; of two partitions whose heads tie, the one not just taken from', () => {
  const g = group(0, {});
  for (const [i, t] of [5, 7, 7, 7].entries()) g.add('a:0', record('a', i, t));
  for (const [i, t] of [1, 7, 7, 9].entries()) g.add('b:0', record('b', i, t));
  assert.deepEqual(drain(g), ['b@1', 'a@5', 'b@7', 'a@7', 'b@7', 'a@7', 'a@7', 'b@9']);
  assert.equal(g.buffered, 0);
});

test('a partition without buffered records holds the task up while its lag is unknown or above 0, and for maxIdleMs once it is 0', () => {
  const lags: Record<string, number | undefined> = {};
  const g = group(100, lags);
  g.add('a:0', record('a', 0, 1));
  assert.equal(g.ready(1000), false, 'lag of b unknown');
  lags['b:0'] = 3;
  assert.equal(g.ready(1000), false, 'records of b at the log');
  lags['b:0'] = 0;
  assert.equal(g.ready(1000), false, 'b at its end: waiting starts');
  assert.equal(g.ready(1099), false);
  assert.equal(g.ready(1100), true, 'waited maxIdleMs');
  g.add('b:0', record('b', 0, 2));
  assert.equal(g.ready(1100), true, 'both buffered');
});

test('maxIdleMs 0 goes on at once past a partition at its end; disabled goes on past any', () => {
  const atEnd = group(0, { 'b:0': 0 });
  atEnd.add('a:0', record('a', 0, 1));
  assert.equal(atEnd.ready(0), true);
  const disabled = group(IDLE_DISABLED, {});
  assert.equal(disabled.ready(0), false, 'nothing buffered');
  disabled.add('a:0', record('a', 0, 1));
  assert.equal(disabled.ready(0), true, 'b unknown, not waited for');
});

test('headOffset: the first record of a partition not taken yet', () => {
  const g = group(0, {});
  g.add('a:0', record('a', 10, 1));
  g.add('a:0', record('a', 11, 2));
  assert.equal(g.headOffset('a:0'), 10);
  assert.equal(g.headOffset('b:0'), undefined);
  g.next();
  assert.equal(g.headOffset('a:0'), 11);
  g.next();
  assert.equal(g.headOffset('a:0'), undefined);
});
