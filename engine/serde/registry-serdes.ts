import type { LogRecord } from '../api/log.js';
import type { Serde } from '../api/serde.js';
import type { GraphNode, SchemaOptions, TopologyGraph } from '../api/topology-graph.js';
import { parseAvro } from './avro-format.js';
import { parseJsonSchema } from './json-schema-format.js';
import { parseProtobuf } from './protobuf-format.js';
import { RegistryClient, RegistryError, type RegistrySchema } from './registry-client.js';
import { isRegistrySerde, SCHEMA_TYPE, SchemaParseError, SERDE_OF_TYPE, type ParsedSchema, type RegistrySerdeName } from './schema-format.js';
import { SerdeError } from './serde-error.js';
import { serdeFor } from './serdes.js';
import { frame, readSchemaId, schemaIdOf } from './wire-format.js';

/*
 * The serdes of a running topology: Kafka's for the plain names, and for avro, protobuf and
 * json-schema ones framed for a Schema Registry. Serdes stay synchronous on the record path: the
 * schemas a batch of records needs are looked up before it is decoded (`prepare`), and a sink's
 * schema when the engine starts (`prepareSinks`); both are cached for the life of the process
 * (a schema id never changes its schema).
 */

export type Side = 'key' | 'value';

/**
 * A schema's text parsed for a serde; SchemaParseError when it does not parse as one. `readOnly`:
 * only to read records (a protobuf schema then need not say which message is written).
 */
export function parseSchema(serde: RegistrySerdeName, text: string, message?: string, readOnly = false): ParsedSchema {
  if (serde === 'avro') return parseAvro(text);
  if (serde === 'protobuf') return parseProtobuf(text, message, readOnly);
  return parseJsonSchema(text);
}

/** TopicNameStrategy, the default of Confluent's serializers: `<topic>-key` and `<topic>-value`. */
export const subjectOf = (topic: string, side: Side): string => `${topic}-${side}`;

const serdeOfNode = (node: GraphNode, side: Side): GraphNode['keySerde'] => (side === 'key' ? node.keySerde : node.valueSerde);
const optionsOf = (node: GraphNode, side: Side): SchemaOptions | undefined => (side === 'key' ? node.keySchema : node.valueSchema);

/** Whether the topology reads or writes any topic with a Schema Registry serde. */
export const usesRegistry = (graph: TopologyGraph): boolean => graph.nodes.some((n) => isRegistrySerde(n.keySerde) || isRegistrySerde(n.valueSerde));

export class RegistrySerdes {
  /** Per schema id: the schema, or why records with that id cannot be read. */
  private readonly byId = new Map<number, { type: RegistrySerdeName; parsed: ParsedSchema } | { problem: string }>();
  /** Per sink (node id and side): the id and schema it writes with. */
  private readonly writers = new Map<string, { id: number; parsed: ParsedSchema }>();
  /** Topics read with a registry serde: whether their keys, their values. */
  private readonly sourceSides = new Map<string, { key: boolean; value: boolean }>();

  constructor(
    private readonly graph: TopologyGraph,
    private readonly client: RegistryClient | undefined,
  ) {
    for (const n of graph.nodes) {
      if (!n.type.endsWith('source') || n.topic === undefined) continue;
      const key = isRegistrySerde(n.keySerde);
      const value = isRegistrySerde(n.valueSerde);
      if (!key && !value) continue;
      const seen = this.sourceSides.get(n.topic) ?? { key: false, value: false };
      this.sourceSides.set(n.topic, { key: seen.key || key, value: seen.value || value });
    }
  }

  /** Whether batches need `prepare` before they are decoded. */
  get readsRegistry(): boolean {
    return this.sourceSides.size > 0;
  }

  get description(): string {
    return this.client?.description ?? 'the schema registry';
  }

  /**
   * Looks up the schemas of the ids in these records that are not known yet. An id the registry
   * does not have (or cannot be read) is remembered, so its records go to the error policy;
   * RegistryUnavailableError when the registry cannot be reached (nothing is remembered then).
   */
  async prepare(records: readonly LogRecord[]): Promise<void> {
    let missing: Set<number> | undefined;
    let topic: string | undefined;
    let sides: { key: boolean; value: boolean } | undefined;
    for (const r of records) {
      if (r.topic !== topic) {
        topic = r.topic;
        sides = this.sourceSides.get(topic);
      }
      if (!sides) continue;
      const k = sides.key ? schemaIdOf(r.key) : undefined;
      const v = sides.value ? schemaIdOf(r.value) : undefined;
      if (k !== undefined && !this.byId.has(k)) (missing ??= new Set()).add(k);
      if (v !== undefined && !this.byId.has(v)) (missing ??= new Set()).add(v);
    }
    if (missing) await Promise.all([...missing].map((id) => this.fetch(id)));
  }

  private async fetch(id: number): Promise<void> {
    const client = this.needClient();
    let schema: RegistrySchema;
    try {
      schema = await client.schemaById(id);
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      this.byId.set(id, { problem: e.status === 404 ? `schema id ${id} is unknown to ${client.description}` : e.message });
      return;
    }
    const type = SERDE_OF_TYPE[schema.schemaType];
    try {
      if (schema.references) throw new SchemaParseError('it refers to other schemas, which Duality does not read yet');
      this.byId.set(id, { type, parsed: parseSchema(type, schema.schema, undefined, true) });
    } catch (e) {
      this.byId.set(id, { problem: `cannot use schema id ${id}: ${(e as Error).message}` });
    }
  }

