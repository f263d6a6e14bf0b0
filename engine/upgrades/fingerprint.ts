import type { GraphNode, Serde, TopologyGraph, WindowSpec } from '../api/topology-graph.js';
import { formatDuration } from '../compiler/duration.js';
import { compileExpression } from '../expr/cel.js';

/**
 * What a topology's state and internal topics hold, as plain JSON: enough to tell whether a new
 * version of the topology would read them as they were written (docs/upgrades.md). Kept in the
 * `<app>-topology` topic by every start (recorded.ts) and compared by `duality diff`.
 */
export interface StoreFingerprint {
  readonly changelog: string;
  readonly keySerde: Serde;
  readonly valueSerde: Serde;
  /** How the store lays its bytes out: `key-value`, `window tumbling 10m`, `session gap 5m`... */
  readonly layout: string;
  /** What its values are: `count`, `sum`, `avg {sum, count}`, `aggregate {"n": number}`, `table rows`... */
  readonly holds: string;
  /** Windowed stores: what only decides how long windows are kept (a change is compatible). */
  readonly graceMs?: number;
  readonly retentionMs?: number;
}

export interface TopicFingerprint {
  readonly keySerde: Serde;
  readonly valueSerde: Serde;
}

export interface Fingerprints {
  readonly version: 1;
  readonly app: string;
  /** By store name. */
  readonly stores: Readonly<Record<string, StoreFingerprint>>;
  /** Repartition topics, by name. */
  readonly repartitions: Readonly<Record<string, TopicFingerprint>>;
  /** Output topics by the stream or table that writes them: `definition → topic`. */
  readonly sinks: Readonly<Record<string, string>>;
  /**
   * Stores and repartition topics an earlier version used and this one does not: their changelogs
   * and topics are left behind (`duality reset` deletes them), and a store that comes back under
   * its old name finds its old changelog.
   */
  readonly retired: { readonly stores: Readonly<Record<string, StoreFingerprint>>; readonly repartitions: Readonly<Record<string, TopicFingerprint>> };
}

/** The part of a window that decides which window a record's state is kept in. */
function windowLayout(w: WindowSpec): string {
  switch (w.type) {
    case 'session':
      return `session gap ${formatDuration(w.gapMs!)}`;
    case 'hopping':
      return `window hopping ${formatDuration(w.sizeMs!)} advance ${formatDuration(w.advanceMs!)}`;
    default:
      return `window ${w.type} ${formatDuration(w.sizeMs!)}`;
  }
}

/** The shape of a JSON value: `number`, `string`, `{"n": number}`, `[number]`... */
function shapeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${[...new Set(v.map(shapeOf))].sort().join(' | ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${shapeOf(x)}`).join(', ')}}`;
  }
  return typeof v;
}

/** The shape of `aggregate`'s state, from its `initial` (which sees no variables): what its stored values look like. */
function initialShape(source: string): string {
  const compiled = compileExpression(source, []);
  if (!compiled.ok) return source; // unreachable after validation; the text is still a fair fingerprint
  try {
    return shapeOf(compiled.expression.evaluate({}));
  } catch {
    return source;
  }
}

/** What the values of a store written by `node` are, given the nodes by id. */
function holds(node: GraphNode, store: string, byId: ReadonlyMap<string, GraphNode>): string {
  const input = (i: number): GraphNode | undefined => byId.get(node.inputs[i] ?? '');
  switch (node.type) {
    case 'count':
    case 'sum':
    case 'min':
    case 'max':
      return node.type;
    case 'avg':
      return 'avg {sum, count}';
    case 'reduce':
      return `reduce of ${input(0)?.valueSerde ?? node.valueSerde} values`;
    case 'aggregate':
      return `aggregate ${initialShape(String(node.args.initial))}`;
    case 'groupBy':
      return `previous rows of ${node.definition}`;
    case 'join': {
      // Buffers and lookup tables of joins: which one, by the suffix the compiler gives it.
      const role = store.slice(store.lastIndexOf('-') + 1);
      const sides = node.inputs.map((id) => byId.get(id)?.valueSerde ?? '?').join(', ');
      return `${node.args.otherKind === 'stream' ? 'join buffer' : 'join'} ${role} (${sides})`;
    }
    default:
      return node.args.role !== undefined ? `foreign-key join ${String(node.args.role)} ${store.slice(store.lastIndexOf('-') + 1)}` : 'table rows';
  }
}

/** The fingerprints of a compiled topology, with nothing retired (successorRecord adds what was). */
export function fingerprintsOf(graph: TopologyGraph): Fingerprints {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const stores: Record<string, StoreFingerprint> = {};
  for (const s of graph.stores) {
    const node = byId.get(s.node)!;
    const window = node.args.window as WindowSpec | undefined;
    stores[s.name] = {
      changelog: s.changelogTopic,
      keySerde: s.keySerde,
      valueSerde: s.valueSerde,
      layout: window ? windowLayout(window) : s.type,
      holds: holds(node, s.name, byId),
      ...(window && { graceMs: window.graceMs, retentionMs: window.retentionMs }),
    };
  }
  const repartitions: Record<string, TopicFingerprint> = {};
  for (const n of graph.nodes) if (n.type === 'repartition-sink' && n.topic !== undefined) repartitions[n.topic] = { keySerde: n.keySerde, valueSerde: n.valueSerde };
  const sinks: Record<string, string> = {};
  for (const n of graph.nodes) if (n.type === 'sink' && n.topic !== undefined) sinks[n.definition] = n.topic;
  return { version: 1, app: graph.name, stores, repartitions, sinks, retired: { stores: {}, repartitions: {} } };
}
