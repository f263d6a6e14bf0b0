/**
 * Standby placement and caught-up failover, without a broker: copies never on the member running
 * the task, spread evenly, kept where they are; an active task whose owner left goes to the member
 * whose copy of its state is the most caught up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { placeStandbys, spread } from '../../../engine/kafka/task-placement.js';

const sizes = (m: Map<string, number[]>): number[] => [...m.values()].map((l) => l.length).sort();

test('standbys are never on the member running the task nor twice on one member, and spread evenly', () => {
  for (const [tasks, members, replicas] of [[8, 2, 1], [8, 3, 1], [3, 3, 1], [6, 4, 2], [5, 3, 2], [1, 3, 1], [7, 5, 3]] as const) {
    const ids = ['a', 'b', 'c', 'd', 'e'].slice(0, members);
    const owner = spread(tasks, ids, new Map());
    const standby = placeStandbys(tasks, ids, owner, replicas, new Map());
    const what = `${tasks} tasks, ${members} members, ${replicas} replicas: ${JSON.stringify([...standby])}`;
    for (const [m, list] of standby) {
      assert.ok(list.every((p) => owner.get(p) !== m), `a copy on its active's member: ${what}`);
      assert.equal(new Set(list).size, list.length, what);
    }
    for (let p = 0; p < tasks; p++) assert.equal([...standby.values()].filter((l) => l.includes(p)).length, replicas, `task ${p}: ${what}`);
    const n = sizes(standby);
    assert.ok(n[n.length - 1]! - n[0]! <= 1, `uneven: ${what}`);
  }
});

test('no more copies than other members; none for a lone member or replicas 0', () => {
  const owner = spread(4, ['a', 'b'], new Map());
  assert.deepEqual(sizes(placeStandbys(4, ['a', 'b'], owner, 3, new Map())), [2, 2]);
  assert.deepEqual([...placeStandbys(4, ['a'], spread(4, ['a'], new Map()), 1, new Map())], [['a', []]]);
  assert.deepEqual([...placeStandbys(4, ['a', 'b'], owner, 0, new Map())], [['a', []], ['b', []]]);
});

test('standbys stay where they were when the actives do', () => {
  const ids = ['a', 'b', 'c'];
  const owner = spread(6, ids, new Map([['a', [0, 1]], ['b', [2, 3]], ['c', [4, 5]]]));
  // Not the placement a fresh group would get: kept all the same.
  const before = new Map([['a', [2, 4]], ['b', [0, 5]], ['c', [1, 3]]]);
  assert.deepEqual(placeStandbys(6, ids, owner, 1, before), before);
});

test("an active task whose owner left goes to the member with the most caught-up copy; the others' tasks stay", () => {
  // c ran 4 and 5 and is gone; a's copy of 5 and b's of 4 are the most caught up. Without copies,
  // the least loaded member in id order would take them: 4 to a, 5 to b.
  const previous = new Map([['a', [0, 1]], ['b', [2, 3]]]);
  const offsets: Record<string, Record<number, number>> = { a: { 4: 10, 5: 900 }, b: { 4: 800, 5: 300 } };
  const owner = spread(6, ['a', 'b'], previous, (m, p) => offsets[m]?.[p] ?? -1);
  assert.deepEqual([...owner].sort((x, y) => x[0] - y[0]), [[0, 'a'], [1, 'a'], [2, 'b'], [3, 'b'], [4, 'b'], [5, 'a']]);
});

test('a caught-up copy does not unbalance the group: its holder takes only up to its share', () => {
  // d held copies of everything; a, b, c keep their tasks and d takes only what its share allows.
  const previous = new Map([['a', [0, 1, 2]], ['b', [3, 4, 5]], ['c', [6, 7]]]);
  const owner = spread(8, ['a', 'b', 'c', 'd'], previous, (m, p) => (m === 'd' ? 1000 + p : -1));
  const load = (m: string): number => [...owner.values()].filter((x) => x === m).length;
  assert.deepEqual(['a', 'b', 'c', 'd'].map(load), [2, 2, 2, 2]);
  // What a and b gave up went to d, the member with copies, and c kept both of its own.
  assert.equal(owner.get(6), 'c');
  assert.equal(owner.get(7), 'c');
});

test("the copies of one member's tasks are on different members, so that when it dies each survivor takes over a task it holds a copy of", () => {
  for (const [tasks, members] of [[6, 3], [9, 3], [8, 4], [12, 4]] as const) {
    const ids = ['a', 'b', 'c', 'd'].slice(0, members);
    const owner = spread(tasks, ids, new Map());
    const standby = placeStandbys(tasks, ids, owner, 1, new Map());
    const copyOf = (p: number): string => [...standby].find(([, list]) => list.includes(p))![0];
    for (const dead of ids) {
      const orphans = [...owner].filter(([, m]) => m === dead).map(([p]) => p);
      const holders = orphans.map(copyOf);
      // As evenly as the survivors allow: no survivor holds more than its share of the orphans' copies.
      const most = Math.max(...ids.filter((m) => m !== dead).map((m) => holders.filter((h) => h === m).length));
      assert.ok(most <= Math.ceil(orphans.length / (members - 1)), `${tasks} tasks on ${members}: ${dead}'s tasks ${orphans} have copies on ${holders}`);
      // The failover: each orphan goes to the survivor with its copy.
      const survivors = ids.filter((m) => m !== dead);
      const previous = new Map(survivors.map((m) => [m, [...owner].filter(([, o]) => o === m).map(([p]) => p)]));
      const after = spread(tasks, survivors, previous, (m, p) => (copyOf(p) === m ? 100 : -1));
      for (const p of orphans) assert.equal(after.get(p), copyOf(p), `${tasks} tasks on ${members}, ${dead} dead: task ${p} to the holder of its copy`);
    }
  }
});
