/**
 * The cases of `npm run bench -- windows-joins`: for each, its input records (keyed, with event
 * times on a simulated timeline from a seeded generator), the output every contender must reach,
 * computed while generating the input, and the same topology for Duality (YAML) and for Kafka
 * Streams (bench/kstreams/'s WindowsJoins, by case name).
 */
import type { Message } from 'kafkajs';
import type { Decode } from './output-watcher.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/**
 * Where the simulated timeline starts: the midnight two days ago (UTC), so a simulated day's
 * midday is T0 + 12 h, and no record is older than the broker's time retention (7 days by
 * default), which would delete input and output under the contenders.
 */
export const T0 = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;

export interface Case {
  /** Kafka Streams' case name (WindowsJoins' CASE), and the slug of its topics. */
  readonly name: 'window-count' | 'stream-table' | 'stream-stream';
  readonly label: string;
  /** The measured input: topic -> records, produced before any contender starts. */
  readonly inputs: ReadonlyMap<string, readonly Message[]>;
  /** Records every contender must process: what the rate is of. */
  readonly records: number;
  /** The output's final value per key, as `decode` reads it. */
  readonly expected: ReadonlyMap<string, number | string>;
  readonly decode: Decode;
}

/** A linear congruential generator, as bench/embedded.ts's makeLines: the same input every run. */
function seeded(seed: number): (n: number) => number {
  // The high bits: an LCG's low bits repeat with short periods.
  return (n) => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x80000000) * n);
}

const at = (ms: number): string => String(ms);

/** A windowed count's output: Duality's JSON windowed key, or Kafka Streams' `key@start` (WindowsJoins). */
export const decodeWindowCount: Decode = (key, value) => {
  const text = key.toString();
  const k = text.startsWith('{') ? (JSON.parse(text) as { key: string; start: number }) : undefined;
  return [k ? `${k.key}@${k.start}` : text, value.length === 8 ? Number(value.readBigInt64BE()) : Number.NaN];
};

const decodeText: Decode = (key, value) => [key.toString(), value.toString()];

/**
 * Keyed events for a tumbling 1-minute count: `events` records over `keys` keys, one every `stepMs`
 * of event time from `from`, each up to `jitterMs` earlier than its place (out of order, within the
 * 10 s grace, so none is late). Returns the records and the count of every `key@window start`.
 */
export function windowEvents(events: number, keys: number, stepMs: number, jitterMs: number, from = T0): { messages: Message[]; counts: Map<string, number> } {
  const rnd = seeded(7);
  const messages: Message[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < events; i++) {
    const key = `k${rnd(keys)}`;
    const ts = from + Math.floor(i * stepMs) - (jitterMs > 0 ? rnd(jitterMs) : 0);
    messages.push({ key, value: '1', timestamp: at(ts) });
    const window = `${key}@${ts - (ts % MINUTE)}`;
    counts.set(window, (counts.get(window) ?? 0) + 1);
  }
  return { messages, counts };
}

export function windowCountCase(topic: string, events: number): Case {
  const { messages, counts } = windowEvents(events, 1_000, 6, 5_000);
  return {
    name: 'window-count',
    label: 'tumbling windowed count (1 min, grace 10 s, emit changes; 1,000 keys, an event every 6 ms of event time)',
    inputs: new Map([[topic, messages]]),
    records: events,
    expected: counts,
    decode: decodeWindowCount,
  };
}

/**
 * A table of 10,000 rows (at T0, before every event, so both contenders join against the whole
 * table) and `events` events on 11,000 keys: a tenth find no row and, the join being inner, give
 * nothing. The final output per key is its last event joined with its row, for the keys that have
 * one in the second half: Kafka Streams holds the events back until the table has caught up with
 * their timestamps, Duality does not, so its first events may find an empty table.
 */
export function streamTableCase(table: string, topic: string, events: number): Case {
  const ROWS = 10_000;
  const rnd = seeded(11);
  const rows: Message[] = Array.from({ length: ROWS }, (_, j) => ({ key: `u${j}`, value: `row${j}`, timestamp: at(T0) }));
  const messages: Message[] = [];
  const expected = new Map<string, string>();
  for (let i = 0; i < events; i++) {
    const j = rnd(ROWS + ROWS / 10);
    messages.push({ key: `u${j}`, value: `e${i}`, timestamp: at(T0 + 1_000 + i) });
    if (j < ROWS && i >= events / 2) expected.set(`u${j}`, `e${i}|row${j}`);
  }
  return {
    name: 'stream-table',
    label: 'stream-table join (inner; a table of 10,000 rows loaded first, events on 11,000 keys)',
    inputs: new Map([[table, rows], [topic, messages]]),
    records: events,
    expected,
    decode: decodeText,
  };
}

/**
 * Two streams of `events` records each on 10,000 keys taken in turn, one every 10 ms of event
 * time: a key comes back every 100 s, more than the 1-minute `within`, so each left record meets
 * exactly the right record of its index, 1 s after it. The final output per key is its last pair.
 */
export function streamStreamCase(left: string, right: string, events: number): Case {
  const KEYS = 10_000;
  const l: Message[] = [];
  const r: Message[] = [];
  const expected = new Map<string, string>();
  for (let i = 0; i < events; i++) {
    const key = `u${i % KEYS}`;
    l.push({ key, value: `L${i}`, timestamp: at(T0 + i * 10) });
    r.push({ key, value: `R${i}`, timestamp: at(T0 + i * 10 + 1_000) });
    expected.set(key, `L${i}|R${i}`);
  }
  return {
    name: 'stream-stream',
    label: 'stream-stream join (inner, within 1 min, grace 1 min; 10,000 keys, one pair per key every 100 s)',
    inputs: new Map([[left, l], [right, r]]),
    records: 2 * events,
    expected,
    decode: decodeText,
  };
}

const header = (app: string): string => `version: 1\nname: ${app}\n`;
const source = (name: string, topic: string): string => `  ${name}: {topic: ${topic}, key: string, value: string}\n`;

/**
 * The Duality topology of a case, as WindowsJoins writes it in Java: `second` is the table or the
 * right stream; `retention` the windowed count's (default Duality's).
 */
export function dualityYaml(name: Case['name'], app: string, input: string, output: string, second?: string, retention?: string): string {
  switch (name) {
    case 'window-count':
      return `${header(app)}streams:\n${source('events', input)}tables:
  counts:
    from: events
    steps:
      - groupByKey
      - window: {type: tumbling, size: 1m, grace: 10s${retention ? `, retention: ${retention}` : ''}}
      - count
    to: {topic: ${output}, value: long}
`;
    case 'stream-table':
      return `${header(app)}streams:\n${source('events', input)}  joined:
    from: events
    steps:
      - join: {with: rows, type: inner, value: 'left + "|" + right'}
    to: {topic: ${output}, value: string}
tables:\n${source('rows', second!)}`;
    case 'stream-stream':
      return `${header(app)}streams:\n${source('lefts', input)}${source('rights', second!)}  joined:
    from: lefts
    steps:
      - join: {with: rights, type: inner, within: 1m, grace: 1m, value: 'left + "|" + right'}
    to: {topic: ${output}, value: string}
`;
  }
}
