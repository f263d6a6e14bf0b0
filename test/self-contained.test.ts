/**
 * A user has the repository and nothing beside it: no test, script, doc or code path may read or
 * point to a file outside it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './root.js';

/** Generated, installed or run-time directories: not the project's own text. */
const SKIP = new Set(['node_modules', 'dist', '.git', '.cache', '.tools', 'state', 'target']);

function projectFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : projectFiles(path);
    return e.isFile() ? [path] : [];
  });
}

const texts = projectFiles()
  .map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }))
  .filter((f) => !f.text.includes('\0'));

test('no file of the project reads or points to a directory beside the repository', () => {
  const outside = /\.\.\/shared\b|\bshared\/spec\b/;
  assert.deepEqual(texts.filter((f) => outside.test(f.text)).map((f) => f.path), []);
});

test('every Markdown document the project names is in the repository', () => {
  const docs = new Set(texts.filter((f) => f.path.endsWith('.md')).map((f) => basename(f.path)));
  const missing: string[] = [];
  for (const f of texts) {
    for (const [name] of f.text.matchAll(/\b[A-Z][A-Z0-9_-]*\.md\b/g)) if (!docs.has(name)) missing.push(`${f.path}: ${name}`);
  }
  assert.deepEqual(missing, []);
});
