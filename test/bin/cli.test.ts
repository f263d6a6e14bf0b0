import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main, type Output } from '../../bin/cli.js';
import { compileTopologyFile } from '../../engine/compiler/index.js';
import { renderGraph } from '../../engine/describe/index.js';
import { readFileSync } from 'node:fs';
import { ROOT } from '../root.js';

async function run(args: string[], color = false): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o: Output = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), color };
  const code = await main(args, o);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const wordcount = `${ROOT}topologies/wordcount.yaml`;

function tempFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'duality-cli-')), 'topology.yaml');
  writeFileSync(file, text);
  return file;
}

test('validate: ok per valid file, exit 0', async () => {
  const r = await run(['validate', wordcount, `${ROOT}topologies/wordcount.test.yaml`]);
  assert.equal(r.code, 0);
  assert.match(r.out, /wordcount\.yaml: ok\n.*wordcount\.test\.yaml: ok$/);
});

test('validate: every problem as file:line:col: path: message, exit 1', async () => {
  const file = tempFile('version: 1\nname: wc\nstreams:\n  lines:\n    topic: t\n    value: strng\ntables:\n  counts:\n    from: lines\n    steps:\n      - flatmap: words(value)\n      - count\n');
  const r = await run(['validate', file]);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.deepEqual(r.err.split('\n'), [
    `${file}:6:12: streams.lines.value: must be one of string, json, long, int, double, bytes, avro, protobuf, json-schema; got "strng"; did you mean "string"?`,
    `${file}:11:9: tables.counts.steps[0].flatmap: unknown step "flatmap"; did you mean "flatMap"?`,
  ]);
});

