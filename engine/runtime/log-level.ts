// Apart from logger.ts, so that checking the level does not load pino (`duality validate` never logs).

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The level DUALITY_LOG_LEVEL asks for (info when unset), or what is wrong with it. */
export function logLevelFrom(env: NodeJS.ProcessEnv): LogLevel | { error: string } {
  const v = env.DUALITY_LOG_LEVEL;
  if (v === undefined || v === '') return 'info';
  return (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : { error: `DUALITY_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${v}"` };
}