  /**
   * Finds the schema every sink with a registry serde writes with: a pinned one is registered
   * under the subject (or, with autoRegister: false, looked up); otherwise the subject's latest.
   * RegistryError when the registry refuses (no such subject, an incompatible schema): no record
   * could be written, so the engine cannot start. RegistryUnavailableError when it cannot be reached.
   */
  async prepareSinks(): Promise<void> {
    for (const n of this.graph.nodes) {
      if (n.type !== 'sink' || n.topic === undefined) continue;
      for (const side of ['key', 'value'] as const) {
        const serde = serdeOfNode(n, side);
        if (!isRegistrySerde(serde) || this.writers.has(`${n.id}:${side}`)) continue;
        this.writers.set(`${n.id}:${side}`, await this.writerOf(serde, n.topic, side, optionsOf(n, side)));
      }
    }
  }

  private async writerOf(serde: RegistrySerdeName, topic: string, side: Side, o: SchemaOptions | undefined): Promise<{ id: number; parsed: ParsedSchema }> {
    const client = this.needClient();
    const subject = subjectOf(topic, side);
    const schemaType = SCHEMA_TYPE[serde];
    if (o?.schema !== undefined) {
      const parsed = parseSchema(serde, o.schema, o.message);
      const schema = { schemaType, schema: o.schema };
      try {
        return { id: o.autoRegister ? await client.register(subject, schema) : await client.lookup(subject, schema), parsed };
      } catch (e) {
        if (e instanceof RegistryError && e.status === 404) throw new RegistryError(404, e.errorCode, `the schema ${o.schemaFile ?? ''} is not registered under subject ${subject} of ${client.description}, and autoRegister is false: register it, or leave autoRegister out`);
        if (e instanceof RegistryError && e.status === 409) throw new RegistryError(409, e.errorCode, `${client.description} refuses the schema ${o.schemaFile ?? ''} under subject ${subject}: it is incompatible with the versions before it (${e.message})`);
        throw e;
      }
    }
    let latest: RegistrySchema & { id: number };
    try {
      latest = await client.latest(subject);
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) throw new RegistryError(404, e.errorCode, `subject ${subject} has no schema in ${client.description}, so topic ${topic} cannot be written with ${serde}: register one, or pin one in the topology ({type: ${serde}, schema: FILE})`);
      throw e;
    }
    if (latest.schemaType !== schemaType) throw new RegistryError(200, undefined, `the latest schema of subject ${subject} is ${latest.schemaType}, not ${schemaType}: topic ${topic} cannot be written with ${serde}`);
    return { id: latest.id, parsed: parseSchema(serde, latest.schema, o?.message) };
  }

  private needClient(): RegistryClient {
    if (!this.client) throw new RegistryError(0, undefined, 'avro, protobuf and json-schema serdes need a Schema Registry: give kafka.schemaRegistry.url, --schema-registry or SCHEMA_REGISTRY_URL');
    return this.client;
  }

  /**
   * The serde that writes a source topic's key or value (records posted over HTTP), as a sink
   * would: with the source's pinned schema, or the subject's latest. The registry's errors are
   * thrown as they come (RegistryError, RegistryUnavailableError).
   */
  async writerFor(node: GraphNode, side: Side): Promise<Serde> {
    const name = serdeOfNode(node, side);
    if (!isRegistrySerde(name)) return serdeFor(name);
    const key = `${node.id}:${side}`;
    let writer = this.writers.get(key);
    if (!writer) {
      writer = await this.writerOf(name, node.topic!, side, optionsOf(node, side));
      this.writers.set(key, writer);
    }
    return writerSerde(name, writer.id, writer.parsed, this.reader(name));
  }

  /** The serde of a node's key or value: a shared plain one, or one of this registry. */
  serdeOf(node: GraphNode, side: Side): Serde {
    const name = serdeOfNode(node, side);
    if (!isRegistrySerde(name)) return serdeFor(name);
    if (node.type === 'sink') {
      const writer = this.writers.get(`${node.id}:${side}`);
      if (!writer) throw new Error(`${node.id}: the ${side} schema was not prepared (prepareSinks)`);
      return writerSerde(name, writer.id, writer.parsed, this.reader(name));
    }
    return this.reader(name);
  }

  /** Reads framed bytes with the schema of their id, which `prepare` looked up. */
  private reader(name: RegistrySerdeName): Serde {
    const byId = this.byId;
    return {
      name,
      serialize() {
        throw new SerdeError(name, 'writes only to sink topics, with the schema found when the engine started');
      },
      deserialize(bytes) {
        if (bytes === null) return null;
        const id = readSchemaId(name, bytes);
        const known = byId.get(id);
        if (known === undefined) throw new SerdeError(name, `schema id ${id} was not looked up in the schema registry`);
        if ('problem' in known) throw new SerdeError(name, known.problem);
        if (known.type !== name) throw new SerdeError(name, `schema id ${id} is a ${SCHEMA_TYPE[known.type]} schema, not ${SCHEMA_TYPE[name]}: the topic holds ${known.type} records`);
        return known.parsed.decode(bytes.subarray(5));
      },
    };
  }
}

/** Writes with one schema and id; reads back (a topology test reading its output) as any reader. */
function writerSerde(name: RegistrySerdeName, id: number, parsed: ParsedSchema, reader: Serde): Serde {
  return {
    name,
    serialize: (value) => (value === null || value === undefined ? null : frame(id, parsed.encode(value))),
    deserialize: (bytes) => reader.deserialize(bytes),
  };
}
