import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { compileTopology } from '../../engine/compiler/index.js';
import { Engine } from '../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../engine/runtime/facade.js';
import { countTopology } from '../count-topology.js';
import { brokerTest, connectBroker, RUN } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('metrics-helper-lag-test');
const name = `metrics-helper-lag-${RUN}`;
const input = `${name}-events`;
const dir = mkdtempSync(join(tmpdir(), 'duality-lag-kafka-'));

describe('consumer lag on Kafka', { timeout: 120_000 }, () => {
  after(async () => {
    if (broker) {
      await broker.admin.deleteGroups([name]).catch(() => undefined);
      const topics = (await broker.admin.listTopics()).filter((t) => t.startsWith(name));
      await broker.log.deleteTopics(topics).catch(() => undefined);
      await broker.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  brokerTest(missing, 'duality_consumer_lag_records: the high watermark of the last fetch less the records handed to the task; 0 once all are processed', async () => {
    const graph = compileTopology('t.yaml', countTopology({ name, input, output: `${name}-out` }), { env: {} }).graph!;
    await broker!.log.createTopics([{ name: input, partitions: 1 }]);
    const p = broker!.log.producer();
    p.send(Array.from({ length: 40 }, (_, i) => ({ topic: input, key: Buffer.from(`k${i % 4}`), value: Buffer.from('x'), timestamp: i })));
    await p.flush();
    await p.close();

    const engine = new Engine({ graph, log: broker!.log, stateDir: join(dir, 'state'), logger: () => undefined });
    const facade = new LocalEngineFacade(engine, broker!.log);
    try {
      await engine.start();
      let taken = 0;
      while (taken === 0) taken += await engine.runOnce(10, 500);
      assert.deepEqual(facade.metrics.consumerLag, [{ topic: input, partition: 0, task: '0_0', lag: 40 - taken }]);
      while (taken < 40) taken += await engine.runOnce(10, 500);
      await engine.commit();
      assert.deepEqual(facade.metrics.consumerLag, [{ topic: input, partition: 0, task: '0_0', lag: 0 }]);
    } finally {
      await engine.stop();
      await facade.close();
    }
  });
});
