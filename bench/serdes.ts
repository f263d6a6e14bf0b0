/**
 * `npm run bench -- serdes [--words N]`: WordCount on the embedded log with the lines as json,
 * avro and protobuf values (`{"line": "..."}`, framed for a Schema Registry), one after the other
 * in one process, and the cost of decoding one value alone. Needs a Schema Registry
 * (SCHEMA_REGISTRY_URL, default http://127.0.0.1:8081/apis/ccompat/v7: `bash kafka/registry.sh start`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Serde } from '../engine/api/serde.js';
import { compileTopology } from '../engine/compiler/index.js';
import { EmbeddedLog } from '../engine/log/embedded-log.js';
import { Engine } from '../engine/runtime/engine.js';
import { serdeFor } from '../engine/serde/index.js';
import { RegistryClient, RegistryUnavailableError } from '../engine/serde/registry-client.js';
import { parseSchema, RegistrySerdes } from '../engine/serde/registry-serdes.js';
import { frame } from '../engine/serde/wire-format.js';
import { makeLines } from './embedded.js';

const URL = process.env.SCHEMA_REGISTRY_URL || 'http://127.0.0.1:8081/apis/ccompat/v7';
const SCHEMAS = {
  avro: { schemaType: 'AVRO', schema: JSON.stringify({ type: 'record', name: 'Line', fields: [{ name: 'line', type: 'string' }] }) },
  protobuf: { schemaType: 'PROTOBUF', schema: 'syntax = "proto3";\nmessage Line {\n  string line = 1;\n}\n' },
} as const;
type Kind = 'json' | 'avro' | 'protobuf';

/** The bytes of each line's value `{"line": ...}` in the serde `kind`, with the id the registry gave its schema. */
async function encodeLines(kind: Kind, lines: string[], client: RegistryClient, topic: string): Promise<Buffer[]> {
  if (kind === 'json') return lines.map((line) => serdeFor('json').serialize({ line })!);
  const id = await client.register(`${topic}-value`, SCHEMAS[kind]);
  const schema = parseSchema(kind, SCHEMAS[kind].schema);
  return lines.map((line) => frame(id, schema.encode({ line })));
}

/** Seconds WordCount takes over the values, from the engine's start until every word is counted. */
async function wordCount(kind: Kind, values: Buffer[], words: number, dir: string, client: RegistryClient, topic: string): Promise<number> {
  const text = `version: 1\nname: bench-serdes-${kind}\nstreams:\n  lines: {topic: ${topic}, value: ${kind}}\ntables:\n  word-counts:\n    from: lines\n    steps:\n      - flatMapValues: split(lower(value.line), "\\\\W+")\n      - filter: value != ""\n      - groupBy: value\n      - count\n`;
  const { graph, diagnostics } = compileTopology('serdes.yaml', text, { env: {} });
  if (!graph) throw new Error(`the bench topology does not compile: ${JSON.stringify(diagnostics)}`);
  const log = await EmbeddedLog.open(join(dir, `${kind}-log`));
  await log.createTopics([{ name: topic, partitions: 1 }]);
  const p = log.producer();
  for (let i = 0; i < values.length; i += 10_000) {
    p.send(values.slice(i, i + 10_000).map((value) => ({ topic, partition: 0, key: null, value, timestamp: i })));
    await p.flush();
  }
  await p.close();
  const engine = new Engine({ graph, log, stateDir: join(dir, `${kind}-state`), logger: () => undefined, ...(kind !== 'json' && { registry: new RegistrySerdes(graph, client) }) });
  const started = performance.now();
  await engine.start();
  const running = engine.run();
  while (engine.processed < values.length + words) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  await engine.stop();
  await running;
  await log.close();
  return seconds;
}

/** Nanoseconds to decode one value, over every value (after a warm-up pass). */
function decodeNs(serde: Serde, values: Buffer[]): number {
  let sink = 0;
  for (const v of values) sink += (serde.deserialize(v) as { line: string }).line.length;
  const started = process.hrtime.bigint();
  for (const v of values) sink += (serde.deserialize(v) as { line: string }).line.length;
  if (sink < 0) console.log(sink);
  return Number(process.hrtime.bigint() - started) / values.length;
}

export async function run(args: string[]): Promise<void> {
  const words = Number(args[args.indexOf('--words') + 1] || 500_000) || 500_000;
  const client = new RegistryClient({ url: URL });
  try {
    await client.latest('duality-bench-probe');
  } catch (e) {
    if (e instanceof RegistryUnavailableError) {
      console.error(`bench serdes needs a Schema Registry: ${e.message} (start one with bash kafka/registry.sh start, or set SCHEMA_REGISTRY_URL)`);
      process.exitCode = 1;
      return;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'duality-bench-serdes-'));
  const suffix = Date.now().toString(36);
  try {
    const lines = makeLines(words, 10_000);
    console.log(`input: ${lines.length} lines of ${words} words; values {"line": ...}; registry ${URL}`);
    const rate: Partial<Record<Kind, number>> = {};
    for (const kind of ['json', 'avro', 'protobuf'] as const) {
      const topic = `bench-serdes-${kind}-${suffix}`;
      const values = await encodeLines(kind, lines, client, topic);
      const seconds = await wordCount(kind, values, words, dir, client, topic);
      rate[kind] = words / seconds;
      // The decode alone, with the serde the engine used (the schema looked up by id, as the engine does).
      const graph = compileTopology('d.yaml', `version: 1\nname: d\nstreams:\n  s: {topic: ${topic}, value: ${kind}}\n`, { env: {} }).graph!;
      const registry = new RegistrySerdes(graph, client);
      await registry.prepare([{ topic, partition: 0, offset: 0, key: null, value: values[0]!, timestamp: 0, headers: {} }]);
      const serde = registry.serdeOf(graph.nodes.find((n) => n.type === 'source')!, 'value');
      const bytes = values.reduce((n, v) => n + v.length, 0) / values.length;
      console.log(`${kind}: wordcount ${Math.round(rate[kind])} words/s (${seconds.toFixed(2)} s); decoding a value ${decodeNs(serde, values).toFixed(0)} ns, ${bytes.toFixed(1)} bytes on average`);
    }
    console.log(`ratio avro/json: ${(rate.avro! / rate.json!).toFixed(2)}`);
    console.log(`ratio protobuf/json: ${(rate.protobuf! / rate.json!).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
