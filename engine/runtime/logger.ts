import { pino } from 'pino';

import type { LogLevel } from './log-level.js';

/** `duality run`'s log: one line per call, at a level; a line below the logger's level is dropped. */
export interface Logger {
  error(line: string): void;
  warn(line: string): void;
  info(line: string): void;
  debug(line: string): void;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  /** JSON lines (`{"level","time","msg"}`) for a collector, or a human line for a terminal. */
  readonly format: 'json' | 'human';
  /** Where each line goes, without its newline. */
  readonly write: (line: string) => void;
  /** Human lines only: the level in colour. */
  readonly color?: boolean;
  /** Applied to each line before it is written: hides the values of secrets (compileOrSay). */
  readonly redact?: (line: string) => string;
}

/** How `duality run` logs, as the command line decides it (DUALITY_LOG_LEVEL, whether stderr is a terminal). */
export type LogSettings = Pick<LoggerOptions, 'level' | 'format' | 'color'>;

const PAINT: Record<string, string> = { error: '31', warn: '33', info: '32', debug: '90' };

/**
 * pino writes the lines (its levels, its JSON, its escaping); on a terminal each is turned back
 * into `time LEVEL msg`: a dozen lines where pino-pretty would bring its own dependencies.
 */
export function createLogger(o: LoggerOptions): Logger {
  const human = (json: string): string => {
    const { level, time, msg } = JSON.parse(json) as { level: string; time: string; msg: string };
    const label = level.toUpperCase().padEnd(5);
    return `${time.slice(11, 23)} ${o.color ? `\u001b[${PAINT[level]}m${label}\u001b[0m` : label} ${msg}`;
  };
  const p = pino(
    {
      level: o.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (s: string) => o.write(o.format === 'json' ? s.trimEnd() : human(s)) },
  );
  // Redacted before pino escapes it: a secret with a quote in it must still be found.
  const r = o.redact ?? ((l: string) => l);
  return {
    error: (l) => p.error(r(l)),
    warn: (l) => p.warn(r(l)),
    info: (l) => p.info(r(l)),
    debug: (l) => p.debug(r(l)),
  };
}
