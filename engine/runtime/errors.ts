import { DualityError } from '../api/diagnostics.js';
import type { LogRecord } from '../api/log.js';

/** A record that failed in a node: where it came from and where it failed (docs/runtime.md, Bad records). */
export class ProcessingError extends DualityError {
  constructor(
    readonly errorCode: string,
    message: string,
    readonly task: string,
    readonly node: string,
    readonly record: Pick<LogRecord, 'topic' | 'partition' | 'offset'>,
    options?: { cause?: unknown },
  ) {
    super('PROCESSING', `${message} (task ${task}, node ${node}, record ${record.topic}-${record.partition}@${record.offset})`, options);
    this.name = 'ProcessingError';
  }
}

/** The error code of a failure: SERDE for bad bytes, EXPRESSION for a CEL error, PROCESSING otherwise. */
export function errorCodeOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'PROCESSING';
}
