import { DualityError } from '../api/diagnostics.js';

/** A value a serde cannot encode, or bytes it cannot decode; the engine hands it to the error policy. */
export class SerdeError extends DualityError {
  declare readonly code: 'SERDE';

  constructor(
    readonly serde: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('SERDE', `${serde} serde: ${message}`, options);
    this.name = 'SerdeError';
  }
}

/** A short description of a value for error messages, never the whole value. */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'object' && value !== null) return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'bigint') return `the integer ${value}`;
  return `${typeof value} ${String(value)}`;
}
