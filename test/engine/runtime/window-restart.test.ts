/**
 * Sliding and session windows index their stores in memory when a task starts: stopped and
 * started again between records (and once with the state directory lost, so restored from the
 * changelog), they must send exactly what one uninterrupted run sends.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileTopology } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { prng } from '../../seeded.js';

const topology = (window: string, emit: string): string => `version: 1
name: wr
streams:
  events: {topic: events, value: string}
tables:
  counts:
    from: events
    emit: ${emit}
    steps:
      - groupByKey
      - window: ${window}
      - count
    to: out
`;

interface Out {
  readonly key: string;
  readonly value: string | null;
  readonly timestamp: number;
}

/** Keyed records moving forward in time, some out of order and some late. */
function records(seed: number): { key: string; timestamp: number }[] {
  const rnd = prng(seed);
  const out: { key: string; timestamp: number }[] = [];
  let t = 1_000;
  for (let i = 0; i < 300; i++) {
    t += Math.floor(rnd() * 700);
    out.push({ key: `k${Math.floor(rnd() * 6)}`, timestamp: Math.max(0, t - (rnd() < 0.2 ? Math.floor(rnd() * 8_000) : 0)) });
  }
  return out;
}

/** Runs the parts one after another, each on a new engine over the same log and state. */
async function run(yaml: string, parts: { key: string; timestamp: number }[][], wipeBefore = -1): Promise<Out[]> {
  const compiled = compileTopology('t.yaml', yaml, { env: {} });
  assert.deepEqual(compiled.diagnostics, []);
  const dir = mkdtempSync(join(tmpdir(), 'duality-window-restart-'));
  try {
    for (const [i, part] of parts.entries()) {
      if (i === wipeBefore) rmSync(join(dir, 'state'), { recursive: true, force: true });
      const log = await EmbeddedLog.open(join(dir, 'log'));
      const engine = new Engine({ graph: compiled.graph!, log, stateDir: join(dir, 'state'), cacheMaxBytes: 0, logger: () => undefined });
      try {
        await engine.start();
        const p = log.producer();
        p.send(part.map((r) => ({ topic: 'events', key: Buffer.from(r.key), value: Buffer.from('x'), timestamp: r.timestamp })));
        await p.flush();
        await p.close();
        await engine.runUntilIdle();
      } finally {
        await engine.stop();
        await log.close();
      }
    }
    const log = await EmbeddedLog.open(join(dir, 'log'));
    const out = await log.read({ topic: 'out', partition: 0 }, 0, Number.MAX_SAFE_INTEGER);
    await log.close();
    return out.map((r) => ({ key: r.key!.toString(), value: r.value === null ? null : r.value.toString(), timestamp: r.timestamp }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cases = [
  ['sliding', '{type: sliding, size: 5s, grace: 2s}', 'changes'],
  ['sliding', '{type: sliding, size: 5s, grace: 2s}', 'final'],
  ['session', '{type: session, gap: 3s, grace: 2s}', 'changes'],
  ['session', '{type: session, gap: 3s, grace: 2s, retention: 5s}', 'final'],
] as const;

for (const [kind, window, emit] of cases) {
  test(`${kind} windows (emit: ${emit}) send the same across restarts, and after the state directory is lost`, async () => {
    const yaml = topology(window, emit);
    const input = records(kind.length + emit.length);
    const whole = await run(yaml, [input]);
    assert.ok(whole.length > 50, `only ${whole.length} outputs`);
    const parts = [input.slice(0, 100), input.slice(100, 170), input.slice(170)];
    assert.deepEqual(await run(yaml, parts), whole);
    assert.deepEqual(await run(yaml, parts, 2), whole);
  });
}
