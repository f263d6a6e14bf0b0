import { formatDuration } from '../compiler/duration.js';
import type { Fingerprints, StoreFingerprint, TopicFingerprint } from './fingerprint.js';

/**
 * One difference between the state a topology left and what its new version expects.
 * Incompatible: the new version would misread the state or silently drop it, so it does not start.
 */
export interface UpgradeChange {
  readonly compatible: boolean;
  /** `store word-counts`, `repartition topic app-x-repartition`, `sink of totals`. */
  readonly subject: string;
  readonly what: string;
  /** Incompatible changes: what to do instead. */
  readonly todo?: string;
}

export interface UpgradeVerdict {
  readonly compatible: boolean;
  readonly changes: UpgradeChange[];
}

const RESET = '`duality reset` the topology first (deletes all its state and internal topics; the new version then processes its input from the start)';

type Fields<T> = readonly (readonly [keyof T & string, string])[];

const STORE_FIELDS: Fields<StoreFingerprint> = [
  ['holds', 'values'],
  ['layout', 'layout'],
  ['keySerde', 'key serde'],
  ['valueSerde', 'value serde'],
];
const TOPIC_FIELDS: Fields<TopicFingerprint> = [
  ['keySerde', 'key serde'],
  ['valueSerde', 'value serde'],
];

/** Each field whose value differs, as `values: sum → aggregate {"n": number}`. */
function differences<T>(fields: Fields<T>, a: T, b: T): string[] {
  return fields.filter(([f]) => a[f] !== b[f]).map(([f, label]) => `${label} ${String(a[f])} → ${String(b[f])}`);
}

const same = <T>(fields: Fields<T>, a: T, b: T): boolean => differences(fields, a, b).length === 0;

const duration = (n: number | undefined): string => (n === undefined ? 'none' : formatDuration(n));

interface Kind<T> {
  readonly noun: string;
  readonly fields: Fields<T>;
  /** Where its data is: the changelog of a store, the topic itself. */
  readonly topic: (name: string, f: T) => string;
  /** What is lost when it is renamed or changed. */
  readonly misread: string;
  readonly dropped: string;
  /** Where its name comes from, and how to drop what it holds on purpose. */
  readonly rename: (old: string, now: string) => string;
}

const STORE: Kind<StoreFingerprint> = {
  noun: 'store',
  fields: STORE_FIELDS,
  topic: (_n, f) => f.changelog,
  misread: 'its stored values and its changelog would be misread',
  dropped: 'the new store would start empty and the old one\'s state would be silently dropped',
  rename: (old, now) => `keep the old name (a table's first store has the table's name), or ${RESET}; to drop ${old}'s state on purpose, deploy a version without ${old} first, then one with ${now}`,
};
const REPARTITION: Kind<TopicFingerprint> = {
  noun: 'repartition topic',
  fields: TOPIC_FIELDS,
  topic: (n) => n,
  misread: 'records in it not processed yet would be misread',
  dropped: 'records in the old one not processed yet would never be read',
  rename: () => `keep the name of the stream or table that repartitions (the topic is named after it), or ${RESET}`,
};

function compareKind<T>(k: Kind<T>, old: Readonly<Record<string, T>>, retired: Readonly<Record<string, T>>, now: Readonly<Record<string, T>>, out: UpgradeChange[]): void {
  const added = Object.keys(now).filter((n) => old[n] === undefined);
  const renamedTo = new Set<string>();
  for (const [name, was] of Object.entries(old)) {
    const is = now[name];
    if (is !== undefined) {
      const diff = differences(k.fields, was, is);
      if (diff.length > 0) {
        out.push({ compatible: false, subject: `${k.noun} ${name}`, what: `${diff.join('; ')}: ${k.misread}`, todo: `keep it as it was, or ${RESET}` });
      }
      continue;
    }
    const successor = added.find((n) => !renamedTo.has(n) && retired[n] === undefined && same(k.fields, was, now[n]!));
    if (successor !== undefined) {
      renamedTo.add(successor);
      out.push({
        compatible: false,
        subject: `${k.noun} ${name}`,
        what: `renamed to ${successor} (the same contents under a new name): ${k.dropped}`,
        todo: k.rename(name, successor),
      });
      continue;
    }
    out.push({ compatible: true, subject: `${k.noun} ${name}`, what: `no longer used: ${k.topic(name, was)} is left behind, and kept until \`duality reset\` deletes it (or delete it with your Kafka tools)` });
  }
  for (const name of added) {
    if (renamedTo.has(name)) continue;
    const is = now[name]!;
    const back = retired[name];
    if (back === undefined) {
      out.push({ compatible: true, subject: `${k.noun} ${name}`, what: k.noun === 'store' ? `new (changelog ${k.topic(name, is)}): it starts empty and takes in the records read from now on` : 'new' });
    } else if (same(k.fields, back, is)) {
      out.push({ compatible: true, subject: `${k.noun} ${name}`, what: `used again: it goes on from what ${k.topic(name, is)} kept since an earlier version used it` });
    } else {
      out.push({
        compatible: false,
        subject: `${k.noun} ${name}`,
        what: `used again, but ${k.topic(name, is)} still holds what an earlier version wrote (${differences(k.fields, back, is).join('; ')}): ${k.misread}`,
        todo: `choose another name, or ${RESET}`,
      });
    }
  }
}

