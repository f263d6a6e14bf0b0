/**
 * Merging buffered writes over the entries of the layer below, in byte order, for `range`.
 *
 * Buffered writes are kept in maps keyed by `key.toString('latin1')`: latin1 maps each byte to
 * one UTF-16 code unit, so comparing those strings with `<` is comparing the bytes, and the
 * string turns back into the same bytes with `Buffer.from(s, 'latin1')`.
 */

/** A buffered write: a value, or null for a delete. */
export type Overlay = readonly (readonly [string, Buffer | null])[];

export const latin1 = (key: Buffer): string => key.toString('latin1');

/**
 * The buffered writes inside [gte, lt), sorted by key; for a key written more than once, the
 * entry that comes last in `entries` wins (callers pass older buffers first).
 */
export function sortedOverlay(entries: Iterable<readonly [string, Buffer | null]>, gte?: Buffer, lt?: Buffer): Overlay {
  const lo = gte === undefined ? undefined : latin1(gte);
  const hi = lt === undefined ? undefined : latin1(lt);
  const latest = new Map<string, Buffer | null>();
  for (const [k, v] of entries) {
    if ((lo !== undefined && k < lo) || (hi !== undefined && k >= hi)) continue;
    latest.set(k, v);
  }
  // Default sort compares UTF-16 code units, which for latin1 strings is byte order.
  return [...latest].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Entries of `below` with `overlay` applied: an overlay value replaces the entry below, a null
 * hides it. `below` must not be limited by the caller (hidden entries would use up the limit);
 * the limit is applied here and stopping early closes `below`.
 */
export async function* mergeRange(overlay: Overlay, below: AsyncIterable<[Buffer, Buffer]>, limit = Infinity): AsyncGenerator<[Buffer, Buffer]> {
  if (limit <= 0) return;
  let emitted = 0;
  let i = 0;
  // Yields overlay entries before `bound` (all when undefined); false once the limit is reached.
  function* overlayBefore(bound: string | undefined): Generator<[Buffer, Buffer]> {
    for (; i < overlay.length; i++) {
      const [k, v] = overlay[i]!;
      if (bound !== undefined && k >= bound) return;
      if (v !== null) yield [Buffer.from(k, 'latin1'), v];
    }
  }
  for await (const [key, value] of below) {
    const k = latin1(key);
    for (const entry of overlayBefore(k)) {
      yield entry;
      if (++emitted >= limit) return;
    }
    if (i < overlay.length && overlay[i]![0] === k) {
      // The buffered write shadows what is below, including a delete.
      const v = overlay[i++]![1];
      if (v === null) continue;
      yield [key, v];
    } else {
      yield [key, value];
    }
    if (++emitted >= limit) return;
  }
  for (const entry of overlayBefore(undefined)) {
    yield entry;
    if (++emitted >= limit) return;
  }
}
