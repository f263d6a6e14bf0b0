/**
 * Schemathesis (PyPI, installed by .ci/tools.sh into .tools/) against the /openapi.json of a
 * running `duality run`: it generates requests from the description, valid ones, invalid ones and
 * methods no route has, and checks every answer. Its own reports say what it sent and found.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tool } from '../helm/tools.js';

// Left out: positive_data_acceptance (a request the schema allows may still be refused for what
// a schema cannot say: `from` after `to`, from/to on a table that is not windowed, a record value
// the topic's serde cannot encode), use_after_free and ensure_resource_availability (the API
// deletes nothing), object_level_authorization (one token, no per-object owners).
export const SCHEMATHESIS_CHECKS = [
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
] as const;

export interface FuzzRun {
  /** The description's URL's base: `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Where its reports go. */
  readonly dir: string;
  readonly seed: number;
  /** Test cases per operation (`--max-examples`). */
  readonly examples: number;
  /** `Authorization: Bearer TOKEN` on every request, when given. */
  readonly token?: string;
  /** Killed after this long: a hung server (or tool) is a failed run, not a stuck suite. */
  readonly killAfterMs: number;
}

export interface Fuzzed {
  readonly code: number | null;
  readonly killed: boolean;
  /** Its output, for the failure report. */
  readonly output: string;
  /** The requests it sent, as its HAR report records them. */
  readonly requests: number;
  /** Answers with a 5xx status among them. */
  readonly serverErrors: number;
  /** Failures of the other checks (an answer the description does not allow), by schemathesis' count. */
  readonly nonconforming: number;
  /** What it found, `ST202 Schema-valid request rejected: 4`, a line each. */
  readonly findings: readonly string[];
}

interface JsonReport {
  failures: { code: string; title: string; type: string; count: number; operations: string[] }[];
  errors: unknown[];
}

export function schemathesis(run: FuzzRun): Promise<Fuzzed> {
  const har = join(run.dir, `requests-${run.seed}.har`);
  const report = join(run.dir, `report-${run.seed}.json`);
  // One worker: two share Hypothesis' lambda-source cache across threads, which on Python 3.11 fails
  // now and then with "AST constructor recursion depth mismatch", an error of the tool, not of ours.
  const args = ['run', `${run.url}/openapi.json`, '--seed', String(run.seed), '--max-examples', String(run.examples), '--workers', '1', '--checks', SCHEMATHESIS_CHECKS.join(','),
    '--generation-database', 'none', '--no-color', '--report', 'har,json', '--report-har-path', har, '--report-json-path', report,
    ...(run.token === undefined ? [] : ['-H', `Authorization: Bearer ${run.token}`])];
  const child = spawn(tool('schemathesis'), args, { cwd: run.dir, env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  let killed = false;
  const killer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, run.killAfterMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      const statuses = readJson<{ log: { entries: { response: { status: number } }[] } }>(har)?.log.entries.map((e) => e.response.status) ?? [];
      // No report: the run failed before it wrote one, and its output says why.
      const found = readJson<JsonReport>(report);
      const failures = found?.failures ?? [];
      resolve({
        code,
        killed,
        output,
        requests: statuses.length,
        serverErrors: statuses.filter((s) => s >= 500).length,
        nonconforming: failures.filter((f) => f.type !== 'ServerError').reduce((n, f) => n + f.count, 0),
        findings: [...failures.map((f) => `${f.code} ${f.title}: ${f.count} (${f.operations.join(', ')})`), ...(found?.errors ?? []).map((e) => `error: ${JSON.stringify(e).slice(0, 500)}`)],
      });
    }),
  );
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
