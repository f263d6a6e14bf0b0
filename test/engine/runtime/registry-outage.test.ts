/**
 * Registry serdes on the embedded log when records cannot be read, and when the Schema Registry
 * cannot be reached (a real closed port): bad records go to the error policy, an outage holds the
 * batch back and says why, and nothing is lost.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../../engine/runtime/facade.js';
import { RequestError } from '../../../engine/api/engine-facade.js';
import { RegistryClient } from '../../../engine/serde/registry-client.js';
import { RegistrySerdes } from '../../../engine/serde/registry-serdes.js';
import { closedPort, tempDir, until } from './cli-harness.js';
import { graphOf } from '../../graph-of.js';

const graph = graphOf('version: 1\nname: app\nstreams:\n  orders: {topic: orders, value: avro}\n  kept:\n    from: orders\n    steps: [{filter: "true"}]\n    to: {topic: out, value: json}\n');

async function setUp(): Promise<{ log: EmbeddedLog; engine: Engine; port: number; said: string[] }> {
  const dir = tempDir();
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const port = await closedPort();
  const said: string[] = [];
  const registry = new RegistrySerdes(graph, new RegistryClient({ url: `http://127.0.0.1:${port}` }));
  const engine = new Engine({ graph, log, stateDir: join(dir, 'state'), logger: (l) => said.push(l), registry });
  await engine.start();
  return { log, engine, port, said };
}

async function send(log: EmbeddedLog, values: (Buffer | null)[]): Promise<void> {
  const p = log.producer();
  p.send(values.map((value) => ({ topic: 'orders', key: null, value, timestamp: 0 })));
  await p.flush();
  await p.close();
}

test('records an avro source cannot read (another magic byte, too few bytes) go to the dead-letter topic; the rest go on', async () => {
  const { log, engine } = await setUp();
  await send(log, [Buffer.from('01000000010a', 'hex'), Buffer.from('00', 'hex'), null]);
  await engine.runUntilIdle();
  const dlq = await log.read({ topic: 'app-dlq', partition: 0 }, 0, 10);
  assert.deepEqual(
    dlq.map((r) => [r.offset, r.headers['__streams.errors.offset']!.toString(), r.headers['__streams.errors.exception']!.toString(), r.headers['__streams.errors.message']!.toString()]),
    [
      [0, '0', 'SERDE', 'avro serde: unknown magic byte 1: not written by a Schema Registry serializer (expected 0, then a 4-byte schema id)'],
      [1, '1', 'SERDE', 'avro serde: 1 bytes are too few for the Schema Registry wire format (a magic byte 0 and a 4-byte schema id first)'],
    ],
  );
  // The tombstone went through.
  assert.deepEqual(await log.endOffsets('out'), [1]);
  await engine.stop();
  await log.close();
});

test('a record with a schema id while the registry cannot be reached: nothing is processed, the engine says why (/readyz), and nothing is lost', async () => {
  const { log, engine, port, said } = await setUp();
  await send(log, [null]);
  await engine.runUntilIdle();
  await send(log, [Buffer.from('00000000070a', 'hex')]);
  const running = engine.run();
  const problem = await until('the registry named as the problem', () => (engine.state === 'recovering' ? engine.problem : undefined));
  assert.match(problem, new RegExp(`^cannot reach the schema registry at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED; trying again in 0\\.5 s$`));
  assert.ok(said.includes(`duality: ${problem}`), said.join('\n'));
  engine.requestStop();
  await running;
  await engine.stop();
  // Not committed past the record, nothing written: it is read again on the next start.
  assert.equal(log.committedOffset('app', { topic: 'orders', partition: 0 }), 1);
  assert.deepEqual(await log.endOffsets('out'), [1]);
  assert.deepEqual(await log.endOffsets('app-dlq'), [0]);
  await log.close();
});

test('a record posted to an avro topic while the registry cannot be reached is refused with 503, saying why', async () => {
  const { log, engine, port } = await setUp();
  const facade = new LocalEngineFacade(engine, log);
  await assert.rejects(facade.produce('orders', [{ value: { id: 1 } }]), (e: RequestError) => {
    assert.ok(e instanceof RequestError);
    assert.deepEqual([e.status, e.code], [503, 'REGISTRY_UNAVAILABLE']);
    assert.equal(e.message, `cannot reach the schema registry at http://127.0.0.1:${port}: ECONNREFUSED`);
    return true;
  });
  assert.deepEqual(await log.endOffsets('orders'), [0]);
  await facade.close();
  await engine.stop();
  await log.close();
});
