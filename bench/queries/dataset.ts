/**
 * The data every part of the queries bench reads: WordCount over words `k0`, `k1`, ... (base 36),
 * word i occurring `countOf(i)` times, so that the count table holds `keys` keys whose right
 * values anyone can compute: the load generator checks each answer against them.
 */
export const WORDS_PER_LINE = 10;

export const keyOf = (i: number): string => `k${i.toString(36)}`;
/** 1, 2 or 3: the value word i has in the count table once every line was counted. */
export const countOf = (i: number): number => 1 + (i % 3);

/** The input lines: every word `countOf(i)` times, ten words a line. */
export function makeLines(keys: number): string[] {
  const lines: string[] = [];
  let line: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < keys; i++) {
      if (countOf(i) <= round) continue;
      line.push(keyOf(i));
      if (line.length === WORDS_PER_LINE) {
        lines.push(line.join(' '));
        line = [];
      }
    }
  }
  if (line.length > 0) lines.push(line.join(' '));
  return lines;
}

/** How many words the lines of `makeLines(keys)` hold. */
export function wordsOf(keys: number): number {
  let n = 0;
  for (let i = 0; i < keys; i++) n += countOf(i);
  return n;
}

/** A seeded generator of floats in [0, 1) (32-bit LCG, as bench/embedded.ts). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** `n` distinct word indices below `keys`, drawn with `seed`. */
export function sample(keys: number, n: number, seed: number): number[] {
  const rnd = seeded(seed);
  const picked = new Set<number>();
  while (picked.size < Math.min(n, keys)) picked.add(Math.floor(rnd() * keys));
  return [...picked];
}
