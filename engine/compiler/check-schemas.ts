import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SchemaOptions, Serde } from '../api/topology-graph.js';
import { environmentFor, walk, type AstNode } from '../expr/cel-env.js';
import { parseSchema } from '../serde/registry-serdes.js';
import { isRegistrySerde, type ParsedSchema } from '../serde/schema-format.js';
import { expressionsAt } from './compile-expressions.js';
import type { Definition, Diagnostics, Pass } from './model.js';

/** Steps after which `value` is still the record's value as the source read it. */
const KEEP_VALUE = new Set(['filter', 'peek', 'selectKey', 'groupByKey', 'window', 'repartition', 'branch']);

/**
 * Reads each pinned schema (`{type: avro, schema: FILE}`, relative to the topology file) and
 * parses it as its serde's, so that a missing file, a schema of another kind or a protobuf file
 * whose message is not said are errors at load, at the serde. Then, for definitions that read a
 * source with a pinned schema of closed fields (an Avro record, a protobuf message, a JSON Schema
 * object without additional properties), an expression that reads `value.f` (or `key.f`) for a
 * field `f` the schema lacks is an error too: up to the first step that computes a new value.
 */
export const checkSchemas: Pass = {
  name: 'checkSchemas',
  run(state, diagnostics) {
    const doc = state.doc!;
    const parsed = new Map<string, { key?: ParsedSchema; value?: ParsedSchema }>();
    for (const [name, def] of doc.definitions) {
      const source = def.source && withSchemas(def.source, `${def.pointer}`, diagnostics);
      const to = def.to && withSchemas(def.to, def.to.pointer, diagnostics);
      if (source) parsed.set(name, source.parsed);
      if (source || to) doc.definitions.set(name, { ...def, ...(source && { source: { ...def.source!, ...source.options } }), ...(to && { to: { ...def.to!, ...to.options } }) });
    }
    for (const def of doc.definitions.values()) {
      const input = def.merged ? undefined : parsed.get(def.from[0] ?? '');
      if (input) checkFields(def, input, diagnostics);
    }
    return state;
  },
};

interface WithSerdes {
  keySerde?: Serde;
  valueSerde?: Serde;
  keySchema?: SchemaOptions;
  valueSchema?: SchemaOptions;
}

/** The schema texts read into the options of a source or `to:`, and what they parse to; undefined when neither side has options. */
function withSchemas(at: WithSerdes, pointer: string, diagnostics: Diagnostics): { options: WithSerdes; parsed: { key?: ParsedSchema; value?: ParsedSchema } } | undefined {
  if (!at.keySchema && !at.valueSchema) return undefined;
  const options: WithSerdes = {};
  const parsed: { key?: ParsedSchema; value?: ParsedSchema } = {};
  for (const side of ['key', 'value'] as const) {
    const o = at[`${side}Schema`];
    const serde = at[`${side}Serde`]!;
    if (!o) continue;
    const where = `${pointer}/${side}`;
    if (!isRegistrySerde(serde)) continue;
    if (o.message !== undefined && serde !== 'protobuf') diagnostics.error(`${where}/message`, `message is for protobuf; ${serde} has one schema per subject`);
    if (o.schemaFile === undefined) {
      options[`${side}Schema`] = o;
      continue;
    }
    const file = resolve(dirname(diagnostics.file), o.schemaFile);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      diagnostics.error(`${where}/schema`, `cannot read the schema file ${o.schemaFile} (${file}): ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      continue;
    }
    try {
      parsed[side] = parseSchema(serde, text, o.message);
    } catch (e) {
      diagnostics.error(`${where}/schema`, `${o.schemaFile} is no ${serde} schema: ${(e as Error).message}`);
      continue;
    }
    options[`${side}Schema`] = { ...o, schema: text };
  }
  return { options, parsed };
}

/** Reports `value.f` / `key.f` reads of fields the source's pinned schemas lack. */
function checkFields(def: Definition, input: { key?: ParsedSchema; value?: ParsedSchema }, diagnostics: Diagnostics): void {
  let value = input.value?.fields;
  let key = input.key?.fields;
  for (const step of def.steps) {
    if (!value && !key) return;
    for (const field of step.spec.expressions) {
      if (field.scope !== 'record' && field.scope !== 'aggregate') continue;
      for (const { path, value: source } of expressionsAt(step.args, field)) {
        for (const read of missingFields(String(source), { ...(key && { key }), ...(value && { value }) })) {
          diagnostics.error([step.pointer, ...path].join('/'), `${read.variable}.${read.field}: the ${read.variable} schema of ${def.from[0]} has no field ${read.field}; it has ${[...(read.variable === 'key' ? key! : value!)].join(', ')}`, { index: read.offset });
        }
      }
    }
    if (step.spec.changesKey) key = undefined;
    if (!KEEP_VALUE.has(step.name) && !(step.name === 'groupBy' && typeof step.args !== 'object')) value = undefined;
  }
}

/**
 * Field reads `key.f` and `value.f` in an expression whose field is not in the set, with the
 * offset of the field's name. Presence tests (`has(value.f)`) are no reads, and an expression with
 * a macro that binds variables (`.map(value, ...)`) is left alone: `value` may then be another.
 */
function missingFields(source: string, fields: { key?: ReadonlySet<string>; value?: ReadonlySet<string> }): { variable: 'key' | 'value'; field: string; offset: number }[] {
  let ast: AstNode;
  try {
    ast = environmentFor(['key', 'value', 'timestamp', 'headers', 'topic', 'partition', 'offset', 'agg', 'source']).parse(source).ast as unknown as AstNode;
  } catch {
    return []; // compileExpressions reports it
  }
  const out: { variable: 'key' | 'value'; field: string; offset: number }[] = [];
  const tested = new Set<AstNode>();
  let binds = false;
  walk(ast, (n) => {
    if (n.op === 'comprehension') binds = true;
    if (n.op === 'call' && (n.args as unknown[])[0] === 'has') for (const a of [(n.args as unknown[])[1]].flat()) tested.add(a as AstNode);
  });
  if (binds) return [];
  walk(ast, (n) => {
    if (n.op !== '.' || tested.has(n)) return;
    const [target, field] = n.args as [AstNode, string];
    if (target.op !== 'id' || (target.args !== 'key' && target.args !== 'value') || typeof field !== 'string') return;
    const known = fields[target.args];
    if (known && !known.has(field)) out.push({ variable: target.args, field, offset: source.indexOf(field, target.end) });
  });
  return out;
}
