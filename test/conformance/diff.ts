import { isDeepStrictEqual } from 'node:util';

/** One place where Duality's output differs from Kafka Streams'. */
export interface Difference {
  /** `topics.out[2].timestamp`, `stores.counts.a` */
  readonly path: string;
  readonly duality: unknown;
  readonly kafkaStreams: unknown;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const join = (path: string, seg: string | number): string => (typeof seg === 'number' ? `${path}[${seg}]` : path ? `${path}.${seg}` : seg);

/**
 * Every place where two outputs differ, in output order: lists element by element (an element one
 * side lacks is `undefined` there; YAML shows it as null), maps key by key, the rest by value.
 */
export function differences(duality: unknown, kafkaStreams: unknown, path = ''): Difference[] {
  if (Array.isArray(duality) && Array.isArray(kafkaStreams)) {
    return Array.from({ length: Math.max(duality.length, kafkaStreams.length) }, (_, i) => differences(duality[i], kafkaStreams[i], join(path, i))).flat();
  }
  if (isMap(duality) && isMap(kafkaStreams)) {
    const keys = [...new Set([...Object.keys(duality), ...Object.keys(kafkaStreams)])];
    return keys.flatMap((k) => differences(duality[k], kafkaStreams[k], join(path, k)));
  }
  return isDeepStrictEqual(duality, kafkaStreams) ? [] : [{ path, duality, kafkaStreams }];
}

/** A difference as YAML and JSON hold it: what one side lacks is null. */
export const recorded = (d: Difference): Difference => ({ path: d.path, duality: d.duality ?? null, kafkaStreams: d.kafkaStreams ?? null });
