import { formatDuration, parseDuration } from './duration.js';
import type { Pass } from './model.js';

const DAY = 86_400_000;

const FIELDS: Record<string, { required: string[]; allowed: string[] }> = {
  tumbling: { required: ['size'], allowed: ['size', 'grace', 'retention'] },
  hopping: { required: ['size', 'advance'], allowed: ['size', 'advance', 'grace', 'retention'] },
  sliding: { required: ['size'], allowed: ['size', 'grace', 'retention'] },
  session: { required: ['gap'], allowed: ['gap', 'grace', 'retention'] },
};

/**
 * Durations must be positive (grace may be 0), and windows must have the fields their type needs
 * and no others: hopping `advance` at most `size`, `retention` at least `size + grace`.
 */
export const checkDurations: Pass = {
  name: 'checkDurations',
  run(state, diagnostics) {
    const doc = state.doc!;
    const positive = (pointer: string, text: unknown, zeroOk = false): number | undefined => {
      if (typeof text !== 'string') return undefined;
      const ms = parseDuration(text);
      if (ms === undefined) return undefined; // the schema reported it
      if (ms === 0 && !zeroOk) {
        diagnostics.error(pointer, 'must be longer than 0');
        return undefined;
      }
      return ms;
    };
    const raw = state.raw as { processing?: { commitInterval?: string } };
    positive('/processing/commitInterval', raw.processing?.commitInterval);

    for (const def of doc.definitions.values()) {
      for (const step of def.steps) {
        const args = step.args as Record<string, string> | null;
        if (step.name === 'join' && args) {
          positive(`${step.pointer}/within`, args.within);
          positive(`${step.pointer}/grace`, args.grace, true);
        }
        if (step.name !== 'window' || !args) continue;
        const rules = FIELDS[args.type!];
        if (!rules) continue;
        for (const field of rules.required) {
          if (args[field] === undefined) diagnostics.error(step.pointer, `a ${args.type} window needs \`${field}\``, { atKey: true });
        }
        for (const field of Object.keys(args)) {
          if (field !== 'type' && !rules.allowed.includes(field)) {
            const owner = Object.entries(FIELDS).filter(([, r]) => r.allowed.includes(field)).map(([t]) => t);
            diagnostics.error(`${step.pointer}/${field}`, `\`${field}\` does not apply to ${args.type} windows (it is for ${owner.join(', ')} windows)`, { atKey: true });
          }
        }
        const size = positive(`${step.pointer}/size`, args.size);
        const advance = positive(`${step.pointer}/advance`, args.advance);
        const gap = positive(`${step.pointer}/gap`, args.gap);
        const grace = positive(`${step.pointer}/grace`, args.grace, true) ?? 0;
        const retention = positive(`${step.pointer}/retention`, args.retention);
        if (args.type === 'hopping' && size !== undefined && advance !== undefined && advance > size) {
          diagnostics.error(`${step.pointer}/advance`, `a hopping window's advance (${args.advance}) must be at most its size (${args.size})`);
        }
        const span = retentionSpan(args.type, size, gap);
        if (retention !== undefined && retention < span + grace) {
          const what = args.type === 'session' ? 'gap' : args.type === 'sliding' ? '2 × size' : 'size';
          // Sliding windows: a new window starts from the aggregate of one up to 2 × size older (Kafka Streams' SlidingWindowStoreMaterializer).
          const why = args.type === 'sliding' ? 'or the windows new records start from would be gone' : 'or windows would be dropped before they close';
          diagnostics.error(`${step.pointer}/retention`, `retention (${args.retention}) must be at least ${what} + grace (${formatDuration(span + grace)}), ${why}`);
        }
      }
    }
    return state;
  },
};

/** What a window's retention must cover besides grace: gap (sessions), 2 × size (sliding) or size. */
function retentionSpan(type: string | undefined, size: number | undefined, gap: number | undefined): number {
  return (type === 'session' ? gap : type === 'sliding' && size !== undefined ? 2 * size : size) ?? 0;
}

/** A window's settings in milliseconds, with the defaults of docs/language.md. */
export function windowMs(args: Record<string, string>): { sizeMs?: number; advanceMs?: number; gapMs?: number; graceMs: number; retentionMs: number } {
  const ms = (f: string): number | undefined => (args[f] === undefined ? undefined : parseDuration(args[f]!));
  const graceMs = ms('grace') ?? 0;
  const sizeMs = ms('size');
  const span = retentionSpan(args.type, sizeMs, ms('gap'));
  const advanceMs = args.type === 'tumbling' ? sizeMs : ms('advance');
  const gapMs = ms('gap');
  return {
    ...(sizeMs !== undefined ? { sizeMs } : {}),
    ...(advanceMs !== undefined ? { advanceMs } : {}),
    ...(gapMs !== undefined ? { gapMs } : {}),
    graceMs,
    retentionMs: ms('retention') ?? Math.max(span + graceMs, DAY),
  };
}
