import type { SchemaType } from './registry-client.js';

/** The serdes whose schemas a Schema Registry holds, by their names in topology.yaml. */
export const REGISTRY_SERDES = ['avro', 'protobuf', 'json-schema'] as const;
export type RegistrySerdeName = (typeof REGISTRY_SERDES)[number];

export const SCHEMA_TYPE: Record<RegistrySerdeName, SchemaType> = { avro: 'AVRO', protobuf: 'PROTOBUF', 'json-schema': 'JSON' };
export const SERDE_OF_TYPE: Record<SchemaType, RegistrySerdeName> = { AVRO: 'avro', PROTOBUF: 'protobuf', JSON: 'json-schema' };

export const isRegistrySerde = (name: string): name is RegistrySerdeName => (REGISTRY_SERDES as readonly string[]).includes(name);

/**
 * The serde of a store, a changelog or a repartition topic for values of serde `s`: JSON for the
 * registry serdes, whose ids only mean something with a subject registered for a user's topic.
 * (A Buffer in an avro or protobuf value becomes base64 text on the way.)
 */
export const atRest = <S extends string>(s: S): S | 'json' => (isRegistrySerde(s) ? 'json' : s);

/**
 * One parsed schema: how a value of it is written and read. `payload` is what follows the magic
 * byte and the schema id (for protobuf: the message indexes, then the message). Both throw
 * SerdeError for what does not fit.
 */
export interface ParsedSchema {
  encode(value: unknown): Buffer;
  decode(payload: Buffer): unknown;
  /**
   * The fields every value has, when the schema closes the set (an Avro record, a protobuf
   * message, a JSON Schema object without additional properties); undefined when it does not.
   */
  readonly fields: ReadonlySet<string> | undefined;
}

/** A schema that does not parse, or is not of the serde's kind; the message says why. */
export class SchemaParseError extends Error {}
