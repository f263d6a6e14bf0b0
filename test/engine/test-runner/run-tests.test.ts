import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileTopology } from '../../../engine/compiler/index.js';
import { readTable } from '../../../engine/runtime/queries.js';
import { readTopic, runInputs, runTestFile } from '../../../engine/test-runner/run-tests.js';
import { ROOT } from '../../root.js';

async function run(file: string): Promise<{ passed: number; failed: number; out: string }> {
  const lines: string[] = [];
  const s = await runTestFile(file, { line: (l) => lines.push(l), color: false });
  return { ...s, out: lines.join('\n') };
}

test('the step-semantics topology tests in test/topologies pass', async () => {
  for (const [file, cases] of [['steps', 7], ['joins', 3], ['routing', 4], ['table-groupby', 5], ['foreign-key-join', 4]] as const) {
    const r = await run(`${ROOT}test/topologies/${file}.test.yaml`);
    assert.deepEqual([r.passed, r.failed], [cases, 0], r.out);
  }
});

test('every topology in topologies/ has its test file beside it, and every case passes', async () => {
  const topologies = readdirSync(`${ROOT}topologies`).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));
  assert.ok(topologies.length > 0);
  for (const f of topologies) {
    const r = await run(`${ROOT}topologies/${f.replace(/\.yaml$/, '.test.yaml')}`);
    assert.equal(r.failed, 0, r.out);
    assert.ok(r.passed >= 1, `${f}: no case passed\n${r.out}`);
  }
});

const dir = mkdtempSync(join(tmpdir(), 'duality-runner-'));
writeFileSync(
  join(dir, 'orders.yaml'),
  `version: 1
name: orders
streams:
  orders:
    topic: orders
    value: json
  big:
    from: orders
    steps:
      - filter: value.qty > 10
      - mapValues: '{"sku": value.sku, "qty": value.qty}'
    to: big-orders
tables:
  per-sku:
    from: orders
    steps:
      - groupBy: value.sku
      - sum: value.qty
    to: {topic: per-sku, value: long}
`,
);

function testFile(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `topology: orders.yaml\ncases:\n${body}`);
  return file;
}

test('a failing case prints its name, the first difference and the line of the expectation', async () => {
  const file = testFile(
    'failing.test.yaml',
    `  - name: sums quantities per sku
    input:
      - {topic: orders, key: o1, value: {sku: a, qty: 2}}
      - {topic: orders, key: o2, value: {sku: a, qty: 3}}
    expect:
      topics:
        per-sku:
          - {key: a, value: 2}
          - {key: a, value: 6}
`,
  );
  const r = await run(file);
  assert.deepEqual([r.passed, r.failed], [0, 1], r.out);
  assert.match(r.out, /✗ sums quantities per sku/);
  assert.match(r.out, /failing\.test\.yaml:11: expect\.topics\.per-sku\[1\]\.value: expected 6, got 5/);
});

test('bad records go to the DLQ with their error, processing goes on, expect.errors counts and matches them', async () => {
  const file = testFile(
    'dlq.test.yaml',
    `  - name: not json, then a string quantity
    input:
      - {topic: orders, key: o1, rawValue: "{not json"}
      - {topic: orders, key: o2, value: {sku: a, qty: "many"}}
      - {topic: orders, key: o3, value: {sku: a, qty: 20}}
    expect:
      errors: 2
      tables:
        per-sku: {a: 20}
      topics:
        big-orders:
          - {key: o3, value: {sku: a, qty: 20}}
  - name: error patterns
    input:
      - {topic: orders, key: o1, rawValue: "{not json"}
    expect:
      errors:
        - {topic: orders, reason: "JSON"}
`,
  );
  const r = await run(file);
  assert.deepEqual([r.passed, r.failed], [2, 0], r.out);
});

test('match: subset needs only what is listed; timestamps compare where given', async () => {
  const file = testFile(
    'subset.test.yaml',
    `  - name: subset of a table and of a topic
    match: subset
    input:
      - {topic: orders, key: o1, value: {sku: a, qty: 1}, timestamp: "2026-11-24T10:00:00Z"}
      - {topic: orders, key: o2, value: {sku: b, qty: 2}}
      - {topic: orders, key: o3, value: {sku: a, qty: 3}, timestamp: 1764000000000}
    expect:
      tables:
        per-sku: {b: 2}
      topics:
        per-sku:
          - {key: a, value: 1, timestamp: "2026-11-24T10:00:00Z"}
          - {key: a, value: 4}
`,
  );
  const r = await run(file);
  assert.deepEqual([r.passed, r.failed], [1, 0], r.out);
  const exact = testFile('exact.test.yaml', `  - name: exact table\n    input:\n      - {topic: orders, key: o1, value: {sku: a, qty: 1}}\n      - {topic: orders, key: o2, value: {sku: b, qty: 2}}\n    expect:\n      tables:\n        per-sku: {b: 2}\n`);
  const e = await run(exact);
  assert.deepEqual([e.passed, e.failed], [0, 1], e.out);
  assert.match(e.out, /expect\.tables\.per-sku\.a: expected \(nothing\), got 1 \(not expected\)/);
});

test('runInputs runs inputs as a case does and hands over every output record and table', async () => {
  const { graph } = compileTopology(
    'counts.yaml',
    `version: 1
name: counts
streams:
  in: {topic: in}
tables:
  counts:
    from: in
    steps: [groupByKey, count]
    to: out
`,
  );
  // The second input has no timestamp: it takes the one before it, as in a test file.
  const inputs = [
    { topic: 'in', key: 'a', value: { n: 1 }, timestamp: 5000 },
    { topic: 'in', key: 'a', value: { n: 2 } },
    { topic: 'in', key: 'b', value: { n: 3 }, timestamp: '1970-01-01T00:00:07Z' },
  ];
  const got = await runInputs(graph!, inputs, async ({ engine, log }) => ({
    out: (await readTopic(log, graph!.nodes.find((n) => n.type === 'sink'), 'out')).map((r) => [r.key, r.value, r.timestamp]),
    counts: await readTable(engine, 'counts'),
  }));
  assert.deepEqual(got, { out: [['a', 1, 5000], ['a', 2, 5000], ['b', 1, 7000]], counts: { a: 2, b: 1 } });
});
