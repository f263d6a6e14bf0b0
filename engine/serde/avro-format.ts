import avro from 'avsc';
import type { ParsedSchema } from './schema-format.js';
import { SchemaParseError } from './schema-format.js';
import { SerdeError } from './serde-error.js';

/*
 * Avro through avsc, with values as expressions see JSON: records are plain objects (avsc makes
 * instances of a class per record, which CEL does not take for maps), longs are numbers (avsc
 * refuses one beyond 2^53 rather than round it), bytes and fixed are Buffers, enums their symbols,
 * and unions the bare value (wrapUnions: false; on writing, the first branch the value fits).
 */

interface AvroField {
  readonly name: string;
  readonly type: unknown;
}

type RecordTypeClass = new (schema: unknown, opts: unknown) => object;

/**
 * avsc's record type, reading plain objects: its reader is generated as avsc generates its own,
 * with an object literal in place of `new Record(...)`. avsc builds its types through
 * `_createReader` in their constructor and then freezes them, hence a subclass.
 */
class PlainRecordType extends ((avro.types as unknown as { RecordType: RecordTypeClass }).RecordType) {
  _createReader(this: { fields: readonly AvroField[] }): (tap: unknown) => unknown {
    const args = this.fields.map((_, i) => `t${i}`);
    const body = `return function (tap) {\n  return {${this.fields.map((f, i) => `${JSON.stringify(f.name)}: t${i}._read(tap)`).join(', ')}};\n};`;
    return new Function(...args, body)(...this.fields.map((f) => f.type)) as (tap: unknown) => unknown;
  }
}

const plainRecords = (schema: unknown, opts: unknown): avro.Type | undefined => {
  const type = (schema as { type?: unknown } | null)?.type;
  return typeof schema === 'object' && (type === 'record' || type === 'error') ? (new PlainRecordType(schema, opts) as unknown as avro.Type) : undefined;
};

export function parseAvro(text: string): ParsedSchema {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SchemaParseError(`not an Avro schema (Avro schemas are JSON): ${(e as Error).message}`);
  }
  let type: avro.Type;
  try {
    type = avro.Type.forSchema(json as avro.Schema, { wrapUnions: false, typeHook: plainRecords } as unknown as avro.ForSchemaOptions);
  } catch (e) {
    throw new SchemaParseError(`not a valid Avro schema: ${(e as Error).message}`);
  }
  const top = type as unknown as { typeName: string; fields: readonly AvroField[] };
  return {
    fields: top.typeName === 'record' ? new Set(top.fields.map((f) => f.name)) : undefined,
    encode(value) {
      const bad: string[] = [];
      if (!type.isValid(value, { errorHook: (path) => bad.push(path.length === 0 ? 'the value' : path.join('.')) })) {
        throw new SerdeError('avro', `the value does not fit schema ${type.name ?? type.typeName}: wrong or missing ${bad.slice(0, 5).join(', ')}`);
      }
      return type.toBuffer(value);
    },
    decode(payload) {
      try {
        return type.fromBuffer(payload);
      } catch (e) {
        throw new SerdeError('avro', `cannot decode the bytes with schema ${type.name ?? type.typeName}: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
