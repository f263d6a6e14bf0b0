/**
 * Keys of window and session stores. Both are key-value stores underneath (so they share the
 * layers, the changelog and restore); the window's times go into the key as fixed-width decimals,
 * so LevelDB's byte order is numeric order:
 *   time windows:  `<start>|<json key>`       start first, so closing and expiring scan in time order
 *   sessions:      `<json key>|<start>|<end>` key first, so a key's sessions are one prefix scan
 * Reserved keys start with `~`, which no JSON text does, so they sort after every window.
 */
const WIDTH = 16;
const pad = (ms: number): string => String(ms).padStart(WIDTH, '0');

export const timeWindowKey = (start: number, key: unknown): string => timeWindowKeyOfText(start, JSON.stringify(key));
/** The same, from the key's JSON text. */
export const timeWindowKeyOfText = (start: number, keyText: string): string => `${pad(start)}|${keyText}`;

export function parseTimeWindowKey(k: string): { start: number; key: unknown } | undefined {
  if (k.length <= WIDTH || k[WIDTH] !== '|') return undefined;
  return { start: Number(k.slice(0, WIDTH)), key: JSON.parse(k.slice(WIDTH + 1)) as unknown };
}

/** The prefix of every time window starting at or before `start` sorts below this. */
export const timeWindowBound = (start: number): string => pad(start);

export const sessionPrefix = (key: unknown): string => `${JSON.stringify(key)}|`;
export const sessionKey = (key: unknown, start: number, end: number): string => `${sessionPrefix(key)}${pad(start)}|${pad(end)}`;

export function parseSessionKey(k: string): { key: unknown; start: number; end: number } | undefined {
  const tail = 2 * WIDTH + 2;
  if (k.length <= tail || k.startsWith('~')) return undefined;
  const body = k.slice(k.length - tail);
  return { key: JSON.parse(k.slice(0, k.length - tail)) as unknown, start: Number(body.slice(1, 1 + WIDTH)), end: Number(body.slice(2 + WIDTH)) };
}

const END_INDEX = '~end|';
/** A session in order of its end, then its key and start (emit: final keeps these in memory; earlier versions kept them in the store). */
export const sessionEndKey = (end: number, session: string): string => `${END_INDEX}${pad(end)}|${session}`;
/** The session key of such an entry, or undefined for any other key. */
export const sessionOfEndKey = (k: string): string | undefined => (k.startsWith(END_INDEX) ? k.slice(END_INDEX.length + WIDTH + 1) : undefined);
/** The end of the session of such an entry. */
export const endOfEndKey = (k: string): number => Number(k.slice(END_INDEX.length, END_INDEX.length + WIDTH));

/** Reserved key of a window store: the stream time up to which closed windows were emitted (`emit: final`). */
export const EMITTED_KEY = '~emitted';

/** A windowed record key as topics and queries show it (docs/language.md, Serdes). */
export const windowedKey = (key: unknown, start: number, end: number): { key: unknown; start: number; end: number } => ({ key, start, end });
