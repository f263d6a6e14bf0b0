/** The first place where actual data differs from what a test expects. */
export interface Difference {
  /** Human path inside the expectation: `word-counts.hello`, `WordsWithCountsTopic[2].value`. */
  readonly path: string;
  /** JSON pointer segments from the expectation's root, to find its line in the test file. */
  readonly segments: readonly (string | number)[];
  readonly expected: unknown;
  readonly actual: unknown;
  readonly reason?: string;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const join = (path: string, seg: string | number): string => (typeof seg === 'number' ? `${path}[${seg}]` : path ? `${path}.${seg}` : seg);

/**
 * Compares decoded data with a YAML expectation. `subset`: maps need only the listed keys and lists
 * only the listed elements, in order (docs/testing.md: `match: subset`).
 */
export function firstDifference(expected: unknown, actual: unknown, subset: boolean, path = '', segments: (string | number)[] = []): Difference | undefined {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return { path, segments, expected, actual, reason: 'expected a list' };
    if (subset) return subsequence(expected, actual, path, segments);
    const n = Math.min(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      const d = firstDifference(expected[i], actual[i], subset, join(path, i), [...segments, i]);
      if (d) return d;
    }
    if (expected.length !== actual.length) {
      const i = n;
      return expected.length > actual.length
        ? { path: join(path, i), segments: [...segments, i], expected: expected[i], actual: undefined, reason: `${actual.length} item${actual.length === 1 ? '' : 's'}, expected ${expected.length}` }
        : { path: join(path, i), segments, expected: undefined, actual: actual[i], reason: `${actual.length} items, expected ${expected.length}` };
    }
    return undefined;
  }
  if (isMap(expected)) {
    if (!isMap(actual)) return { path, segments, expected, actual, reason: 'expected a map' };
    for (const k of Object.keys(expected)) {
      if (!Object.hasOwn(actual, k)) return { path: join(path, k), segments: [...segments, k], expected: expected[k], actual: undefined, reason: 'missing' };
      const d = firstDifference(expected[k], actual[k], subset, join(path, k), [...segments, k]);
      if (d) return d;
    }
    if (!subset) {
      const extra = Object.keys(actual).find((k) => !Object.hasOwn(expected, k));
      if (extra !== undefined) return { path: join(path, extra), segments, expected: undefined, actual: actual[extra], reason: 'not expected' };
    }
    return undefined;
  }
  return sameScalar(expected, actual) ? undefined : { path, segments, expected, actual };
}

function sameScalar(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // YAML data and decoded data may differ in how a null is absent.
  return (a === null || a === undefined) && (b === null || b === undefined);
}

/** Each expected element must match an actual one, in order, skipping others. */
function subsequence(expected: unknown[], actual: unknown[], path: string, segments: (string | number)[]): Difference | undefined {
  let j = 0;
  for (let i = 0; i < expected.length; i++) {
    while (j < actual.length && firstDifference(expected[i], actual[j], true) !== undefined) j++;
    if (j === actual.length) return { path: join(path, i), segments: [...segments, i], expected: expected[i], actual: undefined, reason: 'not found (in order) among the actual items' };
    j++;
  }
  return undefined;
}

/** Sorts windowed rows by key, start, end: windowed tables compare in any order. */
export function sortRows<T extends { key?: unknown; start?: unknown; end?: unknown }>(rows: T[]): T[] {
  const k = (r: T): string => JSON.stringify([r.key, r.start, r.end]);
  return [...rows].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}
