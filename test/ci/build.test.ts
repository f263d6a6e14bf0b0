import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../root.js';

test('the test command builds from scratch: a compiled test whose source was deleted no longer runs', async () => {
  // A project with one test source, and the compiled copy of a test deleted since the last build.
  const dir = mkdtempSync(join(tmpdir(), 'duality-build-'));
  for (const f of ['package.json', 'tsconfig.json', '.ci/build.sh']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    copyFileSync(join(ROOT, f), join(dir, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'test'));
  writeFileSync(join(dir, 'test/kept.test.ts'), "import { test } from 'node:test';\ntest('kept', () => {});\n");
  mkdirSync(join(dir, 'dist/test'), { recursive: true });
  writeFileSync(join(dir, 'dist/test/deleted.test.js'), "throw new Error('the source of this test was deleted');\n");

  await promisify(execFile)('bash', ['.ci/build.sh'], { cwd: dir });
  assert.ok(existsSync(join(dir, 'dist/test/kept.test.js')));
  assert.ok(!existsSync(join(dir, 'dist/test/deleted.test.js')));

  // .ci/test.sh runs every compiled test it finds under dist/test: it must build this way first.
  const script = readFileSync(join(ROOT, '.ci/test.sh'), 'utf8');
  const build = script.indexOf('bash .ci/build.sh');
  assert.ok(build >= 0 && build < script.indexOf('find dist/test'), '.ci/test.sh builds with .ci/build.sh before it finds the tests');
});
