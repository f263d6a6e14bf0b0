/** How often a long piece of work says how far along it is. */
export const PROGRESS_EVERY_MS = 5000;

/**
 * Progress of work counted in records (a restore, a reset), said in the log at most every
 * `everyMs` while it goes on, and once at the end:
 *
 *     duality: restore: 120,000 of 500,000 records (24 %), 60,000 records/s, about 7 s left
 *     duality: restore: 500,000 of 500,000 records (100 %), 61,728 records/s, done in 8.1 s
 */
export class Progress {
  private done = 0;
  private total = 0;
  private readonly started = performance.now();
  private saidAt: number;

  constructor(
    private readonly what: string,
    private readonly say: (line: string) => void,
    private readonly everyMs = PROGRESS_EVERY_MS,
  ) {
    this.saidAt = this.started;
  }

  /** Where the work stands; said if the last line is `everyMs` old. */
  update(done: number, total: number): void {
    this.done = done;
    this.total = total;
    const now = performance.now();
    // Nothing done yet has no rate; all done is for `finish` to say.
    if (now - this.saidAt < this.everyMs || done === 0 || done >= total) return;
    this.saidAt = now;
    const rate = this.rate(now);
    const left = rate > 0 ? `about ${formatSeconds((total - done) / rate)} left` : 'time left unknown';
    this.say(`${this.head()}, ${fmt(Math.round(rate))} records/s, ${left}`);
  }

  /** The last line, unless there was nothing to do. */
  finish(): void {
    if (this.total === 0) return;
    const now = performance.now();
    this.say(`${this.head()}, ${fmt(Math.round(this.rate(now)))} records/s, done in ${formatSeconds((now - this.started) / 1000)}`);
  }

  private head(): string {
    const pct = this.total > 0 ? Math.floor((100 * this.done) / this.total) : 100;
    return `duality: ${this.what}: ${fmt(this.done)} of ${fmt(this.total)} records (${pct} %)`;
  }

  private rate(now: number): number {
    const seconds = (now - this.started) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }
}

const fmt = (n: number): string => n.toLocaleString('en');

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - 60 * m)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
