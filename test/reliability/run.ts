/**
 * `npm run reliability -- SCENARIO [--option value]... [--keep]`: runs one scenario of the
 * reliability suite, or `all` of them with a summary table; `--help` lists them. Exit status 0
 * when every scenario run passed, 1 when one did not, 2 for a usage error.
 */
import { formatFigures, type Outcome, type Scenario } from './scenario.js';
import { loadScenarios, runScenario, UsageError } from './scenarios.js';

interface Parsed {
  readonly name: string;
  readonly options: Record<string, string>;
  readonly keep: boolean;
  readonly short: boolean;
}

function parse(argv: readonly string[]): Parsed {
  const [name, ...rest] = argv;
  if (name === undefined || name.startsWith('-')) throw new UsageError('name a scenario, or all');
  const options: Record<string, string> = {};
  let keep = false;
  let short = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--keep') keep = true;
    else if (arg === '--short') short = true;
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 0) options[arg.slice(2, eq)] = arg.slice(eq + 1);
      else {
        const value = rest[++i];
        if (value === undefined) throw new UsageError(`${arg} needs a value`);
        options[arg.slice(2)] = value;
      }
    } else throw new UsageError(`unexpected argument "${arg}"`);
  }
  return { name, options, keep, short };
}

function help(scenarios: readonly Scenario[]): string {
  const lines = ['usage: npm run reliability -- SCENARIO [--option value]... [--short] [--keep]', '', 'scenarios (docs/reliability.md):'];
  for (const s of scenarios) {
    lines.push(`  ${s.name.padEnd(16)} ${s.what}`);
    for (const [o, d] of Object.entries(s.options)) lines.push(`  ${''.padEnd(16)}   --${o} (default ${d.default === '' ? "''" : d.default}): ${d.help}`);
  }
  lines.push(`  ${'all'.padEnd(16)} every scenario above, then a summary table`, '', '--short runs the short version npm test runs; --keep keeps the scenario\'s directory.');
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const scenarios = await loadScenarios();
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    console.log(help(scenarios));
    return argv.length === 0 ? 2 : 0;
  }
  const parsed = parse(argv);
  const chosen = parsed.name === 'all' ? scenarios : scenarios.filter((s) => s.name === parsed.name);
  if (chosen.length === 0) throw new UsageError(`no scenario "${parsed.name}"; there are ${scenarios.map((s) => s.name).join(', ')} and all`);
  if (parsed.name === 'all' && Object.keys(parsed.options).length > 0) throw new UsageError('options go with one scenario, not with all');
  const results: { s: Scenario; o: Outcome; seconds: number }[] = [];
  for (const s of chosen) {
    const began = Date.now();
    const o = await runScenario(s, { ...(parsed.short ? s.short : {}), ...parsed.options }, (l) => console.log(l), parsed.keep);
    const seconds = (Date.now() - began) / 1000;
    results.push({ s, o, seconds });
    console.log(`${s.name}: ${o.passed ? 'PASS' : 'FAIL'} in ${seconds.toFixed(1)} s ${formatFigures(o.figures)}`);
    for (const f of o.failures) console.log(`${s.name}:   ${f}`);
  }
  if (results.length > 1) {
    console.log('\n| scenario | result | seconds | figures |\n|---|---|---|---|');
    for (const { s, o, seconds } of results) console.log(`| ${s.name} | ${o.passed ? 'pass' : 'FAIL'} | ${seconds.toFixed(0)} | ${formatFigures(o.figures)} |`);
  }
  return results.every((r) => r.o.passed) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`reliability: ${e.message} (npm run reliability -- --help)`);
      process.exit(2);
    }
    console.error(e);
    process.exit(1);
  },
);
