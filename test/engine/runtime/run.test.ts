import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, startRun, tempDir, until } from './cli-harness.js';
import { ROOT } from '../../root.js';

const count = async (url: string, word: string): Promise<unknown> => {
  const r = await fetch(`${url}/tables/word-counts/keys/${word}`);
  return r.status === 200 ? ((await r.json()) as { value: unknown }).value : undefined;
};

test('duality run: serves the word count, stops on SIGTERM, keeps the counts across a restart', async () => {
  const dir = tempDir();
  const file = join(dir, 'wordcount.yaml');
  copyFileSync(join(ROOT, 'topologies/wordcount.yaml'), file);
  const state = join(dir, 'state');

  const first = await startRun(file, state);
  assert.match(first.run.stdout, /duality: wordcount running on the embedded log \(.*state\/log\), http:\/\/127\.0\.0\.1:\d+/);
  assert.ok(first.run.stdout.includes(`curl -X POST ${first.url}/topics/TextLinesTopic/records -H 'content-type: application/json' -d '{"value": "hello world"}'`), first.run.stdout);
  assert.ok(first.run.stdout.includes(`curl ${first.url}/tables/word-counts/keys/hello`), first.run.stdout);

  const posted = await fetch(`${first.url}/topics/TextLinesTopic/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ value: 'hello world' }, { value: 'hello duality' }]) });
  assert.equal(posted.status, 200);
  await until('hello counted twice', async () => ((await count(first.url, 'hello')) === 2 ? true : undefined));
  assert.equal(await count(first.url, 'duality'), 1);

  first.run.child.kill('SIGTERM');
  assert.equal(await first.run.exit(10_000), 0, first.run.stderr);
  assert.match(first.run.stderr, /SIGTERM: stopping/);

  const second = await startRun(file, state);
  assert.equal(await count(second.url, 'hello'), 2, 'counts are back before the first new record');
  assert.equal(await count(second.url, 'world'), 1);
  second.run.child.kill('SIGINT');
  assert.equal(await second.run.exit(10_000), 0, second.run.stderr);
});

test('duality run: a record that fails under policy fail stops it with exit 1, naming the record', async () => {
  const dir = tempDir();
  const file = join(dir, 'totals.yaml');
  writeFileSync(file, 'version: 1\nname: totals\nerrors:\n  policy: fail\nstreams:\n  orders:\n    topic: orders\n    value: json\ntables:\n  per-sku:\n    from: orders\n    steps:\n      - groupByKey\n      - sum: value.qty\n');
  const { run, url } = await startRun(file, join(dir, 'state'));
  const posted = await fetch(`${url}/topics/orders/records`, { method: 'POST', body: JSON.stringify({ key: 'a', value: { price: 1 } }) });
  assert.equal(posted.status, 200);
  assert.equal(await run.exit(10_000), 1);
  assert.match(run.stderr, /orders-0@0/);
});

test('duality run: an invalid topology exits 1 with file:line:col; no brokers (none at all, or a kafka: section without them) and a bad port are usage errors', async () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'version: 1\nname: bad\nstreams:\n  lines:\n    topic: t\n    value: strng\n');
  const invalid = cli(['run', bad, '--port', '0', '--state-dir', join(dir, 'state')]);
  assert.equal(await invalid.exit(10_000), 1);
  assert.match(invalid.stderr, new RegExp(`${bad.replace(/[.\\/]/g, '\\$&')}:6:12: streams\\.lines\\.value: `));

  const wordcount = join(ROOT, 'topologies/wordcount.yaml');
  const brokers = cli(['run', wordcount, '--brokers', ',', '--port', '0', '--state-dir', join(dir, 'state')]);
  assert.equal(await brokers.exit(10_000), 2);
  assert.match(brokers.stderr, /no brokers/);
  // A kafka: section without brokers is for Kafka: it does not fall back to the embedded log.
  const codecOnly = join(dir, 'codec-only.yaml');
  writeFileSync(codecOnly, readFileSync(wordcount, 'utf8').replace(/^name: .*$/m, '$&\nkafka:\n  compression: lz4'));
  const noBrokers = cli(['run', codecOnly, '--port', '0', '--state-dir', join(dir, 'state')]);
  assert.equal(await noBrokers.exit(10_000), 2);
  assert.match(noBrokers.stderr, /kafka: section names no brokers, and neither --brokers nor KAFKA_BROKERS gives them/);
  const port = cli(['run', wordcount, '--port', 'eighty']);
  assert.equal(await port.exit(10_000), 2);
  assert.match(port.stderr, /--port must be a number/);
});

test('duality run --guarantee, --standby-replicas and --max-task-idle set what the topology\'s processing: section says, defaults following them; bad values are usage errors', async () => {
  const dir = tempDir();
  const wordcount = join(ROOT, 'topologies/wordcount.yaml');
  const processing = async (args: string[]): Promise<unknown> => {
    const { run, url } = await startRun(wordcount, join(dir, `state-${args.join('')}`), args);
    try {
      return ((await (await fetch(`${url}/topology`)).json()) as { processing: unknown }).processing;
    } finally {
      run.child.kill('SIGTERM');
      assert.equal(await run.exit(10_000), 0, run.stderr);
    }
  };
  assert.deepEqual(await processing([]), { guarantee: 'at_least_once', commitIntervalMs: 1000, standbyReplicas: 0, maxTaskIdleMs: 0 });
  // exactly_once's commit interval is 100 ms unless the topology sets one.
  assert.deepEqual(await processing(['--guarantee', 'exactly_once', '--standby-replicas', '2', '--max-task-idle', '500ms']), { guarantee: 'exactly_once', commitIntervalMs: 100, standbyReplicas: 2, maxTaskIdleMs: 500 });

  for (const [flags, message] of [
    [['--guarantee', 'exactly-once'], /--guarantee must be at_least_once or exactly_once, not "exactly-once"/],
    [['--standby-replicas', 'one'], /--standby-replicas must be a whole number from 0 to 999, not "one"/],
    [['--max-task-idle', 'never'], /--max-task-idle must be a duration such as 0s or 500ms, or "disabled", not "never"/],
  ] as const) {
    const bad = cli(['run', wordcount, '--port', '0', '--state-dir', join(dir, 'bad'), ...flags]);
    assert.equal(await bad.exit(10_000), 2);
    assert.match(bad.stderr, message);
  }
});

test('duality run --shutdown-delay: after SIGTERM /readyz says 503 while queries are still answered, then it stops cleanly', async () => {
  const dir = tempDir();
  const { run, url } = await startRun(join(ROOT, 'topologies/wordcount.yaml'), join(dir, 'state'), ['--shutdown-delay', '5s']);
  const posted = await fetch(`${url}/topics/TextLinesTopic/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'hello' }) });
  assert.equal(posted.status, 200);
  await until('hello counted', async () => ((await count(url, 'hello')) === 1 ? true : undefined));
  run.child.kill('SIGTERM');
  const readyz = await until('/readyz 503 after SIGTERM', async () => {
    const r = await fetch(`${url}/readyz`);
    return r.status === 503 ? ((await r.json()) as { error: { message: string } }) : undefined;
  });
  assert.match(readyz.error.message, /stopping: SIGTERM received/);
  // A load balancer still sending requests meanwhile gets answers.
  assert.equal(await count(url, 'hello'), 1);
  assert.equal(await run.exit(20_000), 0, run.stderr);
  assert.match(run.stderr, /SIGTERM: \/readyz answers 503 from now; stopping in 5s/);

  const bad = cli(['run', join(ROOT, 'topologies/wordcount.yaml'), '--port', '0', '--state-dir', join(dir, 'state'), '--shutdown-delay', 'soon']);
  assert.equal(await bad.exit(10_000), 2);
  assert.match(bad.stderr, /--shutdown-delay must be a duration from 0s to 10m such as 5s, not "soon"/);
});
