import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileTopologyFile } from '../../engine/compiler/index.js';
import { EmbeddedLog } from '../../engine/log/embedded-log.js';
import { Engine } from '../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../engine/runtime/facade.js';
import { createApp } from '../../server/app.js';
import { TOPOLOGY } from './harness.js';

test('when the engine fails: alive but not ready, and a failure of ours is a logged 500 in JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'duality-server-'));
  writeFileSync(join(dir, 'topology.yaml'), TOPOLOGY);
  const graph = compileTopologyFile(join(dir, 'topology.yaml')).graph!;
  const log = EmbeddedLog.inMemory();
  const engine = new Engine({ graph, log, stateDir: join(dir, 'state'), logger: () => undefined });
  await engine.start();
  const running = engine.run().catch((e: unknown) => e);
  const logged: string[] = [];
  const server = createServer(createApp(new LocalEngineFacade(engine, log), { log: (l) => logged.push(l) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    await log.close(); // the log goes away under the running engine
    assert.ok((await running) instanceof Error, 'the processing loop fails');

    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { error: { code: 'NOT_READY', message: 'the engine has failed; its log says why' }, state: 'failed' });
    assert.equal((await fetch(`${base}/healthz`)).status, 200);

    const post = await fetch(`${base}/topics/TextLinesTopic/records`, { method: 'POST', body: '{"value": "hello"}' });
    assert.equal(post.status, 500);
    assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'INTERNAL');
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /^duality: POST \/topics\/TextLinesTopic\/records failed: .*\n\s+at /);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
