/**
 * The group assignor's decisions, without a broker: tasks spread evenly, kept by their owners
 * across rebalances (each move is a state restore), and what members say of themselves read back
 * whatever version wrote it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAssignmentInfo, parseMemberInfo } from '../../../engine/kafka/assigners.js';
import { spread } from '../../../engine/kafka/task-placement.js';

const loads = (owner: Map<number, string>): Record<string, number[]> => {
  const out: Record<string, number[]> = {};
  for (const [p, m] of [...owner].sort((a, b) => a[0] - b[0])) (out[m] ??= []).push(p);
  return out;
};

test('tasks spread so that loads differ by at most one, the same way for the same group', () => {
  assert.deepEqual(loads(spread(8, ['a', 'b'], new Map())), { a: [0, 2, 4, 6], b: [1, 3, 5, 7] });
  const three = loads(spread(8, ['a', 'b', 'c'], new Map()));
  assert.deepEqual(Object.values(three).map((l) => l.length).sort(), [2, 3, 3]);
  assert.deepEqual(loads(spread(8, ['c', 'b', 'a'].sort(), new Map())), three);
  assert.equal(spread(4, [], new Map()).size, 0);
});

test('a member joining takes only what it must; the others keep their tasks', () => {
  const before = new Map([['a', [0, 1, 2, 3, 4, 5, 6, 7]]]);
  const after = loads(spread(8, ['a', 'b'], before));
  assert.equal(after.a!.length, 4);
  assert.equal(after.b!.length, 4);
  assert.ok(after.a!.every((p) => before.get('a')!.includes(p)));
  // A member leaving: its tasks go to the rest, nobody else's move.
  const three = new Map([['a', [0, 1, 2]], ['b', [3, 4, 5]], ['c', [6, 7]]]);
  const two = loads(spread(8, ['a', 'b'], three));
  assert.deepEqual(two.a!.filter((p) => p < 3), [0, 1, 2]);
  assert.deepEqual(two.b!.filter((p) => p >= 3 && p < 6), [3, 4, 5]);
  assert.deepEqual([...two.a!, ...two.b!].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('what a member says of itself: owned tasks and endpoint; older or foreign metadata gives no preference', () => {
  assert.deepEqual(parseMemberInfo(Buffer.from(JSON.stringify({ owned: [1, 3], endpoint: 'host-a:8080' }))), { owned: [1, 3], endpoint: 'host-a:8080' });
  assert.deepEqual(parseMemberInfo(Buffer.from(JSON.stringify({ owned: [2, -1, 'x', 1.5] }))), { owned: [2] });
  assert.deepEqual(parseMemberInfo(Buffer.from('[0,1]')), { owned: [0, 1] }, 'the first version: the owned tasks alone');
  assert.deepEqual(parseMemberInfo(Buffer.from('"text"')), { owned: [] });
  assert.deepEqual(parseMemberInfo(Buffer.from('not json')), { owned: [] });
  assert.deepEqual(parseMemberInfo(undefined), { owned: [] });
});

test('standby holdings and copy offsets travel in the metadata; the assignment says which standbys to keep', () => {
  const info = { owned: [0], endpoint: 'h:1', standby: [1, 2], offsets: { 1: 40, 2: 7 } };
  assert.deepEqual(parseMemberInfo(Buffer.from(JSON.stringify(info))), info);
  assert.deepEqual(parseMemberInfo(Buffer.from(JSON.stringify({ owned: [], offsets: { x: 1, 3: 'y', 4: 5 } }))), { owned: [], offsets: { 4: 5 } });
  assert.deepEqual(parseAssignmentInfo(Buffer.from(JSON.stringify({ standby: [3, -1] }))), { standby: [3] });
  assert.deepEqual(parseAssignmentInfo(Buffer.alloc(0)), { standby: [] }, "an older leader's assignment: no standbys");
});
