import protobuf from 'protobufjs';
import type { ParsedSchema } from './schema-format.js';
import { SchemaParseError } from './schema-format.js';
import { describeValue, SerdeError } from './serde-error.js';
import { nestingOrder, type NestingOrder } from './proto-nesting.js';
import { decodeMessageIndexes, encodeMessageIndexes } from './wire-format.js';

/*
 * Protobuf through protobufjs, with values as expressions see JSON: field names as in the .proto
 * (keepCase), 64-bit integers as numbers (refusing one beyond 2^53 rather than rounding it), enums
 * by name, bytes as Buffers, and every field present (defaults filled, empty lists and maps).
 */

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'double', 'float']);
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, objects: true };

/** The message types of a namespace, in the order they are declared. */
const messagesOf = (ns: protobuf.NamespaceBase): protobuf.Type[] => ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);

interface Parsed {
  readonly root: protobuf.Root;
  /** The namespace holding the top-level messages (the file's package). */
  readonly top: protobuf.NamespaceBase;
  readonly nesting: NestingOrder;
}

/**
 * What the message indexes count in a namespace: its messages in descriptor order, with
 * `undefined` where a map field's entry type is (see proto-nesting.ts).
 */
function indexed(p: Parsed, ns: protobuf.NamespaceBase): (protobuf.Type | undefined)[] {
  if (ns === p.top) return messagesOf(ns);
  const path = ns.fullName.slice(p.top.fullName.length).replace(/^\./, '');
  const names = p.nesting.get(path);
  if (!names) return messagesOf(ns);
  return names.map((n) => (n === null ? undefined : (ns as protobuf.Type).nested?.[n] instanceof protobuf.Type ? ((ns as protobuf.Type).nested![n] as protobuf.Type) : undefined));
}

function parseProto(text: string): Parsed {
  let parsed: protobuf.IParserResult;
  try {
    parsed = protobuf.parse(text, { keepCase: true });
  } catch (e) {
    throw new SchemaParseError(`not a valid .proto schema: ${(e as Error).message}`);
  }
  try {
    parsed.root.resolveAll();
  } catch (e) {
    throw new SchemaParseError(`the .proto schema refers to what it does not define (imports are not supported): ${(e as Error).message}`);
  }
  const top = parsed.package ? parsed.root.lookup(parsed.package) : parsed.root;
  if (!(top instanceof protobuf.Namespace) && !(top instanceof protobuf.Root)) throw new SchemaParseError(`the package ${parsed.package} declares nothing`);
  if (messagesOf(top as protobuf.NamespaceBase).length === 0) throw new SchemaParseError('the .proto schema declares no message');
  return { root: parsed.root, top: top as protobuf.NamespaceBase, nesting: nestingOrder(text) };
}

/** The message `name` (or the file's only message), with its index path. */
function pick(p: Parsed, name: string | undefined): { type: protobuf.Type; path: number[] } {
  const top = messagesOf(p.top);
  if (name === undefined) {
    if (top.length > 1) throw new SchemaParseError(`the .proto schema declares ${top.length} messages (${top.map((t) => t.name).join(', ')}): say which with message:`);
    return { type: top[0]!, path: [0] };
  }
  const want = name.replace(/^\./, '');
  const search = (ns: protobuf.NamespaceBase, path: number[]): { type: protobuf.Type; path: number[] } | undefined => {
    for (const [i, t] of indexed(p, ns).entries()) {
      if (!t) continue;
      const full = t.fullName.replace(/^\./, '');
      if (full === want || full.endsWith(`.${want}`) || t.name === want) return { type: t, path: [...path, i] };
      const inner = search(t, [...path, i]);
      if (inner) return inner;
    }
    return undefined;
  };
  const found = search(p.top, []);
  if (!found) throw new SchemaParseError(`the .proto schema has no message ${name}; it has ${top.map((t) => t.name).join(', ')}`);
  return found;
}

function byPath(p: Parsed, path: readonly number[]): protobuf.Type | undefined {
  let ns: protobuf.NamespaceBase = p.top;
  let type: protobuf.Type | undefined;
  for (const i of path) {
    type = indexed(p, ns)[i];
    if (!type) return undefined;
    ns = type;
  }
  return type;
}

/**
 * A function that turns the 64-bit fields toObject gave as strings into numbers, through nested
 * messages; undefined for a message without any. `seen` stops at recursive messages.
 */
function longsFixer(type: protobuf.Type, seen = new Map<protobuf.Type, ((o: Record<string, unknown>) => void) | undefined>()): ((o: Record<string, unknown>) => void) | undefined {
  if (seen.has(type)) return (o) => seen.get(type)?.(o);
  seen.set(type, undefined);
  const steps: ((o: Record<string, unknown>) => void)[] = [];
  for (const f of type.fieldsArray) {
    const each: ((v: unknown) => unknown) | undefined = LONG_TYPES.has(f.type)
      ? (v) => toSafeNumber(v, `${type.name}.${f.name}`)
      : f.resolvedType instanceof protobuf.Type
        ? ((fix) => fix && ((v: unknown) => (v !== null && typeof v === 'object' ? (fix(v as Record<string, unknown>), v) : v)))(longsFixer(f.resolvedType, seen))
        : undefined;
    if (!each) continue;
    const name = f.name;
    if (f.map) steps.push((o) => { const m = o[name] as Record<string, unknown> | undefined; if (m) for (const k of Object.keys(m)) m[k] = each(m[k]); });
    else if (f.repeated) steps.push((o) => { const a = o[name] as unknown[] | undefined; if (a) for (let i = 0; i < a.length; i++) a[i] = each(a[i]); });
    else steps.push((o) => { if (o[name] !== undefined && o[name] !== null) o[name] = each(o[name]); });
  }
  const fix = steps.length === 0 ? undefined : (o: Record<string, unknown>): void => { for (const s of steps) s(o); };
  seen.set(type, fix);
  return fix;
}

