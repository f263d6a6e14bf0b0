/**
 * The docs are the user's reference: their links must lead somewhere, and the topologies and test
 * files they show must do what they say.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { compileTopology } from '../engine/compiler/index.js';
import { runTestFile } from '../engine/test-runner/run-tests.js';
import { ROOT } from './root.js';

const pages = ['README.md', ...readdirSync(`${ROOT}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = (page: string): string => readFileSync(`${ROOT}${page}`, 'utf8');

/** A page without its fenced code blocks, where `[x](y)` is code, not a link. */
const prose = (page: string): string => text(page).replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');

/** The anchors GitHub gives a page's headings. */
function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of prose(page).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

test('every link in README.md and docs/ leads to a file of the project, and to a heading of it', () => {
  const broken: string[] = [];
  for (const page of pages) {
    for (const [, target] of prose(page).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue; // https:, mailto:
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const file = path === '' ? `${ROOT}${page}` : resolve(dirname(`${ROOT}${page}`), path);
      if (!existsSync(file)) broken.push(`${page}: ${target} (no such file)`);
      else if (anchor !== undefined && !anchors(file.slice(ROOT.length)).has(anchor)) broken.push(`${page}: ${target} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});

/** The YAML blocks of the docs; a block whose first line is `# NAME.yaml` is the file NAME.yaml. */
const blocks = pages.flatMap((page) =>
  [...text(page).matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map(([, body]) => ({ page, body: body!, name: /^# ([\w.-]+\.yaml)\n/.exec(body!)?.[1] })),
);

/** Other files a page shows, each as a code block right after a line "`NAME`:" (schemas). */
function shownFiles(page: string): { name: string; body: string }[] {
  return [...text(page).matchAll(/^`([\w.-]+)`:\n\n```[^\n]*\n([\s\S]*?)^```$/gm)].map(([, name, body]) => ({ name: name!, body: body! }));
}

test('every topology the docs show compiles, beside the files its page shows', () => {
  const topologies = blocks.filter((b) => /^version: 1\b/m.test(b.body));
  assert.ok(topologies.length >= 3);
  for (const b of topologies) {
    const dir = mkdtempSync(join(tmpdir(), 'duality-docs-'));
    for (const f of shownFiles(b.page)) writeFileSync(join(dir, f.name), f.body);
    // The variables a block uses set, as a user running it has them (the credentials of docs/kafka.md).
    const env = Object.fromEntries([...b.body.matchAll(/\$\{(\w+)\}/g)].map((m) => [m[1]!, 'example']));
    const { diagnostics } = compileTopology(join(dir, b.name ?? 'topology.yaml'), b.body, { env });
    assert.deepEqual(diagnostics, [], `${b.page}:\n${b.body}`);
  }
});

test('every topology test file the docs show passes, beside the topologies it names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-docs-'));
  for (const f of readdirSync(`${ROOT}topologies`)) copyFileSync(`${ROOT}topologies/${f}`, join(dir, f));
  for (const b of blocks) if (b.name) writeFileSync(join(dir, b.name), b.body);
  const tests = blocks.filter((b) => /^topology:/m.test(b.body) && /^cases:/m.test(b.body));
  assert.ok(tests.length >= 2);
  for (const b of tests) {
    assert.ok(b.name, `${b.page}: a test file shown in the docs starts with # NAME.test.yaml`);
    const lines: string[] = [];
    const r = await runTestFile(join(dir, b.name), { line: (l) => lines.push(l), color: false });
    assert.equal(r.failed, 0, `${b.page}: ${b.name}\n${lines.join('\n')}`);
    assert.ok(r.passed >= 1);
  }
});
