import { STEPS } from '../operators/index.js';
import { DURATION_PATTERN, NAME_PATTERN, duration, expression, name, type JsonSchema } from '../operators/spec.js';

export const SCHEMA_ID = 'urn:duality:schema:topology:v1';
export const SERDES = ['string', 'json', 'long', 'int', 'double', 'bytes', 'avro', 'protobuf', 'json-schema'] as const;
export type Serde = (typeof SERDES)[number];
/** The serdes framed for a Schema Registry, which also take a map: `{type: avro, schema: FILE}`. */
const REGISTRY_SERDES = ['avro', 'protobuf', 'json-schema'] as const;

const serde = (description: string): JsonSchema => ({
  description,
  anyOf: [
    { enum: [...SERDES], description: 'A serde by name; avro, protobuf and json-schema take their schemas from the Schema Registry (docs/serdes.md).' },
    {
      type: 'object',
      description: 'A Schema Registry serde with its options.',
      properties: {
        type: { enum: [...REGISTRY_SERDES], description: 'avro, protobuf or json-schema.' },
        schema: { type: 'string', minLength: 1, description: 'A pinned schema: the path of its file (.avsc, .proto, .json), relative to the topology file. A sink registers it under <topic>-key or <topic>-value; without it, a sink writes with the subject\'s latest schema.' },
        message: { type: 'string', minLength: 1, description: 'protobuf: the message written, when the schema declares more than one.' },
        autoRegister: { type: 'boolean', description: 'Sinks with a pinned schema: register it (default true, as Confluent\'s auto.register.schemas), or only look its id up (false).' },
      },
      required: ['type'],
      additionalProperties: false,
    },
  ],
});
const topic = (description: string): JsonSchema => ({
  type: 'string',
  pattern: '^[a-zA-Z0-9._-]{1,249}$',
  'x-message': 'must be a Kafka topic name: letters, digits, ".", "_" and "-", at most 249 characters',
  description,
});

/** TLS settings of files or PEM text: a CA, and a client certificate with its key. */
const tlsFiles = (cert: string, servername: string): JsonSchema => ({
  type: 'object',
  properties: {
    ca: { type: 'string', minLength: 1, description: 'The CA certificates to trust, instead of the system\'s.' },
    cert: { type: 'string', minLength: 1, description: cert },
    key: { type: 'string', minLength: 1, description: 'The client certificate\'s private key.' },
    servername: { type: 'string', minLength: 1, description: servername },
  },
  dependentRequired: { cert: ['key'], key: ['cert'] },
  additionalProperties: false,
});

/** The `$defs` key of a step's argument-carrying form. */
export const stepDefName = (step: string): string => `step-${step}`;

function stepSchemas(): { defs: Record<string, JsonSchema>; anyOf: JsonSchema[] } {
  const defs: Record<string, JsonSchema> = {};
  const bare = STEPS.filter((s) => s.args === null || s.bare);
  const anyOf: JsonSchema[] = [
    {
      enum: bare.map((s) => s.name),
      description: bare.map((s) => `${s.name}: ${s.doc}`).join('\n'),
    },
  ];
  for (const s of STEPS) {
    if (s.args === null) continue;
    defs[stepDefName(s.name)] = {
      type: 'object',
      description: s.doc,
      properties: { [s.name]: { ...s.args, description: `${s.doc}\n\nExample:\n${s.example}` } },
      required: [s.name],
      additionalProperties: false,
    };
    anyOf.push({ $ref: `#/$defs/${stepDefName(s.name)}` });
  }
  return { defs, anyOf };
}

