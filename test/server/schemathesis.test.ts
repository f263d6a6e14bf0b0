import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, ready, tempDir } from '../engine/runtime/cli-harness.js';
import { tool } from '../helm/tools.js';
import { TOPOLOGY } from './harness.js';

// Schemathesis (PyPI, installed by .ci/tools.sh) generates requests from the /openapi.json of a
// real `duality run` (a string-keyed, a long-keyed, a tumbling-window and a session-window table):
// valid ones, invalid ones, and methods no route has. The checks below hold for every answer.
// Left out: positive_data_acceptance (a request the schema allows may still be refused for what
// a schema cannot say: `from` after `to`, from/to on a table that is not windowed, a record value
// the topic's serde cannot encode), use_after_free and ensure_resource_availability (the API
// deletes nothing), object_level_authorization (one token, no per-object owners).
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'missing_required_header',
  'unsupported_method',
  'allow_header_conformance',
  'ignored_auth',
];
const KILL_AFTER_MS = 150_000;
// One worker: two share Hypothesis' lambda-source cache across threads, which on Python 3.11 fails
// now and then with "AST constructor recursion depth mismatch", an error of the tool, not of ours.

interface Fuzzed {
  code: number | null;
  output: string;
  /** The requests schemathesis sent, as its HAR report records them. */
  requests: number;
}

function schemathesis(url: string, dir: string, seed: number, examples: number, headers: string[]): Promise<Fuzzed> {
  const har = join(dir, `requests-${seed}.har`);
  const args = ['run', `${url}/openapi.json`, '--seed', String(seed), '--max-examples', String(examples), '--workers', '1', '--checks', CHECKS.join(','), '--generation-database', 'none', '--no-color', '--report', 'har', '--report-har-path', har, ...headers.flatMap((h) => ['-H', h])];
  const child = spawn(tool('schemathesis'), args, { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      let requests = 0;
      try {
        requests = (JSON.parse(readFileSync(har, 'utf8')) as { log: { entries: unknown[] } }).log.entries.length;
      } catch {
        // No report: the run failed before it wrote one, and its output says why.
      }
      resolve({ code, output, requests });
    }),
  );
}

/** Runs `duality run` (with DUALITY_API_TOKEN when `token` is given), fuzzes it; the requests sent. */
async function fuzz(seed: number, examples: number, token?: string): Promise<number> {
  const dir = tempDir();
  writeFileSync(join(dir, 'topology.yaml'), TOPOLOGY);
  const run = cli(['run', join(dir, 'topology.yaml'), '--port', '0', '--state-dir', join(dir, 'state')], token === undefined ? {} : { DUALITY_API_TOKEN: token });
  const url = await ready(run);
  try {
    const r = await schemathesis(url, dir, seed, examples, token === undefined ? [] : [`Authorization: Bearer ${token}`]);
    assert.equal(r.code, 0, `schemathesis failed (exit ${r.code}):\n${r.output}`);
    assert.doesNotMatch(run.stderr, /failed:/, 'the server logged a failure');
    return r.requests;
  } finally {
    run.child.kill('SIGTERM');
    await run.exit(15_000);
  }
}

test('schemathesis: every generated request, with and without a token, is answered as the description says, without a 5xx', { timeout: 2 * KILL_AFTER_MS + 60_000 }, async (t) => {
  const open = await fuzz(1, 100);
  const secured = await fuzz(2, 60, 'fuzz-token');
  t.diagnostic(`requests: ${open} without a token, ${secured} with one`);
  assert.ok(open + secured >= 1000, `schemathesis sent ${open + secured} requests, fewer than 1,000`);
});
