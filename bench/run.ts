/**
 * Benchmark runner: `npm run bench -- NAME [args]` runs `node dist/bench/run.js NAME args`,
 * which imports `./NAME.js` (a sibling in dist/bench/) and calls its `run(args)`.
 * An unknown or missing NAME prints the available benches and exits with 2.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Bench {
  run(args: string[]): Promise<void>;
}

function available(): string[] {
  const dir = dirname(fileURLToPath(import.meta.url));
  return readdirSync(dir)
    .filter((f) => f.endsWith('.js') && f !== 'run.js')
    .map((f) => f.slice(0, -'.js'.length))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const names = available();
  if (name === undefined || !names.includes(name)) {
    if (name !== undefined) console.error(`unknown bench: ${name}`);
    console.error(`usage: npm run bench -- NAME [args]\navailable benches: ${names.join(', ') || '(none)'}`);
    return 2;
  }
  const mod = (await import(`./${name}.js`)) as Partial<Bench>;
  if (typeof mod.run !== 'function') {
    console.error(`bench ${name} does not export run(args)`);
    return 2;
  }
  await mod.run(args);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
