import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../root.js';
import { cli, ready, tempDir } from '../engine/runtime/cli-harness.js';
import { emulateImage, type Stage } from './dockerfile.js';

const exec = promisify(execFile);

/** A tool .ci/tools.sh installs (in .tools/), by name. */
async function tool(name: string): Promise<string> {
  return (await exec('bash', [join(ROOT, '.ci/tools.sh'), name])).stdout.trim();
}

test('hadolint has nothing to say about the Dockerfile', async () => {
  const hadolint = await tool('hadolint');
  // Any finding, down to style, fails.
  const r = await exec(hadolint, ['--no-color', '--failure-threshold', 'style', 'Dockerfile'], { cwd: ROOT }).catch((e: { stdout: string; stderr: string; code: number }) => e);
  assert.equal(`${r.stdout}${r.stderr}`, '');
});

// The image's /app, made as the Dockerfile's stages make it: production dependencies only, and
// only the files the COPY lines take. A runtime import of a devDependency, or a file the image
// leaves out, fails here as it would in a container.
let app: string;
let image: Stage;
before(async () => ({ app, image } = await emulateImage(tempDir())));

/** The image's entrypoint with its /app paths in the emulated directory: [script, ...args]. */
function entrypoint(): string {
  assert.deepEqual(image.entrypoint?.slice(0, 1), ['node'], 'the entrypoint runs node');
  return image.entrypoint![1]!.replace(/^\/app\//, `${app}/`);
}

test('the image validates the example topology', async () => {
  const validate = cli(['validate', join(app, 'topologies/wordcount.yaml')], image.env, entrypoint());
  const code = await validate.exit(30_000);
  assert.equal(code, 0, validate.stderr);
  assert.match(validate.stdout, /wordcount\.yaml: ok/);
});

test("the image's default command runs a topology mounted at its path, and stops on SIGTERM", async () => {
  // The default command, with the image's paths where the emulation has them, on a free port of 127.0.0.1.
  assert.ok(image.cmd && image.volume, 'the image has a default command and a state volume');
  const map: Record<string, string> = { '/etc/duality/topology.yaml': join(app, 'topologies/wordcount.yaml'), [image.volume]: tempDir(), '8080': '0', '0.0.0.0': '127.0.0.1' };
  const args = image.cmd.map((a) => map[a] ?? a);
  assert.equal(args.filter((a, i) => a !== image.cmd![i]).length, 4, `the default command uses the topology path, the volume, port 8080 and host 0.0.0.0: ${image.cmd.join(' ')}`);
  const run = cli(args, image.env, entrypoint());
  await ready(run);
  run.child.kill('SIGTERM');
  assert.equal(await run.exit(15_000), 0, run.stderr);
});
