/**
 * A topology with one of each kind of state, and the upgrade cases of docs/upgrades.md as edits of
 * it: for `duality diff` and for starts over the state the base version left.
 */
export const base = (name = 'shop'): string => `version: 1
name: ${name}
streams:
  orders:
    topic: ${name}-orders
    key: string
    value: json
  by-customer:
    from: orders
    steps:
      - selectKey: value.customer
      - repartition
    to: ${name}-orders-by-customer
tables:
  prices:
    topic: ${name}-prices
    key: string
    value: json
  totals:
    from: orders
    steps:
      - groupByKey
      - sum: value.qty
    to: ${name}-totals
  mean-qty:
    from: orders
    steps:
      - groupByKey
      - avg: value.qty
  per-10m:
    from: orders
    steps:
      - groupByKey
      - window: {type: tumbling, size: 10m, grace: 1m}
      - count
  visits:
    from: orders
    steps:
      - groupByKey
      - window: {type: session, gap: 5m}
      - count
`;

export interface UpgradeCase {
  readonly name: string;
  readonly edit: (yaml: string) => string;
  readonly compatible: boolean;
  /** The verdict's lines that say what changed (the human output of `duality diff`). */
  readonly says: readonly string[];
}

/** `yaml` with `from` replaced by `to`, which must be there. */
function swap(from: string, to: string): (yaml: string) => string {
  return (yaml) => {
    if (!yaml.includes(from)) throw new Error(`the base topology has no ${JSON.stringify(from)}`);
    return yaml.replace(from, to);
  };
}

const RESET = '`duality reset` the topology first (deletes all its state and internal topics; the new version then processes its input from the start)';
const keep = `      to do: keep it as it was, or ${RESET}`;

export const CASES: readonly UpgradeCase[] = [
  {
    name: 'sum changed to aggregate over the same store',
    edit: swap('      - sum: value.qty', `      - aggregate: {initial: '{"n": 0}', add: '{"n": agg.n + value.qty}'}`),
    compatible: false,
    says: ['  ✗ store totals: values sum → aggregate {"n": number}: its stored values and its changelog would be misread', keep],
  },
  {
    name: 'avg changed to sum',
    edit: swap('      - avg: value.qty', '      - sum: value.qty'),
    compatible: false,
    says: ['  ✗ store mean-qty: values avg {sum, count} → sum: its stored values and its changelog would be misread', keep],
  },
  {
    name: 'window size changed',
    edit: swap('{type: tumbling, size: 10m, grace: 1m}', '{type: tumbling, size: 15m, grace: 1m}'),
    compatible: false,
    says: ['  ✗ store per-10m: layout window tumbling 10m → window tumbling 15m: its stored values and its changelog would be misread', keep],
  },
  {
    name: 'tumbling window changed to hopping',
    edit: swap('{type: tumbling, size: 10m, grace: 1m}', '{type: hopping, size: 10m, advance: 5m, grace: 1m}'),
    compatible: false,
    says: ['  ✗ store per-10m: layout window tumbling 10m → window hopping 10m advance 5m: its stored values and its changelog would be misread', keep],
  },
  {
    name: 'session gap changed',
    edit: swap('{type: session, gap: 5m}', '{type: session, gap: 10m}'),
    compatible: false,
    says: ['  ✗ store visits: layout session gap 5m → session gap 10m: its stored values and its changelog would be misread', keep],
  },
  {
    name: 'serde changed',
    edit: swap('    topic: ${NAME}-prices\n    key: string', '    topic: ${NAME}-prices\n    key: long'),
    compatible: false,
    says: ['  ✗ store prices: key serde string → long: its stored values and its changelog would be misread', keep],
  },
  {
    name: 'table renamed (its state would be dropped)',
    edit: swap('  totals:\n', '  order-totals:\n'),
    compatible: false,
    says: [
      '  ✗ store totals: renamed to order-totals (the same contents under a new name): the new store would start empty and the old one\'s state would be silently dropped',
      `      to do: keep the old name (a table's first store has the table's name), or ${RESET}; to drop totals's state on purpose, deploy a version without totals first, then one with order-totals`,
    ],
  },
  {
    name: 'internal topic renamed',
    edit: swap('  by-customer:\n', '  orders-by-customer:\n'),
    compatible: false,
    says: [
      '  ✗ repartition topic ${NAME}-by-customer-repartition: renamed to ${NAME}-orders-by-customer-repartition (the same contents under a new name): records in the old one not processed yet would never be read',
      `      to do: keep the name of the stream or table that repartitions (the topic is named after it), or ${RESET}`,
    ],
  },
  {
    name: 'new table',
    edit: (yaml) => `${yaml}  biggest:\n    from: orders\n    steps:\n      - groupByKey\n      - max: value.qty\n`,
    compatible: true,
    says: ['compatible:', '    store biggest: new (changelog ${NAME}-biggest-changelog): it starts empty and takes in the records read from now on'],
  },
  {
    name: 'new filter upstream',
    edit: swap('    from: orders\n    steps:\n      - groupByKey\n      - sum', '    from: orders\n    steps:\n      - filter: value.qty > 0\n      - groupByKey\n      - sum'),
    compatible: true,
    says: ['compatible: nothing that state depends on changed'],
  },
  {
    name: 'sink changed',
    edit: swap('    to: ${NAME}-totals', '    to: ${NAME}-totals-v2'),
    compatible: true,
    says: ['compatible:', '    output of totals: writes to ${NAME}-totals-v2 (was ${NAME}-totals)'],
  },
  {
    name: 'grace changed',
    edit: swap('{type: tumbling, size: 10m, grace: 1m}', '{type: tumbling, size: 10m, grace: 2m}'),
    compatible: true,
    says: ['compatible:', '    store per-10m: grace 1m → 2m: windows already kept are read as before; only how long late records are taken, and windows kept, changes'],
  },
  {
    name: 'table removed (its changelog is left behind)',
    edit: swap('  visits:\n    from: orders\n    steps:\n      - groupByKey\n      - window: {type: session, gap: 5m}\n      - count\n', ''),
    compatible: true,
    says: ['compatible:', '    store visits: no longer used: ${NAME}-visits-changelog is left behind, and kept until `duality reset` deletes it (or delete it with your Kafka tools)'],
  },
];

/** The case's topology and what it says, for the application `name` (edits are written against `${NAME}`). */
export function upgraded(c: UpgradeCase, name = 'shop'): { yaml: string; says: string[] } {
  const named = (s: string): string => s.replaceAll('${NAME}', name);
  return { yaml: named(c.edit(base('${NAME}'))), says: c.says.map(named) };
}
