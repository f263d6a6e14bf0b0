import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Outcome, Scenario } from './scenario.js';

/** A mistake on the command line: said with the usage, exit status 2. */
export class UsageError extends Error {}

/** Every scenario of `scenarios/`, in their order. */
export async function loadScenarios(): Promise<Scenario[]> {
  const dir = new URL('./scenarios/', import.meta.url);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.js')) : [];
  const loaded = await Promise.all(files.map(async (f) => ((await import(new URL(f, dir).href)) as { scenario: Scenario }).scenario));
  return loaded.sort((a, b) => a.order - b.order);
}

/** Runs one scenario with `given` options over its defaults; an exception is a failed outcome. */
export async function runScenario(s: Scenario, given: Readonly<Record<string, string>>, say: (line: string) => void, keep = false): Promise<Outcome> {
  const unknown = Object.keys(given).filter((o) => !(o in s.options));
  if (unknown.length > 0) throw new UsageError(`${s.name} has no option ${unknown.map((o) => `--${o}`).join(', ')} (it has ${Object.keys(s.options).map((o) => `--${o}`).join(', ') || 'none'})`);
  const options = Object.fromEntries(Object.entries(s.options).map(([o, d]) => [o, given[o] ?? d.default]));
  const workDir = mkdtempSync(join(tmpdir(), `duality-reliability-${s.name}-`));
  try {
    return await s.run({ options, workDir, say: (l) => say(`${s.name}: ${l}`) });
  } catch (e) {
    // A bad option value found by the scenario itself is the user's mistake, said as such.
    if (e instanceof UsageError) throw e;
    return { passed: false, figures: {}, failures: [`it stopped with an error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`] };
  } finally {
    if (keep) say(`${s.name}: kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}
