/** Bytes show as base64 in JSON (as the json serde writes them), not as {"type":"Buffer"}. */
export function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  if (original instanceof Uint8Array) return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

/** A value as the API's JSON. */
export const toJson = (value: unknown): string => JSON.stringify(value, jsonReplacer);
