/**
 * A scenario of the reliability suite (`npm run reliability -- NAME`, docs/reliability.md): it
 * does something hostile to a running Duality (kills, restarts, a broken broker, bad input, load)
 * and checks what a user would check afterwards, printing the figures it measured.
 *
 * Each scenario is a module of `scenarios/` exporting `scenario`; the runner finds them there.
 */
export interface Scenario {
  /** The command-line name: `eos-kill`. */
  readonly name: string;
  /** Where it comes in `all` and in the docs' table (lower first). */
  readonly order: number;
  /** What it does, one sentence, for `--help` and the docs' table. */
  readonly what: string;
  /** The Kafka Streams (or industry) test it mirrors. */
  readonly mirrors: string;
  /** Its options, `--name value`, with their defaults (all strings: the command line gives strings). */
  readonly options: Readonly<Record<string, { readonly default: string; readonly help: string }>>;
  /** The options of its short run in `npm test`, when it has one. */
  readonly short?: Readonly<Record<string, string>>;
  run(context: ScenarioContext): Promise<Outcome>;
}

export interface ScenarioContext {
  /** The options given, each with its default filled in. */
  readonly options: Readonly<Record<string, string>>;
  /** A directory of its own for state, logs and files, removed afterwards unless `--keep`. */
  readonly workDir: string;
  /** Progress for the person watching, one line. */
  say(line: string): void;
}

export interface Outcome {
  /** Every check held. */
  readonly passed: boolean;
  /** What was measured, in print order: `{lost: 0, duplicated: 0, kills: 2}` prints `lost=0 duplicated=0 kills=2`. */
  readonly figures: Readonly<Record<string, string | number>>;
  /** Why it did not pass, a line each (empty when it passed). */
  readonly failures: readonly string[];
}

/** `lost=0 duplicated=0`: figures as the runner prints them. */
export const formatFigures = (figures: Outcome['figures']): string =>
  Object.entries(figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/** An outcome from checks: passed when none failed. */
export function outcome(figures: Outcome['figures'], checks: readonly [holds: boolean, failure: string][]): Outcome {
  const failures = checks.filter(([holds]) => !holds).map(([, failure]) => failure);
  return { passed: failures.length === 0, figures, failures };
}
