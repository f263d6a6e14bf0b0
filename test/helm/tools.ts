/**
 * The tools the chart's and the image's tests run, installed by .ci/tools.sh into .tools/ (it does
 * nothing when they are there): the path of one of them.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../root.js';

export function tool(name: 'helm' | 'hadolint' | 'kubernetes-validate' | 'schemathesis' | 'servicemonitor-crd'): string {
  return execFileSync('bash', [join(ROOT, '.ci/tools.sh'), name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 1_200_000 }).trim();
}
