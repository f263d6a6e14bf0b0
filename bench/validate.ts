/**
 * `npm run bench -- validate [runs]`: the wall time of `duality validate topologies/wordcount.yaml`
 * as a whole process (what a user or an editor hook waits for), against `node -e 0` measured in the
 * same run; the in-process compile time of each example once warm; and how fast a file over the
 * 1 MiB limit is refused, against parsing it with the yaml library (what the limit spares).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { compileTopology } from '../engine/compiler/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function timeProcess(args: string[], runs: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'pipe' });
    const t1 = process.hrtime.bigint();
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    times.push(Number(t1 - t0) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;

/** The median wall time of `fn` in ms over `runs` calls. */
function timeCall(fn: () => void, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times.sort((a, b) => a - b));
}

/** A file just over the limit: 1 MiB of comments, then a YAML error that parsing would find. */
function oversized(): string {
  const line = '# padding so that the file is larger than one mebibyte\n';
  return 'version: 1\nname: big\n' + line.repeat(Math.ceil((1024 * 1024 + 1) / line.length)) + 'streams: [unclosed\n';
}

export async function run(args: string[]): Promise<void> {
  const runs = Number(args[0] ?? 15);
  timeProcess(['bin/duality.js', 'validate', 'topologies/wordcount.yaml'], 2); // warm the file cache
  const node = median(timeProcess(['-e', '0'], runs));
  const validate = median(timeProcess(['bin/duality.js', 'validate', 'topologies/wordcount.yaml'], runs));
  console.log(`node -e 0: ${node.toFixed(1)} ms (median of ${runs})`);
  console.log(`duality validate topologies/wordcount.yaml: ${validate.toFixed(1)} ms (median of ${runs})`);
  console.log(`ratio validate/node-startup: ${(validate / node).toFixed(2)}`);

  const files = readdirSync(`${ROOT}topologies`).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));
  const texts = files.map((f) => [f, readFileSync(`${ROOT}topologies/${f}`, 'utf8')] as const);
  const t0 = performance.now();
  compileTopology('first.yaml', texts[0]![1]);
  console.log(`first compile in process (loading the generated validators and the CEL environment): ${(performance.now() - t0).toFixed(1)} ms`);
  for (const [f, text] of texts) {
    const n = 200;
    const s = performance.now();
    for (let i = 0; i < n; i++) compileTopology(f, text);
    console.log(`compile ${f}: ${((performance.now() - s) / n).toFixed(2)} ms warm`);
  }
  const big = oversized();
  const refusal = timeCall(() => compileTopology('big.yaml', big, { env: {} }), runs);
  const parse = timeCall(() => parseDocument(big), runs);
  console.log(`refuse a ${big.length.toLocaleString('en')}-byte file (over the 1 MiB limit): ${refusal.toFixed(2)} ms (median of ${runs})`);
  console.log(`parse the same file with yaml's parseDocument: ${parse.toFixed(1)} ms (median of ${runs})`);
  console.log(`ratio refusal/parse: ${(refusal / parse).toFixed(4)}`);
}