/** The JSON Schema (draft 2020-12) of topology.yaml, assembled from the operator specs. */
export function buildTopologySchema(): JsonSchema {
  const steps = stepSchemas();
  const to: JsonSchema = {
    description: 'Write the stream, or the table\'s changes (deletes as tombstones), to a topic.',
    anyOf: [
      topic('The topic to write to, with the definition\'s serdes.'),
      {
        type: 'object',
        properties: {
          topic: topic('The topic to write to.'),
          key: serde('Key serde; default: the definition\'s key serde.'),
          value: serde('Value serde; default: the definition\'s value serde.'),
        },
        required: ['topic'],
        additionalProperties: false,
      },
    ],
  };
  const definition: JsonSchema = {
    type: 'object',
    description: 'A source (`topic`) or a definition derived from others (`from` and `steps`).',
    properties: {
      topic: topic('Source: the topic to read.'),
      key: serde('Source: the key serde; default string.'),
      value: serde('Source: the value serde; default json.'),
      timestamp: expression('Source: `record` (the default: the record\'s own timestamp), or an expression giving the event time as epoch ms or an RFC 3339 string'),
      from: {
        description: 'Derived: the input, or a list of streams to merge (the `source` variable names each record\'s input).',
        anyOf: [
          name('The stream or table to read.'),
          { type: 'array', items: name('A stream to merge.'), minItems: 1, uniqueItems: true },
        ],
      },
      steps: { type: 'array', description: 'Derived: the steps applied in order.', items: { $ref: '#/$defs/step' } },
      to,
      emit: {
        enum: ['changes', 'final'],
        description: 'Tables: `changes` (default) emits every update; `final` (windowed tables) one result per window once it closes.',
      },
    },
    additionalProperties: false,
    dependentRequired: { steps: ['from'], key: ['topic'], value: ['topic'], timestamp: ['topic'] },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'Duality topology',
    description: 'A Duality topology: named streams and tables, their steps and their topics.',
    type: 'object',
    properties: {
      version: { const: 1, description: 'The language version; always 1.' },
      name: name('The application id: consumer group and prefix of internal topics.'),
      kafka: {
        type: 'object',
        description: 'Optional; without it (and without --brokers or KAFKA_BROKERS) Duality runs on its embedded log. A section without brokers takes them from --brokers or KAFKA_BROKERS.',
        properties: {
          brokers: {
            type: 'array',
            items: { type: 'string', minLength: 1 },
            minItems: 1,
            description: 'Bootstrap brokers, host:port; --brokers and KAFKA_BROKERS take precedence.',
          },
          clientId: { type: 'string', minLength: 1, description: 'Kafka client id; default the topology name.' },
          compression: { enum: ['none', 'gzip', 'snappy', 'lz4', 'zstd'], description: 'Codec of every record batch Duality produces (sinks, changelogs, repartition topics, dead letters); default none. Compressed topics are read whatever this says.' },
          tls: {
            description: 'TLS to the brokers: true (the system\'s CAs), or the CA to trust and an optional client certificate (mutual TLS). Each is PEM text (a ${VAR} holding it) or the path of a PEM file.',
            oneOf: [
              { type: 'boolean' },
              tlsFiles('Client certificate, for brokers that ask for one (ssl.client.auth).', 'The name the brokers\' certificates must carry (SNI), when not their host names.'),
            ],
          },
          schemaRegistry: {
            type: 'object',
            description: 'The Schema Registry of the avro, protobuf and json-schema serdes (Confluent\'s REST API; Apicurio\'s under /apis/ccompat/v7). --schema-registry and SCHEMA_REGISTRY_URL take precedence for the URL.',
            properties: {
              url: { type: 'string', pattern: '^https?://', 'x-message': 'must be an http:// or https:// URL', description: 'The registry\'s URL, with its path if it has one.' },
              basicAuth: {
                type: 'object',
                description: 'HTTP basic authentication (Confluent Cloud\'s API key and secret); put them in ${VAR}s.',
                properties: {
                  username: { type: 'string', minLength: 1, description: 'The user (an API key).' },
                  password: { type: 'string', minLength: 1, description: 'The password (an API secret); use a ${VAR}, never the text itself.' },
                },
                required: ['username', 'password'],
                additionalProperties: false,
              },
              bearerToken: { type: 'string', minLength: 1, description: 'A bearer token (a ${VAR}), sent as Authorization: Bearer.' },
              tls: {
                ...tlsFiles('Client certificate (mutual TLS).', 'The name the registry\'s certificate must carry, when not its host name.'),
                description: 'TLS to an https:// registry: the CA to trust and an optional client certificate, each PEM text (a ${VAR} holding it) or the path of a PEM file.',
              },
            },
            additionalProperties: false,
          },
          sasl: {
            type: 'object',
            description: 'SASL authentication: PLAIN and SCRAM with a username and password (put them in ${VAR}s), OAUTHBEARER with a token file re-read when it changes.',
            properties: {
              mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'], description: 'plain, scram-sha-256, scram-sha-512 or oauthbearer.' },
              username: { type: 'string', minLength: 1, description: 'plain and scram: the user.' },
              password: { type: 'string', minLength: 1, description: 'plain and scram: the password; use a ${VAR}, never the text itself.' },
              tokenFile: { type: 'string', minLength: 1, description: 'oauthbearer: a file holding the token (a mounted secret), read again whenever it changes.' },
            },
            required: ['mechanism'],
            additionalProperties: false,
          },
        },
        additionalProperties: false,
      },
      processing: {
        type: 'object',
        description: 'Processing guarantee, commit interval, standby replicas and how long a task of several partitions waits for one without data.',
        properties: {
          guarantee: { enum: ['at_least_once', 'exactly_once'], description: 'at_least_once (default) or exactly_once.' },
          commitInterval: duration('How often offsets and state are committed; default 1s, 100ms under exactly_once.'),
          maxTaskIdle: {
            type: 'string',
            pattern: `^(${DURATION_PATTERN.slice(1, -1)}|disabled)$`,
            'x-message': 'must be a duration like "0s", "500ms" or "5s", or "disabled"',
            description:
              'How long a task that reads several partitions (a join, merged streams) waits for records of one that has none buffered and none left at the broker, before it goes on with the others (Kafka Streams\' max.task.idle.ms). It always waits for records known to be at the broker; "disabled" waits for nothing. Default 0s.',
          },
          standbyReplicas: {
            type: 'integer',
            minimum: 0,
            description: 'Copies of each task\'s state that other instances keep up to date from its changelog (Kafka Streams\' num.standby.replicas): a task that moves restores only what its copy lacks, and the copy answers stale reads. Default 0.',
          },
        },
        additionalProperties: false,
      },
      errors: {
        type: 'object',
        description: 'What a record that cannot be processed gets.',
        properties: {
          policy: { enum: ['dlq', 'skip', 'fail'], description: 'dlq (default) writes it to the dead-letter topic; skip counts and logs it; fail stops.' },
          topic: topic('The dead-letter topic; default <name>-dlq.'),
        },
        additionalProperties: false,
      },
      streams: {
        type: 'object',
        description: 'Named streams: every record is an insert.',
        propertyNames: name('A stream name.'),
        additionalProperties: { $ref: '#/$defs/definition' },
      },
      tables: {
        type: 'object',
        description: 'Named tables: the latest value per key, materialised in a queryable store.',
        propertyNames: name('A table name.'),
        additionalProperties: { $ref: '#/$defs/definition' },
      },
    },
    required: ['version', 'name'],
    additionalProperties: false,
    $defs: {
      definition,
      step: { description: 'A step: a one-key map, or a bare word for a step without arguments.', anyOf: steps.anyOf },
      ...steps.defs,
    },
  };
}

export { DURATION_PATTERN, NAME_PATTERN };
