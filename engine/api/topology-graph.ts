/**
 * The compiled topology: plain, JSON-serialisable data. The compiler produces it; `describe`, the
 * HTTP API and the runtime read it. Nothing here refers to runtime objects.
 */
export type Serde = 'string' | 'json' | 'long' | 'int' | 'double' | 'bytes' | 'avro' | 'protobuf' | 'json-schema';

/**
 * How a Schema Registry serde (avro, protobuf, json-schema) of a source or sink finds its schema.
 * Absent: reading takes the schema of each record's id, writing the subject's latest schema.
 */
export interface SchemaOptions {
  /** A pinned schema: the text of the file `schemaFile` (relative to the topology) names. */
  readonly schema?: string;
  readonly schemaFile?: string;
  /** Protobuf: the message written (and checked against expressions), by name. */
  readonly message?: string;
  /** Writing a pinned schema: register it under the subject (default), or only look its id up. */
  readonly autoRegister: boolean;
}
export type Kind = 'stream' | 'grouped' | 'table';

export interface WindowSpec {
  readonly type: 'tumbling' | 'hopping' | 'sliding' | 'session';
  readonly sizeMs?: number;
  readonly advanceMs?: number;
  readonly gapMs?: number;
  readonly graceMs: number;
  readonly retentionMs: number;
}

export interface GraphNode {
  /** Stable, derived from the YAML: `word-counts.3.count`, `lines.source`. */
  readonly id: string;
  /** `source`, `table-source`, `merge`, a step name, `repartition-sink`, `repartition-source` or `sink`. */
  readonly type: string;
  /** The stream or table this node belongs to. */
  readonly definition: string;
  /** JSON pointer of the YAML that made it, for errors at run time. */
  readonly pointer: string;
  /** Upstream nodes in the same sub-topology (data edges). */
  readonly inputs: string[];
  /** What flows out of the node. */
  readonly kind: Kind;
  readonly windowed: boolean;
  readonly keySerde: Serde;
  readonly valueSerde: Serde;
  /** Sources and sinks with a Schema Registry serde given as a map (`{type: avro, schema: ...}`). */
  readonly keySchema?: SchemaOptions;
  readonly valueSchema?: SchemaOptions;
  /** Step arguments as plain data: CEL sources as strings, durations in ms. */
  readonly args: Record<string, unknown>;
  /** State stores the node writes (owns) or reads. */
  readonly stores: string[];
  /** The topic read or written (sources, sinks, repartition points). */
  readonly topic?: string;
}

export type TopicRole = 'source' | 'sink' | 'repartition' | 'changelog' | 'dlq';

export interface TopicInfo {
  readonly name: string;
  readonly role: TopicRole;
  /** Internal topics are created and owned by the application (prefixed with its name). */
  readonly internal: boolean;
  /** Internal topics: compacted (changelogs) or deleted after use (repartition). */
  readonly cleanupPolicy?: 'compact' | 'delete' | 'compact,delete';
  /** A repartition topic's partition count when the topology fixes it (`repartition: {partitions}`). */
  readonly partitions?: number;
}

export interface StoreInfo {
  readonly name: string;
  readonly type: 'key-value' | 'window' | 'session';
  /** The node that writes the store. */
  readonly node: string;
  readonly changelogTopic: string;
  readonly keySerde: Serde;
  readonly valueSerde: Serde;
  /** Queryable over HTTP under this table name. */
  readonly queryable?: string;
  readonly retentionMs?: number;
}

export interface Subtopology {
  readonly id: number;
  readonly nodes: string[];
  readonly sourceTopics: string[];
  readonly sinkTopics: string[];
  readonly stores: string[];
}

export interface DefinitionInfo {
  readonly name: string;
  readonly kind: 'stream' | 'table';
  readonly windowed: boolean;
  /** The node whose output is this stream or table. */
  readonly node: string;
  /** Tables: the store holding the current value, queryable by the table's name. */
  readonly store?: string;
  readonly keySerde: Serde;
  readonly valueSerde: Serde;
}

/** The topology's `kafka:` section (docs/kafka.md). */
export interface KafkaSection {
  /** Absent: --brokers or KAFKA_BROKERS name them. */
  readonly brokers?: string[];
  readonly clientId?: string;
  /** The codec of every batch Duality produces; default none (compressed topics are read whatever this says). */
  readonly compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /** true: TLS with the system's CAs. `ca`, `cert`, `key`: PEM text or a file's path. */
  readonly tls?: boolean | { readonly ca?: string; readonly cert?: string; readonly key?: string; readonly servername?: string };
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username?: string; readonly password?: string; readonly tokenFile?: string };
  /** The Schema Registry of the avro, protobuf and json-schema serdes (docs/serdes.md). */
  readonly schemaRegistry?: SchemaRegistrySection;
}

export interface SchemaRegistrySection {
  /** Absent: --schema-registry or SCHEMA_REGISTRY_URL. */
  readonly url?: string;
  readonly basicAuth?: { readonly username: string; readonly password: string };
  readonly bearerToken?: string;
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string; readonly servername?: string };
}

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer';

/** processing.maxTaskIdleMs of "disabled" (Kafka Streams' MAX_TASK_IDLE_MS_DISABLED): a task never waits for a partition that has no records buffered. */
export const IDLE_DISABLED = -1;

export interface TopologyGraph {
  readonly version: 1;
  readonly name: string;
  readonly kafka?: KafkaSection;
  readonly processing: {
    readonly guarantee: 'at_least_once' | 'exactly_once';
    readonly commitIntervalMs: number;
    /** Standby copies of each task's stores kept by other instances (Kafka Streams' num.standby.replicas). */
    readonly standbyReplicas: number;
    /**
     * How long a task of several input partitions waits for one that has no records buffered
     * and is at its end at the log (Kafka Streams' max.task.idle.ms; IDLE_DISABLED: it waits
     * for none, not even for records known to be there). Default 0.
     */
    readonly maxTaskIdleMs: number;
  };
  readonly errors: { readonly policy: 'dlq' | 'skip' | 'fail'; readonly topic: string };
  readonly definitions: DefinitionInfo[];
  /** In topological order: every node after its inputs. */
  readonly nodes: GraphNode[];
  readonly topics: TopicInfo[];
  readonly stores: StoreInfo[];
  readonly subtopologies: Subtopology[];
  /** Groups of topics that must have the same partition count (joined inputs). */
  readonly copartitionGroups: string[][];
}
