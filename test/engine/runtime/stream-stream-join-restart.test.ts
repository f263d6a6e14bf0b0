/**
 * A stream-stream join keeps an index of its buffers in memory: after a restart, and after its
 * state directory is lost and restored from the changelogs, it must know the records buffered
 * before, join them, emit the unmatched ones once their window closes, and still expire them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileTopology } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../../engine/runtime/facade.js';
import { createMetrics } from '../../../server/metrics.js';

const topology = `version: 1
name: ssj
streams:
  clicks: {topic: clicks}
  views: {topic: views}
  joined:
    from: clicks
    steps:
      - join: {with: views, type: left, within: 5s, grace: 1s, value: '[left, right]'}
    to: out
`;

interface Input {
  readonly topic: 'clicks' | 'views';
  readonly key: string;
  readonly value: string;
  readonly timestamp: number;
}

interface Output {
  readonly key: string;
  readonly value: unknown;
  readonly timestamp: number;
}

/** The join's stores and their entries, from /metrics. */
let entries: Record<string, number> = {};

/** One run of the join over `input` on the log and state in `dir`, then a stop: the outputs it added. */
async function runOnce(dir: string, input: readonly Input[]): Promise<Output[]> {
  const compiled = compileTopology('t.yaml', topology, { env: {} });
  assert.deepEqual(compiled.diagnostics, []);
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const engine = new Engine({ graph: compiled.graph!, log, stateDir: join(dir, 'state'), logger: () => undefined });
  try {
    await engine.start();
    const before = (await log.endOffsets('out'))[0] ?? 0;
    const p = log.producer();
    p.send(input.map((r) => ({ topic: r.topic, key: Buffer.from(r.key), value: Buffer.from(JSON.stringify(r.value)), timestamp: r.timestamp })));
    await p.flush();
    await p.close();
    await engine.runUntilIdle();
    const metrics = await createMetrics(new LocalEngineFacade(engine, log)).render();
    entries = Object.fromEntries([...metrics.matchAll(/^duality_store_entries\{[^}]*store="([^"]+)"[^}]*\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    const out = await log.read({ topic: 'out', partition: 0 }, before, Number.MAX_SAFE_INTEGER);
    return out.map((r) => ({ key: r.key!.toString(), value: JSON.parse(r.value!.toString()), timestamp: r.timestamp }));
  } finally {
    await engine.stop();
    await log.close();
  }
}

for (const wipe of [false, true]) {
  test(`a stream-stream join's buffered and waiting records outlive a restart${wipe ? ' that lost the state directory (restored from the changelogs)' : ''}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duality-ssj-restart-'));
    try {
      // u1's click waits for a view; u2's click has none coming.
      assert.deepEqual(
        await runOnce(dir, [
          { topic: 'clicks', key: 'u1', value: 'c1', timestamp: 1000 },
          { topic: 'clicks', key: 'u2', value: 'c2', timestamp: 2000 },
        ]),
        [],
      );
      if (wipe) rmSync(join(dir, 'state'), { recursive: true, force: true });
      // The view joins the click buffered before the restart; then stream time passes u2's window
      // (2,000 + 5,000 + 1,000 < 9,000): u2 goes out with no view, at its own timestamp.
      assert.deepEqual(
        await runOnce(dir, [
          { topic: 'views', key: 'u1', value: 'v1', timestamp: 3000 },
          { topic: 'views', key: 'u3', value: 'v3', timestamp: 9000 },
        ]),
        [
          { key: 'u1', value: ['c1', 'v1'], timestamp: 3000 },
          { key: 'u2', value: ['c2', null], timestamp: 2000 },
        ],
      );
      // u1's click is still buffered (stream time 9,000 keeps what is at or after 9,000 − 11,000):
      // a second view within 5 s of it joins it too, and u2's is not sent twice.
      assert.deepEqual(await runOnce(dir, [{ topic: 'views', key: 'u1', value: 'v1b', timestamp: 5500 }]), [{ key: 'u1', value: ['c1', 'v1b'], timestamp: 5500 }]);
      // Far later, the records no later record can join have left the buffers.
      assert.deepEqual(
        await runOnce(dir, [
          { topic: 'clicks', key: 'u9', value: 'c9', timestamp: 60_000 },
          { topic: 'views', key: 'u1', value: 'v1c', timestamp: 59_000 },
          { topic: 'views', key: 'u9', value: 'v9', timestamp: 60_000 },
        ]),
        [{ key: 'u9', value: ['c9', 'v9'], timestamp: 60_000 }],
      );
      // Left: c9; v1c and v9; none waiting (u2 went out, c9 found its view).
      assert.deepEqual(entries, { 'joined-join-this': 1, 'joined-join-other': 2, 'joined-join-outer': 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
