/**
 * A problem found in a topology file, positioned at a line and column (1-based).
 * `path` is the human path of the node (`tables.word-counts.steps[2]`), empty at the root.
 */
export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly message: string;
}

/** `file:line:col: path: message`, the one format every configuration error is shown in. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  return d.path ? `${where}: ${d.path}: ${d.message}` : `${where}: ${d.message}`;
}

/**
 * Stable error codes; a user-facing message says what, where and how to fix. `LOCKED`: a directory
 * another live process holds; `DAMAGED`: files on disk that cannot be trusted, left as they are;
 * `OVERFLOW`: a number past the largest double, refused rather than stored as Infinity;
 * `REGISTRY`: the Schema Registry refused a request; `REGISTRY_UNAVAILABLE`: it could not be reached
 * or failed (5xx), which may pass. `INCOMPATIBLE_UPGRADE`: a new version of a topology that would
 * misread or drop its state (docs/upgrades.md).
 */
export type ErrorCode = 'TOPOLOGY_INVALID' | 'USAGE' | 'SERDE' | 'STORE' | 'PROCESSING' | 'EXPRESSION' | 'LOCKED' | 'DAMAGED' | 'OVERFLOW' | 'REGISTRY' | 'REGISTRY_UNAVAILABLE' | 'INCOMPATIBLE_UPGRADE';

export class DualityError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DualityError';
  }
}

/** Thrown when a topology does not load; carries every diagnostic found, in file order. */
export class TopologyInvalidError extends DualityError {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super('TOPOLOGY_INVALID', diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'TopologyInvalidError';
  }
}

/** Turns a JSON pointer (`/tables/word-counts/steps/2`) into the path users read (`tables.word-counts.steps[2]`). */
export function humanPath(pointer: string): string {
  if (pointer === '') return '';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

export function pointerOf(segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
