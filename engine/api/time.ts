/** Epoch ms from a timestamp as users write it: a number, or an RFC 3339 string. */
export function epochMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}
