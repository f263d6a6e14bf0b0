import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ParsedSchema } from './schema-format.js';
import { SchemaParseError } from './schema-format.js';
import { SerdeError } from './serde-error.js';
import { serdeFor } from './serdes.js';

/*
 * JSON Schema: the payload is the JSON text, validated on writing as Confluent's
 * KafkaJsonSchemaSerializer does, and not on reading (its deserializer validates only with
 * json.fail.invalid.schema=true). The draft is the schema's $schema: 2020-12, 2019-09, or draft-07
 * (and -06) by default. Formats (`format: email`) are not checked.
 */

const json = serdeFor('json');
const ajvs = new Map<string, Ajv>();

function ajvFor(draft: string | undefined): Ajv {
  const key = draft?.includes('2020-12') ? '2020' : draft?.includes('2019-09') ? '2019' : '07';
  let ajv = ajvs.get(key);
  if (!ajv) {
    const options = { strict: false, validateFormats: false, allErrors: false };
    ajv = key === '2020' ? new Ajv2020(options) : key === '2019' ? new Ajv2019(options) : new Ajv(options);
    ajvs.set(key, ajv);
  }
  return ajv;
}

export function parseJsonSchema(text: string): ParsedSchema {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (e) {
    throw new SchemaParseError(`not a JSON Schema (not JSON): ${(e as Error).message}`);
  }
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) throw new SchemaParseError('not a JSON Schema: a schema is a JSON object');
  const s = schema as { $schema?: unknown; type?: unknown; properties?: unknown; additionalProperties?: unknown };
  if (typeof s.$schema === 'string' && s.$schema.includes('draft-04')) throw new SchemaParseError('JSON Schema draft-04 is not supported; use draft-07 or later');
  let validate: ValidateFunction;
  try {
    validate = ajvFor(typeof s.$schema === 'string' ? s.$schema : undefined).compile(schema as object);
  } catch (e) {
    throw new SchemaParseError(`not a valid JSON Schema: ${(e as Error).message}`);
  }
  const closed = s.type === 'object' && s.additionalProperties === false && typeof s.properties === 'object' && s.properties !== null;
  return {
    fields: closed ? new Set(Object.keys(s.properties as object)) : undefined,
    encode(value) {
      // Validated as the JSON it becomes: bytes as base64 text, as the json serde writes them.
      const bytes = json.serialize(value)!;
      if (!validate(JSON.parse(bytes.toString('utf8')))) {
        const e = validate.errors?.[0];
        throw new SerdeError('json-schema', `the value does not fit the schema: ${e ? `${e.instancePath || 'the value'} ${e.message ?? ''}`.trim() : 'invalid'}`);
      }
      return bytes;
    },
    decode(payload) {
      try {
        return JSON.parse(payload.toString('utf8')) as unknown;
      } catch (e) {
        throw new SerdeError('json-schema', `not valid JSON: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
