/**
 * Seeded randomness for tests: a test that draws its inputs or its kill points from `prng` prints
 * its seed and takes it from an environment variable, so a failure can be replayed.
 */

/** mulberry32: small, fast, good enough to pick test inputs. Numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The whole number in the environment variable `name`, or `fallback` when it is not set. Anything
 * else (`0` where at least 1 is needed, `abc`, `1.5`, an empty value) is refused: a typo must not
 * quietly run another test, or none.
 */
export function envInteger(name: string, fallback: number, min: number, max: number, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new Error(`${name}=${JSON.stringify(text)}: want a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A seed from the environment variable `name` (0 to 2^32 - 1), or `fallback`. */
export const envSeed = (name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number => envInteger(name, fallback, 0, 0xffffffff, env);
