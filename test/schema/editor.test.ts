import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { getLanguageService } from 'yaml-language-server';
import { ROOT } from '../root.js';

// What an editor using yaml-language-server (VS Code's YAML extension) shows for a topology,
// through the `# yaml-language-server: $schema=...` modeline at the top of each file.
function editor() {
  const service = getLanguageService({
    schemaRequestService: async (uri: string) => readFileSync(fileURLToPath(uri), 'utf8'),
    workspaceContext: { resolveRelativePath: (relative: string, resource: string) => new URL(relative, resource).href },
  });
  service.configure({ validate: true, completion: true, hover: true, schemas: [] });
  return service;
}

const uri = pathToFileURL(`${ROOT}topologies/wordcount.yaml`).href;
// yaml-language-server caches parsed documents by URI and version: each text gets a new version.
let version = 0;
const open = (text: string): TextDocument => TextDocument.create(uri, 'yaml', ++version, text);
const wordcount = readFileSync(`${ROOT}topologies/wordcount.yaml`, 'utf8');

test('completion offers the steps in a steps list', async () => {
  const text = wordcount.replace('      - count\n', '      - count\n      - \n');
  const line = text.split('\n').findIndex((l) => l === '      - ');
  const list = await editor().doComplete(open(text), { line, character: 8 }, false);
  const labels = list.items.map((i) => i.label);
  for (const step of ['flatMapValues', 'groupBy', 'count', 'toStream', 'window', 'join']) assert.ok(labels.includes(step), `${step} in ${labels.join(', ')}`);
});

test('completion offers the fields of a definition', async () => {
  const text = wordcount.replace('    key: string\n', '    key: string\n    \n');
  const line = text.split('\n').findIndex((l) => l === '    ');
  const labels = (await editor().doComplete(open(text), { line, character: 4 }, false)).items.map((i) => i.label);
  for (const field of ['timestamp', 'to', 'emit']) assert.ok(labels.includes(field), `${field} in ${labels.join(', ')}`);
});

test('hover explains a step from its operator spec', async () => {
  const lines = wordcount.split('\n');
  const line = lines.findIndex((l) => l.includes('flatMapValues'));
  const hover = await editor().doHover(open(wordcount), { line, character: lines[line]!.indexOf('flatMapValues') + 3 });
  assert.ok(hover, 'no hover');
  assert.match(JSON.stringify(hover.contents), /one record per element/);
});

test('the editor flags an unknown field and a bad serde where they are', async () => {
  for (const [from, to, message] of [
    ['    key: string\n', '    keys: string\n', /keys is not allowed/],
    ['    value: string\n', '    value: strng\n', /string/],
  ] as const) {
    const text = wordcount.replace(from, to);
    const line = text.split('\n').indexOf(to.trimEnd());
    const diagnostics = await editor().doValidation(open(text), false);
    assert.ok(diagnostics.some((d) => message.test(String(d.message)) && d.range.start.line === line), `${to.trim()}: ${JSON.stringify(diagnostics)}`);
  }
});
