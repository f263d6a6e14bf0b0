import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { loadYaml, MAX_SOURCE_BYTES } from '../../../engine/loader/load-yaml.js';

test('positions: values and keys map from JSON pointers to line and column', () => {
  const text = 'version: 1\nname: wc\nstreams:\n  lines:\n    topic: "TextLines"\n';
  const { data, positions, diagnostics } = loadYaml('t.yaml', text);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(data, { version: 1, name: 'wc', streams: { lines: { topic: 'TextLines' } } });
  assert.deepEqual(positions.locate('/streams/lines/topic'), { line: 5, col: 12 });
  assert.deepEqual(positions.locate('/streams/lines/topic', true), { line: 5, col: 5 });
  // An unknown pointer falls back to its nearest ancestor.
  assert.deepEqual(positions.locate('/streams/lines/steps/3'), { line: 4, col: 3 });
  // Inside a quoted one-line scalar, offsets map to exact columns.
  assert.deepEqual(positions.locateInValue('/streams/lines/topic', 4), { line: 5, col: 17 });
});

test('duplicate keys are an error at the second key', () => {
  const { diagnostics } = loadYaml('t.yaml', 'version: 1\nname: a\nname: b\n');
  assert.equal(diagnostics.length, 1);
  assert.equal(diagnostics[0]!.line, 3);
  assert.match(diagnostics[0]!.message, /duplicate key/);
});

test('tabs used for indentation are an error on their line', () => {
  const { diagnostics } = loadYaml('t.yaml', 'streams:\n\tlines:\n    topic: x\n');
  assert.ok(diagnostics.length >= 1);
  assert.equal(diagnostics[0]!.line, 2);
  assert.match(diagnostics.map((d) => d.message).join('\n'), /tab/i);
});

test('${VAR} and ${VAR:-default} are replaced in string values', () => {
  const text = 'a: "${HOST}:${PORT:-9092}"\nb: ${MISSING:-fallback}\nc: $${LITERAL}\n';
  const { data, diagnostics } = loadYaml('t.yaml', text, { env: { HOST: 'kafka' } });
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(data, { a: 'kafka:9092', b: 'fallback', c: '${LITERAL}' });
});

test('an unset variable without default is an error naming it, at its column', () => {
  const { diagnostics } = loadYaml('t.yaml', 'kafka:\n  brokers: ["host-${BROKER_HOST}"]\n', { env: {} });
  assert.equal(diagnostics.length, 1);
  assert.deepEqual([diagnostics[0]!.line, diagnostics[0]!.col], [2, 19]);
  assert.match(diagnostics[0]!.message, /BROKER_HOST is not set/);
  assert.equal(diagnostics[0]!.path, 'kafka.brokers[0]');
});

test('an alias bomb is refused quickly with a clear message', () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  const { data, diagnostics } = loadYaml('bomb.yaml', lines.join('\n') + '\n');
  assert.equal(data, undefined);
  assert.match(diagnostics.map((d) => d.message).join('\n'), /aliases expand to more than/);
});

// Found by the reliability suite's yaml-fuzz: yaml's Alias.resolve walks the whole document for
// every alias, so the bomb's expansion, cut at MAX_EXPANDED_NODES, still cost that many walks of a
// large document: with this 200,000-item list (400 KB) about five minutes, a hang to a user. In a
// worker, to be stopped: a few seconds at most now, the bound is far above that.
test('an alias bomb in a large document is refused as quickly as in a small one', async () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  lines.push(`wide: [${Array(200_000).fill('1').join(',')}]`);
  const loader = new URL('../../../engine/loader/load-yaml.js', import.meta.url).href;
  const worker = new Worker(`import('${loader}').then(({ loadYaml }) => { const { data, diagnostics } = loadYaml('bomb.yaml', require('node:worker_threads').workerData); require('node:worker_threads').parentPort.postMessage({ data, diagnostics }); })`, { eval: true, workerData: lines.join('\n') + '\n' });
  const hung = setTimeout(() => void worker.terminate(), 60_000);
  try {
    const loaded = await new Promise<{ data: unknown; diagnostics: { message: string }[] } | undefined>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', () => resolve(undefined));
    });
    assert.ok(loaded, 'the loader was still expanding the bomb after 60 s');
    assert.equal(loaded.data, undefined);
    assert.match(loaded.diagnostics.map((d) => d.message).join('\n'), /aliases expand to more than/);
  } finally {
    clearTimeout(hung);
    await worker.terminate();
  }
});

test('oversized input is refused before parsing', () => {
  const { data, diagnostics } = loadYaml('big.yaml', `# ${'x'.repeat(MAX_SOURCE_BYTES)}\n`);
  assert.equal(data, undefined);
  assert.equal(diagnostics.length, 1);
  assert.match(diagnostics[0]!.message, /^file is 1,048,579 bytes; a topology may be at most 1,048,576 bytes \(1 MiB\)$/);
});

test('an empty file says what a topology needs', () => {
  const { diagnostics } = loadYaml('empty.yaml', '# nothing here\n');
  assert.match(diagnostics[0]!.message, /empty/);
});

test('redact shows every value taken from the environment as ${NAME}, and nothing else changes', () => {
  const env = { TOKEN: 'tok"en', PASS: 'pw', LONG: 'x'.repeat(70) };
  const { data, redact } = loadYaml('t.yaml', 'a: "${TOKEN}"\nb: pre-${PASS}\nc: ${LONG}\nd: ${UNSET:-default}\n', { env });
  assert.deepEqual(data, { a: 'tok"en', b: 'pre-pw', c: 'x'.repeat(70), d: 'default' });
  assert.equal(redact(`got ${JSON.stringify('tok"en')} and tok"en`), 'got "${TOKEN}" and ${TOKEN}');
  // A value is replaced where it stands alone, not inside another word; defaults are the file's own text.
  assert.equal(redact('pre-pw, pwd, default'), 'pre-${PASS}, pwd, default');
  // Long values as describeValue cuts them short.
  assert.equal(redact(`got "${'x'.repeat(57)}..."`), 'got "${LONG}"');
});
