import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileTopology } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../../engine/runtime/facade.js';
import { countTopology } from '../../count-topology.js';

test('consumer lag: the records of an input partition its task has not had yet, down to 0 once processed; each commit timed', async () => {
  const graph = compileTopology('t.yaml', countTopology({ name: 'lag', input: 'events', output: 'counts-out' }), { env: {} }).graph!;
  const dir = mkdtempSync(join(tmpdir(), 'duality-lag-'));
  const log = EmbeddedLog.inMemory();
  const engine = new Engine({ graph, log, stateDir: join(dir, 'state'), logger: () => undefined });
  const facade = new LocalEngineFacade(engine, log);
  try {
    await engine.start();
    const p = log.producer();
    p.send(Array.from({ length: 40 }, (_, i) => ({ topic: 'events', key: Buffer.from(`k${i % 4}`), value: Buffer.from('x'), timestamp: i })));
    await p.flush();
    await p.close();
    assert.deepEqual(facade.metrics.consumerLag, [{ topic: 'events', partition: 0, task: '0_0', lag: 40 }]);

    await engine.runOnce(10, 0);
    assert.deepEqual(facade.metrics.consumerLag, [{ topic: 'events', partition: 0, task: '0_0', lag: 30 }]);
    await engine.runUntilIdle();
    const m = facade.metrics;
    assert.deepEqual(m.consumerLag, [{ topic: 'events', partition: 0, task: '0_0', lag: 0 }]);
    const times = m.drainCommitTimes();
    assert.equal(times.length, engine.commits);
    assert.deepEqual(facade.metrics.drainCommitTimes(), [], 'drained: a scrape sees each commit once');
  } finally {
    await engine.stop();
    await facade.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
