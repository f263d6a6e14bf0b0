import { RequestError, type EngineFacade, type EngineMetrics, type PostedRecord, type TableInfo } from '../api/engine-facade.js';
import type { Log, LogProducer } from '../api/log.js';
import type { Serde } from '../api/serde.js';
import type { DefinitionInfo, Serde as SerdeName, TopologyGraph } from '../api/topology-graph.js';
import { serdeFor } from '../serde/index.js';
import { epochMs } from '../api/time.js';
import type { Engine } from './engine.js';
import { queryableTables, viewOf } from './queries.js';
import { decodeCursor, mergePage, readPart, type Part } from './table-pages.js';

const MAX_SCAN = 1000;

/** The engine as the HTTP server sees it (only server/ knows express). */
export class LocalEngineFacade implements EngineFacade {
  private producer: LogProducer | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly log: Log,
  ) {}

  get graph(): TopologyGraph {
    return this.engine.graph;
  }

  get state(): string {
    return this.engine.state;
  }

  ready(): boolean {
    return this.engine.state === 'running';
  }

  get problem(): string | undefined {
    return this.engine.problem;
  }

  tables(): TableInfo[] {
    return queryableTables(this.graph).map((d) => ({ name: d.name, keySerde: d.keySerde, windowed: d.windowed }));
  }

  private table(name: string): { def: DefinitionInfo; view: (v: unknown) => unknown } {
    const tables = queryableTables(this.graph);
    const def = tables.find((d) => d.name === name);
    if (!def) {
      const known = tables.map((d) => d.name);
      throw new RequestError(404, 'TABLE_NOT_FOUND', `no table "${name}"; the queryable tables are ${known.join(', ') || '(none)'}`);
    }
    if (def.windowed) throw new RequestError(400, 'NOT_SUPPORTED', `"${name}" is a windowed table; windowed queries are not implemented yet`);
    return { def, view: viewOf(this.graph, def) };
  }

  async get(table: string, keyText: string): Promise<{ key: unknown; value: unknown } | undefined> {
    const { def, view } = this.table(table);
    const key = parseKey(keyText, def.keySerde);
    for (const stores of this.engine.storesOf(def.store!)) {
      const v = await stores.typed.get(def.store!)!.get(key);
      if (v !== undefined) return { key, value: view(v) };
    }
    return undefined;
  }

  async scan(table: string, o: { prefix?: string; limit: number; cursor?: string }): Promise<{ entries: { key: unknown; value: unknown }[]; cursor?: string }> {
    const { def, view } = this.table(table);
    const limit = Math.min(Math.max(1, o.limit), MAX_SCAN);
    const from = o.cursor === undefined ? undefined : decodeCursor(o.cursor);
    const keySerde = serdeFor(def.keySerde);
    const keyBytes = (key: unknown): Buffer => keySerde.serialize(key)!;
    // Each task holds some keys: a page's worth from each, merged in key byte order.
    const parts: Part[] = [];
    for (const stores of this.engine.storesOf(def.store!)) {
      const entries = stores.typed.get(def.store!)!.range({ ...(o.prefix !== undefined && { prefix: o.prefix }), ...(from !== undefined && { from }) });
      parts.push(await readPart(entries, keyBytes, limit));
    }
    const { rows, cursor } = mergePage(parts, limit);
    return { entries: rows.map(({ key, value }) => ({ key, value: view(value) })), ...(cursor !== undefined && { cursor }) };
  }

  /**
   * Only the topology's source topics take records: the others are what it writes (sinks, the
   * dead-letter topic, its changelogs and repartition topics), and a record posted there would be a
   * forged output, or corrupt its state.
   */
  async produce(topic: string, records: readonly PostedRecord[]): Promise<{ partition: number; offset: number }[]> {
    const source = this.graph.nodes.find((n) => n.topic === topic && (n.type === 'source' || n.type === 'table-source'));
    if (!source) throw notASource(this.graph, topic);
    if ((await this.log.partitions(topic)) === undefined) throw new RequestError(404, 'TOPIC_NOT_FOUND', `source topic "${topic}" does not exist (yet); it is created when the topology starts, unless --no-create-topics`);
    const keySerde = serdeFor(source.keySerde);
    const valueSerde = serdeFor(source.valueSerde);
    const encoded = records.map((r, i) => ({
      topic,
      key: encode(keySerde, r.key ?? null, `records[${i}].key`),
      value: encode(valueSerde, r.value ?? null, `records[${i}].value`),
      timestamp: timestampOf(r.timestamp, i),
      headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'utf8')])),
    }));
    this.producer ??= this.log.producer();
    this.producer.send(encoded);
    return (await this.producer.flush()).map(({ partition, offset }) => ({ partition, offset }));
  }

  get metrics(): EngineMetrics {
    const engine = this.engine;
    const nodes = new Map<string, { id: string; recordsIn: number; recordsOut: number }>();
    const stores: { store: string; task: string; entries: number }[] = [];
    for (const { task, stores: s } of engine.handles()) {
      for (const c of task.nodeCounters()) {
        const n = nodes.get(c.id) ?? { id: c.id, recordsIn: 0, recordsOut: 0 };
        n.recordsIn += c.recordsIn;
        n.recordsOut += c.recordsOut;
        nodes.set(c.id, n);
      }
      for (const name of s.typed.keys()) stores.push({ store: name, task: task.id, entries: s.approximateSize(name) });
    }
    return {
      nodes: [...nodes.values()],
      recordsProcessed: engine.processed,
      errors: engine.policy.counters.errors,
      dlq: engine.policy.counters.dlq,
      stores,
      commits: engine.commits,
      restoredRecords: engine.restoredRecords,
      drainLatencies() {
        const out: number[] = [];
        for (const { task } of engine.handles()) for (const s of task.drainLatencies()) out.push(s);
        return out;
      },
    };
  }

  async close(): Promise<void> {
    await this.producer?.close();
  }
}

function notASource(graph: TopologyGraph, topic: string): RequestError {
  const sources = [...new Set(graph.nodes.filter((n) => n.type === 'source' || n.type === 'table-source').map((n) => n.topic!))];
  const role = graph.topics.find((t) => t.name === topic)?.role;
  const what = role === undefined ? `not a topic of ${graph.name}` : `${role === 'dlq' ? 'the dead-letter' : `a ${role}`} topic of ${graph.name}, which it writes itself`;
  return new RequestError(403, 'NOT_A_SOURCE_TOPIC', `"${topic}" is ${what}; records can be posted to its source topics only: ${sources.join(', ')}`);
}

/** A key from a URL, read as the table's key serde reads it. */
function parseKey(text: string, serde: SerdeName): unknown {
  switch (serde) {
    case 'long':
    case 'int':
    case 'double': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || (serde !== 'double' && !Number.isInteger(n))) {
        throw new RequestError(400, 'BAD_KEY', `the table's keys are ${serde}s; "${text}" is not one`);
      }
      return n;
    }
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text; // a bare word is the string it spells
      }
    default:
      return text;
  }
}

function encode(serde: Serde, value: unknown, where: string): Buffer | null {
  try {
    return serde.serialize(value);
  } catch (e) {
    throw new RequestError(400, 'BAD_RECORD', `${where}: ${(e as Error).message}`);
  }
}

function timestampOf(t: number | string | undefined, i: number): number {
  if (t === undefined) return Date.now();
  const ms = epochMs(t);
  if (ms === undefined) throw new RequestError(400, 'BAD_RECORD', `records[${i}].timestamp: must be epoch milliseconds or an RFC 3339 string`);
  return ms;
}