/** The verdict on running `now` over the state `old` left. */
export function compareFingerprints(old: Fingerprints, now: Fingerprints): UpgradeVerdict {
  const changes: UpgradeChange[] = [];
  compareKind(STORE, old.stores, old.retired.stores, now.stores, changes);
  for (const [name, was] of Object.entries(old.stores)) {
    const is = now.stores[name];
    if (is === undefined || !same(STORE_FIELDS, was, is)) continue;
    if (was.graceMs !== is.graceMs || was.retentionMs !== is.retentionMs) {
      const parts = [was.graceMs !== is.graceMs && `grace ${duration(was.graceMs)} → ${duration(is.graceMs)}`, was.retentionMs !== is.retentionMs && `retention ${duration(was.retentionMs)} → ${duration(is.retentionMs)}`].filter(Boolean);
      changes.push({ compatible: true, subject: `store ${name}`, what: `${parts.join(', ')}: windows already kept are read as before; only how long late records are taken, and windows kept, changes` });
    }
  }
  compareKind(REPARTITION, old.repartitions, old.retired.repartitions, now.repartitions, changes);
  for (const def of new Set([...Object.keys(old.sinks), ...Object.keys(now.sinks)])) {
    const was = old.sinks[def];
    const is = now.sinks[def];
    if (was === is) continue;
    const what = was === undefined ? `new: writes to ${is}` : is === undefined ? `removed: no longer writes to ${was}` : `writes to ${is} (was ${was})`;
    changes.push({ compatible: true, subject: `output of ${def}`, what });
  }
  // Incompatible first: they are what must be acted on.
  changes.sort((a, b) => Number(a.compatible) - Number(b.compatible));
  return { compatible: changes.every((c) => c.compatible), changes };
}

/**
 * What to record after `now` starts over `old`: its fingerprints, with the stores and topics `old`
 * had (or had retired) that `now` does not use, so that a later reset or re-use finds them.
 */
export function successorRecord(old: Fingerprints | undefined, now: Fingerprints): Fingerprints {
  if (old === undefined) return now;
  const keep = <T>(used: Readonly<Record<string, T>>, ...sources: Readonly<Record<string, T>>[]): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const s of sources) for (const [n, f] of Object.entries(s)) if (used[n] === undefined && out[n] === undefined) out[n] = f;
    return out;
  };
  return {
    ...now,
    retired: {
      stores: keep(now.stores, old.stores, old.retired.stores),
      repartitions: keep(now.repartitions, old.repartitions, old.retired.repartitions),
    },
  };
}

/** The verdict in words, one change a line; `verb` is what the new version is about to do (`start`). */
export function verdictLines(v: UpgradeVerdict): string[] {
  const lines: string[] = [];
  const bad = v.changes.filter((c) => !c.compatible);
  if (bad.length > 0) lines.push(`incompatible: ${bad.length} change${bad.length === 1 ? '' : 's'} would misread or drop state:`);
  else lines.push(v.changes.length === 0 ? 'compatible: nothing that state depends on changed' : 'compatible:');
  for (const c of v.changes) {
    lines.push(`  ${c.compatible ? ' ' : '✗'} ${c.subject}: ${c.what}`);
    if (c.todo) lines.push(`      to do: ${c.todo}`);
  }
  return lines;
}
