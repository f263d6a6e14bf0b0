import type { Log, LogConsumer } from '../api/log.js';

/** `recovering`: the log failed in a way that may pass (see Log.retriable); the engine waits and joins again. */
export type EngineState = 'created' | 'restoring' | 'running' | 'recovering' | 'stopping' | 'stopped' | 'failed';

/**
 * A log silent for this long, while the engine runs, is reported as not ready. A Kafka group's
 * member hears from its broker several times a second; its session times out after 10 s of silence too.
 */
const LOG_SILENCE_MS = 10_000;

/**
 * Waits between attempts at joining a log that failed: doubling from the first, up to the last.
 * Capped at 5 s, so a broker back after an outage is in use again within seconds (a 30 s cap made
 * the broker-faults scenario wait 17-24 s after a 10 s stop); an attempt costs a connection.
 */
const BACKOFF_MS = [500, 1000, 2000, 5000];

/**
 * What the engine is doing and why, as /readyz reports it: the phase the engine sets, the reason
 * while it waits for the log after a failure, and a watch on a log that stops answering while the
 * engine runs (a broker that hangs fails no request until kafkajs's 30 s request timeout).
 */
export class Health {
  /** What the engine itself says it does; `state` adds what the watch sees. */
  phase: EngineState = 'created';
  private reason: string | undefined;
  /** Whether the log could not be reached at some point since the engine last ran (rather than, say, only a fenced producer). */
  private logLost = false;
  /** Whether the log was silent at the watch's last look, so that a change is said once. */
  private silent = false;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Log,
    /** The engine's consumer of the moment (it makes a new one after a failure). */
    private readonly consumer: () => LogConsumer,
    private readonly say: (line: string) => void,
  ) {}

  /** While the engine runs, a log silent for LOG_SILENCE_MS makes it `recovering`. */
  get state(): EngineState {
    return this.phase === 'running' && this.silence() !== undefined ? 'recovering' : this.phase;
  }

  /** Why the engine is not running, when it knows. */
  get problem(): string | undefined {
    return (this.phase === 'running' ? this.silence() : undefined) ?? this.reason;
  }

  /** Looks at the log once a second, to say when it falls silent and when it answers again. */
  startWatching(): void {
    this.watchdog ??= setInterval(() => this.watch(), 1000).unref();
  }

  stopWatching(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /** The engine joined the log: running, saying so when it had been waiting. */
  running(): void {
    this.phase = 'running';
    if (this.reason !== undefined) this.say(`duality: ${this.logLost ? `${this.log.description} answers again; ` : ''}processing resumes`);
    this.reason = undefined;
    this.logLost = false;
  }

  /** After a failure that may pass: waits before the next attempt, saying why; `stopped` cuts the wait short. */
  async backoff(attempt: number, e: unknown, what: string, stopped: () => boolean): Promise<void> {
    const ms = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;
    this.phase = 'recovering';
    // A fenced producer or a rebalance is no lost broker: say what is going on.
    const why = this.log.explain(e);
    // A broker that comes back may first answer that its coordinator is loading: it was lost all the same.
    if (why === undefined) this.logLost = true;
    await this.wait(ms, why ?? `${what} ${this.log.description}: ${e instanceof Error ? e.message : String(e)}`, stopped);
  }

  /**
   * The schema registry failed while the engine runs or starts: waits before the next attempt,
   * saying why (in /readyz too); `registryAnswers` ends the wait's state.
   */
  async registryBackoff(attempt: number, e: unknown, stopped: () => boolean): Promise<EngineState> {
    const before = this.phase;
    this.phase = 'recovering';
    await this.wait(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!, e instanceof Error ? e.message : String(e), stopped);
    return before;
  }

  /** The registry answered again after `registryBackoff`: back to what the engine was doing. */
  registryAnswers(phase: EngineState, description: string): void {
    this.phase = phase;
    this.reason = undefined;
    this.say(`duality: ${description} answers again; processing resumes`);
  }

  private async wait(ms: number, why: string, stopped: () => boolean): Promise<void> {
    this.reason = `${why}; trying again in ${ms / 1000} s`;
    this.say(`duality: ${this.reason}`);
    const until = Date.now() + ms;
    while (!stopped() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }

  /** What a silent log means, or undefined while it answers. */
  private silence(): string | undefined {
    const ms = this.consumer().silentFor();
    if (ms < LOG_SILENCE_MS) return undefined;
    return `${this.log.description} has not answered for ${Math.floor(ms / 1000)} s; nothing can be processed or committed until it does`;
  }

  private watch(): void {
    // Out of running (a request failed at last, a stop), the engine says what happens itself.
    if (this.phase !== 'running') {
      this.silent = false;
      return;
    }
    const silence = this.silence();
    if ((silence !== undefined) === this.silent) return;
    this.silent = silence !== undefined;
    this.say(`duality: ${silence ?? `${this.log.description} answers again; processing resumes`}`);
  }
}
