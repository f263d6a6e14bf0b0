/** An entry of a TimeIndex: its key's text and the time it is ordered and expired by. */
export interface Timed {
  readonly key: string;
  readonly ts: number;
}

/**
 * What a store of timed entries holds, kept in memory so that an operator finds a key's entries
 * with a map lookup instead of a range scan of the store (a LevelDB iterator costs a thread hop
 * and a walk over the deletes not yet compacted, per record): for each key, its entries in time
 * order; and all entries in a heap by time, so that expiry takes exactly the entries older than
 * its bound, oldest first, without a scan. The store stays the truth: the index is built from it
 * when a task starts.
 */
export class TimeIndex<E extends Timed> {
  private readonly byKey = new Map<string, E[]>();
  private readonly heap: E[] = [];
  /** Entries removed from their key's list while still in the heap: skipped when they come up. */
  private readonly removed = new Set<E>();

  /** The key's entries, oldest first (entries of equal time in the order they were added). */
  of(key: string): readonly E[] {
    return this.byKey.get(key) ?? [];
  }

  add(e: E): void {
    const list = this.byKey.get(e.key);
    if (list === undefined) this.byKey.set(e.key, [e]);
    else if (list[list.length - 1]!.ts <= e.ts) list.push(e);
    else list.splice(upperBound(list, (x) => x.ts <= e.ts), 0, e);
    let i = this.heap.push(e) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heap[parent]!.ts <= e.ts) break;
      this.heap[i] = this.heap[parent]!;
      i = parent;
    }
    this.heap[i] = e;
  }

  /** Takes `e` (the very entry added) out of the index. */
  remove(e: E): void {
    if (this.unlist(e)) this.removed.add(e);
  }

  /** Takes `e` out of its key's list; false when it is not there. */
  private unlist(e: E): boolean {
    const list = this.byKey.get(e.key);
    const at = list === undefined ? -1 : list.indexOf(e);
    if (at < 0) return false;
    if (list!.length === 1) this.byKey.delete(e.key);
    else list!.splice(at, 1);
    return true;
  }

  /** The time of the oldest entry, or undefined when there is none. */
  oldest(): number | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || !this.removed.has(top)) return top?.ts;
      this.removed.delete(this.pop());
    }
  }

  /** Takes out every entry older than `before`, oldest first, and returns them. */
  expire(before: number): E[] {
    const out: E[] = [];
    for (let t = this.oldest(); t !== undefined && t < before; t = this.oldest()) {
      const e = this.pop();
      this.unlist(e);
      out.push(e);
    }
    return out;
  }

  private pop(): E {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const c = l + 1 < heap.length && heap[l + 1]!.ts < heap[l]!.ts ? l + 1 : l;
      if (heap[c]!.ts >= last.ts) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
    return top;
  }
}

/** The first index whose element fails `before` in a list where it holds for a prefix. */
export function upperBound<T>(list: readonly T[], before: (e: T) => boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(list[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Keys waiting to be taken in their string order (a min-heap), with removal by key: for what must
 * go out in a store's key order (unmatched join records, closed sessions) without a range scan.
 */
export class OrderedKeys {
  private readonly heap: string[] = [];
  /** The keys still waiting: a removed key leaves the heap when it reaches the top. */
  private readonly live = new Set<string>();

  add(key: string): void {
    if (this.live.has(key)) return;
    this.live.add(key);
    const heap = this.heap;
    let i = heap.push(key) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= key) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = key;
  }

  /** Whether the key was waiting (and no longer is). */
  remove(key: string): boolean {
    return this.live.delete(key);
  }

  /** The smallest waiting key. */
  first(): string | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || this.live.has(top)) return top;
      this.pop();
    }
  }

  /** Takes out the smallest waiting key. */
  take(): string | undefined {
    const top = this.first();
    if (top === undefined) return undefined;
    this.pop();
    this.live.delete(top);
    return top;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const c = l + 1 < heap.length && heap[l + 1]! < heap[l]! ? l + 1 : l;
      if (heap[c]! >= last) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
  }
}
