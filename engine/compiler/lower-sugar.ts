import { STEP_BY_NAME } from '../../operators/index.js';
import { pointerOf } from '../api/diagnostics.js';
import { IDLE_DISABLED, type SchemaOptions, type Serde } from '../api/topology-graph.js';
import { parseDuration } from './duration.js';
import type { Definition, Document, Pass, StepUse } from './model.js';

type Raw = Record<string, any>;

/**
 * Turns the schema-checked YAML data into the compiler's model, with defaults filled in and the
 * short forms lowered: `to: topic`, `from: name`, bare-word steps.
 */
export const lowerSugar: Pass = {
  name: 'lowerSugar',
  run(state) {
    const raw = state.raw as Raw;
    const guarantee = raw.processing?.guarantee ?? 'at_least_once';
    const definitions = new Map<string, Definition>();
    for (const section of ['streams', 'tables'] as const) {
      for (const [name, def] of Object.entries((raw[section] ?? {}) as Record<string, Raw>)) {
        // A duplicate across sections is reported by resolveReferences; the first one is kept.
        if (!definitions.has(name)) definitions.set(name, lowerDefinition(section, name, def ?? {}));
      }
    }
    const doc: Document = {
      name: raw.name,
      ...(raw.kafka ? { kafka: raw.kafka } : {}),
      guarantee,
      commitIntervalMs: parseDuration(raw.processing?.commitInterval ?? '') ?? (guarantee === 'exactly_once' ? 100 : 1000),
      standbyReplicas: raw.processing?.standbyReplicas ?? 0,
      maxTaskIdleMs: raw.processing?.maxTaskIdle === 'disabled' ? IDLE_DISABLED : (parseDuration(raw.processing?.maxTaskIdle ?? '') ?? 0),
      errorPolicy: raw.errors?.policy ?? 'dlq',
      dlqTopic: raw.errors?.topic ?? `${raw.name}-dlq`,
      definitions,
      order: [],
    };
    return { ...state, doc };
  },
};

function lowerDefinition(section: 'streams' | 'tables', name: string, def: Raw): Definition {
  const pointer = pointerOf([section, name]);
  const steps: StepUse[] = ((def.steps ?? []) as unknown[]).map((step, index) => {
    const stepPointer = `${pointer}/steps/${index}`;
    if (typeof step === 'string') return { index, name: step, args: null, spec: STEP_BY_NAME.get(step)!, pointer: stepPointer };
    const [stepName, args] = Object.entries(step as Raw)[0]!;
    return { index, name: stepName, args, spec: STEP_BY_NAME.get(stepName)!, pointer: `${stepPointer}/${stepName}` };
  });
  const to = def.to === undefined ? undefined : typeof def.to === 'string' ? { topic: def.to } : def.to;
  return {
    name,
    section,
    pointer,
    ...(def.topic !== undefined
      ? {
          source: {
            topic: def.topic,
            keySerde: serdeName(def.key) ?? 'string',
            valueSerde: serdeName(def.value) ?? 'json',
            ...schemaOptions('key', def.key),
            ...schemaOptions('value', def.value),
            // `record` names the default: the record's own timestamp, as Kafka Streams' default extractor.
            ...(def.timestamp !== undefined && String(def.timestamp) !== 'record' ? { timestamp: String(def.timestamp) } : {}),
          },
        }
      : {}),
    from: def.from === undefined ? [] : [def.from].flat(),
    merged: Array.isArray(def.from),
    steps,
    ...(to ? { to: { topic: to.topic, keySerde: serdeName(to.key), valueSerde: serdeName(to.value), pointer: `${pointer}/to`, ...schemaOptions('key', to.key), ...schemaOptions('value', to.value) } } : {}),
    emit: def.emit ?? 'changes',
  };
}

/** A serde's name: the word, or the `type` of the map form (`{type: avro, schema: FILE}`). */
const serdeName = (serde: unknown): Serde | undefined => (typeof serde === 'object' && serde !== null ? (serde as Raw).type : serde) as Serde | undefined;

/**
 * The options of a serde's map form, as `keySchema` or `valueSchema`: the schema file's path only
 * (checkSchemas reads it, relative to the topology file).
 */
function schemaOptions(side: 'key' | 'value', serde: unknown): Partial<Record<'keySchema' | 'valueSchema', SchemaOptions>> {
  if (typeof serde !== 'object' || serde === null) return {};
  const o = serde as Raw;
  return {
    [`${side}Schema`]: {
      ...(o.schema !== undefined && { schemaFile: String(o.schema) }),
      ...(o.message !== undefined && { message: String(o.message) }),
      autoRegister: o.autoRegister ?? true,
    },
  };
}
