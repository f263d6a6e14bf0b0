import { RequestError, type EngineFacade, type EngineMetrics, type InstanceInfo, type KeyAnswer, type KeyPlace, type PostedRecord, type ScanPart, type ScanRequest, type TableInfo, type TimeRange } from '../api/engine-facade.js';
import type { Log, LogProducer, LogRecord } from '../api/log.js';
import type { Serde } from '../api/serde.js';
import type { DefinitionInfo, GraphNode, Serde as SerdeName, TopologyGraph } from '../api/topology-graph.js';
import { serdeFor } from '../serde/index.js';
import { RegistryError, RegistryUnavailableError } from '../serde/registry-client.js';
import { epochMs } from '../api/time.js';
import type { Engine } from './engine.js';
import { queryableTables } from './queries.js';
import { readPart } from './table-pages.js';
import { readerFor, type TableReader } from './table-reads.js';

const MAX_SCAN = 1000;

/** The engine as the HTTP server sees it (only server/ knows express). */
export class LocalEngineFacade implements EngineFacade {
  private producer: LogProducer | undefined;
  /** Why /readyz says no while the process still serves: a stop announced ahead (`--shutdown-delay`). */
  private stopping: string | undefined;
  private readonly readers = new Map<string, { def: DefinitionInfo; reader: TableReader }>();

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
    return this.stopping === undefined && this.engine.state === 'running';
  }

  get problem(): string | undefined {
    return this.stopping ?? this.engine.problem;
  }

  /** From now on /readyz answers 503 with `why`; everything else goes on until the stop itself. */
  announceStop(why: string): void {
    this.stopping = why;
  }

  tables(): TableInfo[] {
    return queryableTables(this.graph).map((d) => ({ name: d.name, keySerde: d.keySerde, windowed: d.windowed }));
  }

  get endpoint(): string | undefined {
    return this.engine.endpoint;
  }

  /** A queryable table and how to read it; 404 for a name that is none. */
  private table(name: string): { def: DefinitionInfo; reader: TableReader } {
    let t = this.readers.get(name);
    if (!t) {
      const tables = queryableTables(this.graph);
      const def = tables.find((d) => d.name === name);
      if (!def) {
        const known = tables.map((d) => d.name);
        throw new RequestError(404, 'TABLE_NOT_FOUND', `no table "${name}"; the queryable tables are ${known.join(', ') || '(none)'}`);
      }
      t = { def, reader: readerFor(this.graph, def) };
      this.readers.set(name, t);
    }
    return t;
  }

  async locate(table: string, key: string | { json: unknown }): Promise<KeyPlace> {
    const { def } = this.table(table);
    const parsed = typeof key === 'string' ? parseKey(key, def.keySerde) : keyFromJson(key.json, def.keySerde);
    const owner = await this.engine.ownerOf(table, parsed);
    if (!owner) throw new RequestError(404, 'TABLE_NOT_FOUND', `table "${table}" is not queryable`);
    return { key: parsed, partition: owner.partition, owner: owner.endpoint, local: owner.local, standbys: owner.standbys };
  }

  async readLocal(table: string, place: KeyPlace, range: TimeRange, stale: boolean): Promise<{ answer: KeyAnswer | undefined; stale: boolean } | undefined> {
    const { def, reader } = this.table(table);
    const held = this.engine.storeOf(def.store!, place.partition, stale);
    if (!held) return undefined;
    return { answer: await reader.lookup(held.store, place.key, range), stale: held.stale };
  }

  async get(table: string, key: string, range: TimeRange = {}): Promise<KeyAnswer | undefined> {
    const place = await this.locate(table, key);
    return (await this.readLocal(table, place, range, false))?.answer;
  }

  async partitionCount(table: string): Promise<number> {
    return this.engine.partitionCount(this.table(table).def.store!);
  }

  async scanLocal(table: string, request: ScanRequest): Promise<ScanPart[]> {
    const { def, reader } = this.table(table);
    const limit = Math.min(Math.max(1, request.limit), MAX_SCAN);
    const parts: ScanPart[] = [];
    for (const p of this.engine.partitionsOf(def.store!)) {
      const held = this.engine.storeOf(def.store!, p);
      if (held) parts.push(await readPart(p, reader.rows(held.store, request), limit));
    }
    return parts;
  }

  async instances(): Promise<InstanceInfo[]> {
    const subs = this.graph.subtopologies;
    return (await this.engine.members()).map((m) => ({
      endpoint: m.endpoint,
      active: [...new Set(m.partitions.flatMap((tp) => subs.filter((s) => s.sourceTopics.includes(tp.topic)).map((s) => `${s.id}_${tp.partition}`)))].sort(byTask),
      standby: m.standby.flatMap((p) => subs.filter((s) => s.stores.length > 0).map((s) => `${s.id}_${p}`)).sort(byTask),
    }));
  }

  async deadLetters(limit: number): Promise<LogRecord[]> {
    const topic = this.graph.topics.find((t) => t.role === 'dlq')?.name;
    if (topic === undefined || (await this.log.partitions(topic)) === undefined) return [];
    // Every partition's last `limit` records hold the newest `limit` of the topic whichever way they spread.
    const ends = await this.log.endOffsets(topic);
    const read = await Promise.all(ends.map((end, partition) => (end > 0 ? this.log.read({ topic, partition }, Math.max(0, end - limit), limit) : [])));
    return read
      .flat()
      .sort((a, b) => b.timestamp - a.timestamp || b.offset - a.offset)
      .slice(0, limit);
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
    const [keySerde, valueSerde] = await this.writersOf(source);
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

  /**
   * The serdes records posted to a source are written with: an avro, protobuf or json-schema
   * topic's with the schema a sink would use (the pinned one, or its subject's latest).
   */
  private async writersOf(source: GraphNode): Promise<[Serde, Serde]> {
    const registry = this.engine.registry;
    if (!registry) return [serdeFor(source.keySerde), serdeFor(source.valueSerde)];
    try {
      return [await registry.writerFor(source, 'key'), await registry.writerFor(source, 'value')];
    } catch (e) {
      if (e instanceof RegistryUnavailableError) throw new RequestError(503, 'REGISTRY_UNAVAILABLE', e.message);
      if (e instanceof RegistryError) throw new RequestError(409, 'NO_SCHEMA', e.message);
      throw e;
    }
  }

  get metrics(): EngineMetrics {
    const engine = this.engine;
    const nodes = new Map<string, { id: string; recordsIn: number; recordsOut: number }>();
    const stores: { store: string; task: string; entries: number }[] = [];
    const dropped = new Map<string, { node: string; reason: string; count: number }>();
    for (const { task, stores: s } of engine.handles()) {
      for (const c of task.nodeCounters()) {
        const n = nodes.get(c.id) ?? { id: c.id, recordsIn: 0, recordsOut: 0 };
        n.recordsIn += c.recordsIn;
        n.recordsOut += c.recordsOut;
        nodes.set(c.id, n);
        for (const [reason, count] of c.dropped) {
          const d = dropped.get(`${c.id}\u0000${reason}`) ?? { node: c.id, reason, count: 0 };
          d.count += count;
          dropped.set(`${c.id}\u0000${reason}`, d);
        }
      }
      for (const name of s.typed.keys()) stores.push({ store: name, task: task.id, entries: s.approximateSize(name) });
    }
    return {
      nodes: [...nodes.values()],
      dropped: [...dropped.values()],
      recordsProcessed: engine.processed,
      errors: engine.policy.counters.errors,
      dlq: engine.policy.counters.dlq,
      stores,
      commits: engine.commits,
      drainCommitTimes: () => engine.drainCommitTimes(),
      restores: engine.restores.list(),
      consumerLag: engine.consumerLag(),
      standbyLag: engine.standbyLag(),
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

/** A key given as a JSON value (a list of keys in a body), checked against the table's key serde. */
function keyFromJson(v: unknown, serde: SerdeName): unknown {
  switch (serde) {
    case 'long':
    case 'int':
    case 'double':
      if (typeof v === 'number' && Number.isFinite(v) && (serde === 'double' || Number.isInteger(v))) return v;
      if (typeof v === 'string') return parseKey(v, serde);
      throw new RequestError(400, 'BAD_KEY', `the table's keys are ${serde}s; ${JSON.stringify(v)} is not one`);
    case 'json':
      if (v === null) throw new RequestError(400, 'BAD_KEY', 'a key cannot be null');
      return v;
    default:
      if (typeof v !== 'string') throw new RequestError(400, 'BAD_KEY', `the table's keys are ${serde === 'bytes' ? 'bytes, given as base64 text' : 'strings'}; ${JSON.stringify(v)} is not one`);
      return v;
  }
}

/** Task ids in the order of their sub-topology, then partition. */
function byTask(a: string, b: string): number {
  const [sa, pa] = a.split('_').map(Number);
  const [sb, pb] = b.split('_').map(Number);
  return sa! - sb! || pa! - pb!;
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
