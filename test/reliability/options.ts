import { UsageError } from './scenarios.js';

/**
 * Whole-number options of a scenario, read from the command line's strings: a clear error for
 * anything else, so a typo never runs a scenario with NaN records. Zero only where `zeroAllowed`.
 */
export function wholeNumbers<K extends string>(options: Readonly<Record<string, string>>, names: readonly K[], zeroAllowed: readonly K[] = []): Record<K, number> {
  const values = {} as Record<K, number>;
  for (const name of names) {
    const v = Number(options[name]);
    if (!Number.isSafeInteger(v) || v < 0 || (v === 0 && !zeroAllowed.includes(name))) throw new UsageError(`--${name} must be a ${zeroAllowed.includes(name) ? 'whole number' : 'positive whole number'}, not "${options[name]}"`);
    values[name] = v;
  }
  return values;
}