function toSafeNumber(v: unknown, field: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new SerdeError('protobuf', `${field} is ${String(v)}, outside ±(2^53-1), the integers a JSON number holds exactly`);
  return n;
}

/** Why `value` does not fit message `type` (the first problem), or undefined when it fits. */
function misfit(type: protobuf.Type, value: unknown, at: string): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return `${at || 'the value'} must be a map for message ${type.name}, not ${describeValue(value)}`;
  for (const [k, v] of Object.entries(value)) {
    const f = type.fields[k];
    const where = at ? `${at}.${k}` : k;
    if (!f) return `${where} is not a field of message ${type.name}`;
    if (v === null || v === undefined) continue;
    if (f.map) {
      if (typeof v !== 'object' || Array.isArray(v)) return `${where} must be a map`;
      for (const [mk, mv] of Object.entries(v)) {
        const bad = fieldMisfit(f, mv, `${where}.${mk}`);
        if (bad) return bad;
      }
    } else if (f.repeated) {
      if (!Array.isArray(v)) return `${where} must be a list`;
      for (const [i, x] of v.entries()) {
        const bad = fieldMisfit(f, x, `${where}[${i}]`);
        if (bad) return bad;
      }
    } else {
      const bad = fieldMisfit(f, v, where);
      if (bad) return bad;
    }
  }
  return undefined;
}

function fieldMisfit(f: protobuf.Field, v: unknown, at: string): string | undefined {
  const t = f.resolvedType;
  if (t instanceof protobuf.Type) return misfit(t, v, at);
  if (t instanceof protobuf.Enum) {
    if (typeof v === 'string' ? t.values[v] === undefined : !(typeof v === 'number' && Number.isInteger(v))) return `${at} must be one of ${Object.keys(t.values).join(', ')}, not ${describeValue(v)}`;
    return undefined;
  }
  if (LONG_TYPES.has(f.type)) return (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v)) ? undefined : `${at} must be an integer (${f.type}), not ${describeValue(v)}`;
  if (INT_TYPES.has(f.type)) return typeof v === 'number' && (f.type === 'double' || f.type === 'float' || Number.isInteger(v)) ? undefined : `${at} must be a number (${f.type}), not ${describeValue(v)}`;
  if (f.type === 'string') return typeof v === 'string' ? undefined : `${at} must be a string, not ${describeValue(v)}`;
  if (f.type === 'bool') return typeof v === 'boolean' ? undefined : `${at} must be true or false, not ${describeValue(v)}`;
  if (f.type === 'bytes') return v instanceof Uint8Array || typeof v === 'string' ? undefined : `${at} must be bytes, not ${describeValue(v)}`;
  return undefined;
}

/**
 * A protobuf schema: written as message `message` (or the file's only one); read as whichever
 * message the indexes name. `readOnly`: a schema looked up by the id of records read, which need
 * not say which message is written.
 */
export function parseProtobuf(text: string, message?: string, readOnly = false): ParsedSchema {
  const p = parseProto(text);
  const writer = readOnly && message === undefined && messagesOf(p.top).length > 1 ? undefined : pick(p, message);
  const indexes = writer && encodeMessageIndexes(writer.path);
  const fixers = new Map<protobuf.Type, ((o: Record<string, unknown>) => void) | undefined>();
  return {
    fields: writer && new Set(writer.type.fieldsArray.map((f) => f.name)),
    encode(value) {
      if (!writer || !indexes) throw new SerdeError('protobuf', 'the schema declares several messages and none was named to write');
      const bad = misfit(writer.type, value, '');
      if (bad !== undefined) throw new SerdeError('protobuf', `the value does not fit message ${writer.type.name}: ${bad}`);
      const payload = writer.type.encode(writer.type.fromObject(value as Record<string, unknown>)).finish();
      return Buffer.concat([indexes, payload]);
    },
    decode(payload) {
      const { path, end } = decodeMessageIndexes(payload, 0);
      const type = byPath(p, path);
      if (!type) throw new SerdeError('protobuf', `the message indexes [${path.join(', ')}] name no message of the schema`);
      try {
        const obj = type.toObject(type.decode(payload.subarray(end)), TO_OBJECT) as Record<string, unknown>;
        if (!fixers.has(type)) fixers.set(type, longsFixer(type));
        fixers.get(type)?.(obj);
        return obj;
      } catch (e) {
        if (e instanceof SerdeError) throw e;
        throw new SerdeError('protobuf', `cannot decode the bytes as message ${type.name}: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
