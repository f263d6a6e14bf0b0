import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, closedPort, tempDir, until } from './cli-harness.js';

const TOPOLOGY = 'version: 1\nname: orders\nstreams:\n  orders: {topic: orders, value: json}\n  out:\n    from: orders\n    steps: [{filter: "true"}]\n    to: {topic: orders-avro, value: avro}\n';

test('duality run: avro without a schema registry anywhere is a usage error (exit 2) that says where to give one', async () => {
  const dir = tempDir();
  const file = join(dir, 't.yaml');
  writeFileSync(file, TOPOLOGY);
  const run = cli(['run', file, '--port', '0', '--state-dir', join(dir, 'state')], { SCHEMA_REGISTRY_URL: '' });
  assert.equal(await run.exit(10_000), 2);
  assert.match(run.stderr, /the topology reads or writes avro, protobuf or json-schema, which need a Schema Registry: give its URL with --schema-registry, SCHEMA_REGISTRY_URL or kafka.schemaRegistry.url/);
});

test('duality run: a schema registry that cannot be reached is retried, and /readyz says so; a kafka: section with only the registry runs on the embedded log', async () => {
  const dir = tempDir();
  const file = join(dir, 't.yaml');
  const port = await closedPort();
  writeFileSync(file, TOPOLOGY.replace('streams:', `kafka:\n  schemaRegistry: {url: "http://127.0.0.1:${port}"}\nstreams:`));
  const run = cli(['run', file, '--port', '0', '--state-dir', join(dir, 'state')], { SCHEMA_REGISTRY_URL: '' });
  const url = await until(() => `the URL in the output:\n${run.stdout}\n${run.stderr}`, () => /http:\/\/127\.0\.0\.1:\d+/.exec(run.stdout)?.[0]);
  assert.match(run.stdout, /running on the embedded log/);
  const body = await until('/readyz to name the registry', async () => {
    const r = await fetch(`${url}/readyz`);
    const b = (await r.json()) as { error?: { message: string } };
    return r.status === 503 && b.error?.message.includes('schema registry') ? b : undefined;
  });
  assert.match(body.error!.message, new RegExp(`^cannot reach the schema registry at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED; trying again in [0-9.]+ s$`));
  run.child.kill('SIGTERM');
  assert.equal(await run.exit(15_000), 0, run.stderr);
});
