import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../../engine/runtime/logger.js';
import { ROOT } from '../../root.js';
import { cli, logLines, ready, tempDir } from './cli-harness.js';

function wordcount(): { file: string; state: string } {
  const dir = tempDir();
  const file = join(dir, 'wordcount.yaml');
  copyFileSync(join(ROOT, 'topologies/wordcount.yaml'), file);
  return { file, state: join(dir, 'state') };
}

test('duality run logs JSON lines to a stderr that is no terminal, each with its level, time and message', async () => {
  const { file, state } = wordcount();
  const run = cli(['run', file, '--port', '0', '--state-dir', state]);
  await ready(run);
  run.child.kill('SIGTERM');
  assert.equal(await run.exit(15_000), 0, run.stderr);
  const lines = logLines(run.stderr);
  for (const l of lines) {
    assert.deepEqual(Object.keys(l), ['level', 'time', 'msg']);
    assert.ok(!Number.isNaN(Date.parse(l.time)), l.time);
  }
  assert.ok(lines.some((l) => l.level === 'info' && /^duality: tasks? .* started, 0 changelog records restored/.test(l.msg)), run.stderr);
  assert.ok(lines.some((l) => l.level === 'info' && l.msg === 'duality: SIGTERM: stopping (finishing the batch, committing, closing stores)'), run.stderr);
});

test('DUALITY_LOG_LEVEL=warn leaves the info lines out; a level that is none is a usage error (exit 2)', async () => {
  const { file, state } = wordcount();
  const run = cli(['run', file, '--port', '0', '--state-dir', state], { DUALITY_LOG_LEVEL: 'warn' });
  await ready(run);
  run.child.kill('SIGTERM');
  assert.equal(await run.exit(15_000), 0, run.stderr);
  assert.deepEqual(logLines(run.stderr).filter((l) => l.level === 'info' || l.level === 'debug'), []);

  const bad = cli(['run', file, '--port', '0', '--state-dir', state], { DUALITY_LOG_LEVEL: 'verbose' });
  assert.equal(await bad.exit(10_000), 2);
  assert.match(bad.stderr, /^duality: DUALITY_LOG_LEVEL must be one of error, warn, info, debug, not "verbose"$/m);
});

test('on a terminal a log line is "time LEVEL message"; debug lines show at level debug only; secrets are hidden before escaping', () => {
  const lines: string[] = [];
  const human = createLogger({ level: 'info', format: 'human', write: (l) => lines.push(l) });
  human.info('duality: task 0_0 started');
  human.debug('duality: not shown');
  human.warn('duality: store "counts" rebuilt');
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  duality: task 0_0 started$/);
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d\.\d{3} WARN  duality: store "counts" rebuilt$/);

  const json: string[] = [];
  const secret = 'pa"ss\\word';
  const debug = createLogger({ level: 'debug', format: 'json', write: (l) => json.push(l), redact: (l) => l.replaceAll(secret, '${KAFKA_SASL_PASSWORD}') });
  debug.debug(`duality: login with ${secret} refused`);
  assert.equal(json.length, 1);
  assert.equal((JSON.parse(json[0]!) as { msg: string }).msg, 'duality: login with ${KAFKA_SASL_PASSWORD} refused');
  assert.ok(!json[0]!.includes('pa\\"ss'), json[0]);
});
