/** One look at /readyz: when, the status (0: no answer), the state it named. */
export interface ReadyzSample {
  readonly at: number;
  readonly status: number;
  readonly state: string | undefined;
}

/**
 * Asks an instance's /readyz every `everyMs` and keeps every answer, so that a scenario can say,
 * after a fault, how soon the instance told the truth about it and when it was ready again.
 */
export class ReadyzPoller {
  readonly samples: ReadyzSample[] = [];
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  constructor(url: string, everyMs = 250) {
    this.timer = setInterval(() => {
      if (this.polling) return; // one at a time: a slow answer is one sample, not a pile
      this.polling = true;
      const at = Date.now();
      fetch(`${url}/readyz`, { signal: AbortSignal.timeout(everyMs * 4) })
        .then(async (r) => ({ at, status: r.status, state: ((await r.json().catch(() => ({}))) as { state?: string }).state }))
        .catch(() => ({ at, status: 0, state: undefined }))
        .then((s) => this.samples.push(s))
        .finally(() => (this.polling = false));
    }, everyMs);
  }

  /** The first answer asked from `from` on (and before `to`) that `matches`. */
  first(from: number, matches: (s: ReadyzSample) => boolean, to = Infinity): ReadyzSample | undefined {
    return this.samples.find((s) => s.at >= from && s.at < to && matches(s));
  }

  /** Answers asked in [from, to) that `match`. */
  count(from: number, to: number, matches: (s: ReadyzSample) => boolean): number {
    return this.samples.filter((s) => s.at >= from && s.at < to && matches(s)).length;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export const isReady = (s: ReadyzSample): boolean => s.status === 200;
export const isRecovering = (s: ReadyzSample): boolean => s.status === 503 && s.state === 'recovering';
