/** The string functions Duality adds to CEL: lower, upper, trim, split and matches (RE2, see cel-regex.ts), words. */
import type { Environment } from '@marcbachmann/cel-js';
import { budgetExceeded, charge, CostLimitExceeded } from './cel-runtime.js';
import { matches, split } from './cel-regex.js';

function wordsFn(s: string): string[] {
  if (budgetExceeded()) throw new CostLimitExceeded();
  const parts = words(s);
  charge(parts.length);
  return parts;
}

const WORD = /\w+/g;

/** Lower-cased `\W+` split without empty strings. */
export function words(s: string): string[] {
  return s.toLowerCase().match(WORD) ?? [];
}

export function registerStringFunctions(env: Environment): void {
  env.registerFunction('lower(string): string', (s: string) => s.toLowerCase(), { description: 'lower-cases a string' });
  env.registerFunction('upper(string): string', (s: string) => s.toUpperCase(), { description: 'upper-cases a string' });
  env.registerFunction('trim(string): string', (s: string) => s.trim(), { description: 'removes leading and trailing white space' });
  env.registerFunction('split(string, string): list<string>', split, {
    description: 'splits around matches of an RE2 regular expression, keeping empty strings',
  });
  // CEL's global form of s.matches(re), which cel-js lacks; the method form is redirected in cel-env.ts.
  env.registerFunction('matches(string, string): bool', matches, { description: 'whether an RE2 regular expression matches anywhere in the string' });
  env.registerFunction('words(string): list<string>', wordsFn, { description: 'lower-cased \\W+ split without empty strings' });
}
