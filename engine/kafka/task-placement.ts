/*
 * Where the group's tasks go: the assignor's decisions (assigners.ts), as plain functions of what
 * the members said of themselves, so that they can be checked without a broker.
 */

/**
 * How caught up a member's copy of a task's state is: the sum of the changelog offsets its stores
 * reflect (Kafka Streams' task offset sums); higher is further along, -1 when it has none.
 */
export type CopyOffset = (member: string, task: number) => number;

const none: CopyOffset = () => -1;

/**
 * Task numbers to members, loads differing by at most one, previous owners keeping what they can.
 * A task that must move (its owner left, or gave it up for balance) goes to the member whose copy
 * of its state is the most caught up among those with room: its restore replays the least.
 */
export function spread(tasks: number, members: string[], previous: ReadonlyMap<string, readonly number[]>, copy: CopyOffset = none): Map<number, string> {
  const owner = new Map<number, string>();
  if (members.length === 0) return owner;
  const load = new Map(members.map((m) => [m, 0]));
  const floor = Math.floor(tasks / members.length);
  // Members that may still go one above the floor: the remainder, handed out once each.
  let extra = tasks % members.length;
  const room = (m: string, upTo: number): boolean => load.get(m)! < Math.min(upTo, floor + (extra > 0 ? 1 : 0));
  const give = (p: number, m: string): void => {
    owner.set(p, m);
    load.set(m, load.get(m)! + 1);
    if (load.get(m) === floor + 1) extra--;
  };
  const keep = (m: string, upTo: number): void => {
    for (const p of previous.get(m) ?? []) {
      if (!room(m, upTo)) return;
      if (p < tasks && !owner.has(p)) give(p, m);
    }
  };
  // Everyone keeps up to the even share; then, while the remainder lasts, one more each.
  for (const m of members) keep(m, floor);
  for (const m of members) keep(m, floor + 1);
  for (let p = 0; p < tasks; p++) {
    if (owner.has(p)) continue;
    // The most caught-up copy; else the least loaded member; the first in id order on a tie:
    // deterministic for a given group.
    const open = members.filter((m) => room(m, floor + 1));
    const m = open.reduce((a, b) => (copy(b, p) > copy(a, p) || (copy(b, p) === copy(a, p) && load.get(b)! < load.get(a)!) ? b : a));
    give(p, m);
  }
  return owner;
}

/**
 * `replicas` standby copies of each task, never on the member running it nor twice on one member
 * (so at most members - 1 of them). Standby loads differ by at most one where the actives allow;
 * a member keeps the standbys it had, then the copies it holds on disk are preferred, as long as
 * it stays within the even share: a copy that is kept only tails, a new one restores from scratch.
 * The copies of one member's tasks spread over the others.
 */
export function placeStandbys(
  tasks: number,
  members: string[],
  owner: ReadonlyMap<number, string>,
  replicas: number,
  previous: ReadonlyMap<string, readonly number[]>,
  copy: CopyOffset = none,
): Map<string, number[]> {
  const standby = new Map(members.map((m) => [m, [] as number[]]));
  const copies = Math.min(replicas, members.length - 1);
  if (copies <= 0 || tasks === 0) return standby;
  const share = Math.ceil((tasks * copies) / members.length);
  const held = (m: string): number => standby.get(m)!.length;
  const fits = (m: string, p: number): boolean => owner.get(p) !== m && !standby.get(m)!.includes(p);
  const sameOwner = (m: string, p: number): number => standby.get(m)!.filter((t) => owner.get(t) === owner.get(p)).length;
  for (let p = 0; p < tasks; p++) {
    const had = (m: string): boolean => previous.get(m)?.includes(p) ?? false;
    for (let n = 0; n < copies; n++) {
      const open = members.filter((m) => fits(m, p));
      // Within the share before anything else; then the one it had; then one holding the fewest
      // copies of the tasks of the same active member (when that member dies, its tasks move each
      // to a different member holding its copy, rather than all to one and the rest to members that
      // restore from scratch); the most caught up; the least loaded.
      const rank = (m: string): number[] => [held(m) < share ? 1 : 0, had(m) ? 1 : 0, -sameOwner(m, p), copy(m, p), -held(m)];
      const best = open.reduce((a, b) => (compare(rank(b), rank(a)) > 0 ? b : a));
      standby.get(best)!.push(p);
    }
  }
  // The greedy pass can corner itself (the last task's only open members already at the share):
  // move copies from the most to the least loaded while one fits there. Each move narrows the
  // spread, so this ends.
  for (;;) {
    const byLoad = [...members].sort((x, y) => held(y) - held(x));
    const [most, least] = [byLoad[0]!, byLoad[byLoad.length - 1]!];
    if (held(most) - held(least) <= 1) break;
    const p = standby.get(most)!.find((t) => fits(least, t));
    if (p === undefined) break;
    standby.set(most, standby.get(most)!.filter((t) => t !== p));
    standby.get(least)!.push(p);
  }
  for (const list of standby.values()) list.sort((a, b) => a - b);
  return standby;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