test('validate: a test file is checked with the topology it names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-cli-'));
  writeFileSync(join(dir, 'wc.yaml'), '# yaml-language-server: $schema=x\nversion: 1\nname: wc\nstreams:\n  lines: {topic: lines, value: string}\n  out: {from: lines, to: words}\n');
  writeFileSync(join(dir, 'wc.test.yaml'), 'topology: wc.yaml\ncases:\n  - name: x\n    input:\n      - {topic: line, value: a}\n    expect:\n      topics: {words: []}\n');
  const r = await run(['validate', join(dir, 'wc.test.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /wc\.test\.yaml:5:17: cases\[0\]\.input\[0\]\.topic: the topology does not read topic "line"; did you mean "lines"\?/);
});

test('usage errors exit 2; --help and --version exit 0', async () => {
  assert.equal((await run(['validate'])).code, 2);
  assert.equal((await run(['frobnicate'])).code, 2);
  assert.equal((await run(['describe', wordcount, '--format', 'svg'])).code, 2);
  assert.equal((await run(['describe', wordcount, '--nope'])).code, 2);
  for (const [args, message] of [
    [['--cache-max-bytes', 'lots'], /--cache-max-bytes must be a size such as 10MiB, 512KiB or 0 \(0 forwards every table update\), not "lots"/],
    [['--cache-entries', '0'], /--cache-entries is gone: the caches are bounded by bytes now; use --cache-max-bytes SIZE/],
    [['--http-headers-timeout', '5'], /--http-headers-timeout must be a duration such as 10s or 500ms \(0s: no limit\), not "5"/],
    [['--http-headers-timeout', '1m'], /--http-headers-timeout must not be longer than --http-request-timeout/],
    [['--http-max-connections', '0'], /--http-max-connections must be at least 1/],
    [['--http-max-header-size', '16kb'], /--http-max-header-size must be a size such as 16KiB, not "16kb"/],
  ] as const) {
    const r = await run(['run', wordcount, ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, message);
  }
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  for (const cmd of ["validate", "test", "describe"]) assert.match(help.out, new RegExp(`^  ${cmd} `, "m"));
  for (const cmd of ['validate', 'describe']) {
    const r = await run([cmd, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`^Usage: duality ${cmd}`));
  }
  assert.match((await run(['--version'])).out, /^\d+\.\d+\.\d+$/);
});

test('an unreadable file is a positioned error, not a stack trace', async () => {
  const r = await run(['validate', '/nonexistent/topology.yaml']);
  assert.equal(r.code, 1);
  assert.equal(r.err, '/nonexistent/topology.yaml:1:1: cannot read the file: no such file');
});

test('describe --format json names the repartition and changelog topics', async () => {
  const r = await run(['describe', wordcount, '--format', 'json']);
  assert.equal(r.code, 0);
  const g = JSON.parse(r.out) as { topics: { name: string; role: string }[] };
  assert.deepEqual(g.topics.filter((t) => t.role === 'repartition' || t.role === 'changelog').map((t) => t.name), [
    'wordcount-word-counts-repartition',
    'wordcount-word-counts-changelog',
  ]);
});

test('describe --format mermaid and dot draw sub-topologies, topics and stores', async () => {
  const m = await run(['describe', wordcount, '--format', 'mermaid']);
  assert.match(m.out, /^flowchart TD/);
  assert.match(m.out, /subgraph sub1\["Sub-topology 1"\]/);
  assert.match(m.out, /t_wordcount_word_counts_repartition\(\["wordcount-word-counts-repartition"\]\)/);
  assert.match(m.out, /s_word_counts\[\("word-counts"\)\]/);
  const d = await run(['describe', wordcount, '--format', 'dot']);
  assert.match(d.out, /^digraph "wordcount" \{/);
  assert.match(d.out, /subgraph cluster_1/);
  const t = await run(['describe', wordcount]);
  assert.match(t.out, /Sub-topology 1: reads wordcount-word-counts-repartition/);
});

test('describe --pass shows the compiler state after that pass', async () => {
  const r = await run(['describe', wordcount, '--pass', 'insertRepartitions']);
  assert.equal(r.code, 0);
  assert.match(r.out, /"type": "repartition-sink"/);
});

test('colour only when asked for (terminal without NO_COLOR), in a real process too', async () => {
  const bad = tempFile('version: 2\nname: x\n');
  assert.match((await run(['validate', bad], true)).err, /\u001b\[/);
  assert.doesNotMatch((await run(['validate', bad], false)).err, /\u001b\[/);
  const p = spawnSync(process.execPath, [`${ROOT}bin/duality.js`, 'validate', bad], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(p.status, 1);
  assert.equal(p.stderr, `${bad}:1:10: version: must be 1; got 2\n`);
});

test('the Mermaid picture in the README is the one describe draws', () => {
  const { graph } = compileTopologyFile(`${ROOT}topologies/wordcount.yaml`);
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  assert.ok(readme.includes('```mermaid\n' + renderGraph(graph!, 'mermaid') + '```'), 'README.md: update the WordCount picture from `duality describe topologies/wordcount.yaml --format mermaid`');
});

test('validate never prints a value that came from an environment variable: it shows ${NAME}', () => {
  const secret = 's3cr3t-token';
  const long = 'L'.repeat(80) + '-secret-tail';
  const head = ['version: 1', 'name: leaky', 'streams:', '  lines:', '    topic: t'];
  // The schema's messages quote the value they refuse; the compiler's quote the names they cannot resolve.
  const badSerdes = tempFile([...head, '    key: ${DUALITY_API_TOKEN}', '    value: ${LONG_SECRET}', ''].join('\n'));
  const badReference = tempFile([...head, 'tables:', '  counts:', '    from: ${DUALITY_API_TOKEN}', '    steps: [groupByKey, count]', ''].join('\n'));
  const p = spawnSync(process.execPath, [`${ROOT}bin/duality.js`, 'validate', badSerdes, badReference], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', DUALITY_API_TOKEN: secret, LONG_SECRET: long },
  });
  assert.equal(p.status, 1);
  const lines = p.stderr.trim().split('\n');
  assert.equal(lines.length, 3, p.stderr);
  assert.match(lines[0]!, /:6:10: streams\.lines\.key: must be one of .*; got "\$\{DUALITY_API_TOKEN\}"$/);
  assert.match(lines[1]!, /:7:12: streams\.lines\.value: must be one of .*; got "\$\{LONG_SECRET\}"$/);
  assert.match(lines[2]!, /:8:11: tables\.counts\.from: "\$\{DUALITY_API_TOKEN\}" is not defined$/);
  for (const leaked of [secret, 'LLLLLLLLLL', 'secret-tail']) assert.ok(!p.stderr.includes(leaked), `the message shows ${leaked}:\n${p.stderr}`);
});
