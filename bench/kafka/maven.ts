import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Builds a Maven module (`mvn package`, its runtime jars copied to target/lib/) once: skipped while
 * `jar` is newer than pom.xml and every source file. Returns what it did, for the log.
 */
export function ensureMavenJar(moduleDir: string, jar: string): string {
  const newest = Math.max(...[join(moduleDir, 'pom.xml'), ...files(join(moduleDir, 'src'))].map((f) => statSync(f).mtimeMs));
  if (existsSync(jar) && existsSync(join(moduleDir, 'target/lib')) && statSync(jar).mtimeMs > newest) return 'up to date';
  const started = Date.now();
  const mvn = spawnSync('mvn', ['-q', '-B', '--no-transfer-progress', '-Dstyle.color=never', '-f', join(moduleDir, 'pom.xml'), 'package'], { encoding: 'utf8', timeout: 600_000 });
  if (mvn.error || mvn.status !== 0) {
    const out = `${mvn.stdout ?? ''}${mvn.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`building ${relative(ROOT, moduleDir)} with Maven failed (${mvn.error?.message ?? `status ${mvn.status}`}):\n${out}`);
  }
  return `built in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}
