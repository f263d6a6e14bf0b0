/**
 * Runs a windowed aggregation through Duality as a topology test does (engine/test-runner): an
 * in-memory embedded log, real LevelDB stores in a temporary directory, caching off so every
 * update goes out. Gives the output topic's records in order and the table's final windows.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileTopology } from '../../engine/compiler/index.js';
import { EmbeddedLog } from '../../engine/log/embedded-log.js';
import { Engine } from '../../engine/runtime/engine.js';
import { readTable } from '../../engine/runtime/queries.js';
import { serdeFor } from '../../engine/serde/index.js';

export interface InputRecord {
  readonly key: string;
  readonly value: { n: number; s: string };
  readonly timestamp: number;
}

/** A windowed result: the window and the table's value, or null for a deleted session. */
export interface WindowRow {
  readonly key: unknown;
  readonly start: number;
  readonly end: number;
  readonly value: unknown;
}

/** A record of the output topic: its window and value, and its timestamp. */
export interface OutputRow extends WindowRow {
  readonly timestamp: number;
}

export interface WindowRun {
  readonly output: OutputRow[];
  readonly table: WindowRow[];
}

/** The `window` and aggregation step lines, as topology.yaml spells them. */
export async function runDuality(windowStep: string, aggregationStep: string, emit: 'changes' | 'final', input: readonly InputRecord[]): Promise<WindowRun> {
  const yaml = `version: 1
name: props
streams:
  events: {topic: events, key: string, value: json}
tables:
  result:
    from: events
    emit: ${emit}
    steps:
      - groupByKey
      - ${windowStep}
      - ${aggregationStep}
    to: result
`;
  const compiled = compileTopology('props.yaml', yaml, { env: {} });
  assert.deepEqual(compiled.diagnostics, []);
  const graph = compiled.graph!;
  const log = EmbeddedLog.inMemory();
  const stateDir = mkdtempSync(join(tmpdir(), 'duality-window-props-'));
  const engine = new Engine({ graph, log, stateDir, cacheMaxBytes: 0, logger: () => undefined });
  try {
    await engine.start();
    const producer = log.producer();
    const json = serdeFor('json');
    const str = serdeFor('string');
    producer.send(input.map((r) => ({ topic: 'events', key: str.serialize(r.key), value: json.serialize(r.value), timestamp: r.timestamp, headers: {} })));
    await producer.flush();
    await engine.runUntilIdle();
    const sink = graph.nodes.find((n) => n.type === 'sink')!;
    const keySerde = serdeFor(sink.keySerde);
    const valueSerde = serdeFor(sink.valueSerde);
    const output: OutputRow[] = [];
    for (const r of await log.read({ topic: 'result', partition: 0 }, 0, Number.MAX_SAFE_INTEGER)) {
      const k = keySerde.deserialize(r.key) as { key: unknown; start: number; end: number };
      output.push({ key: k.key, start: k.start, end: k.end, value: valueSerde.deserialize(r.value), timestamp: r.timestamp });
    }
    const table = (await readTable(engine, 'result')) as WindowRow[];
    return { output, table: table.map((w) => ({ key: w.key, start: w.start, end: w.end, value: w.value })) };
  } finally {
    await engine.stop().catch(() => undefined);
    await log.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
