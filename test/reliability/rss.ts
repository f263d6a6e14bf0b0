import { readFileSync } from 'node:fs';

/**
 * The resident memory of a process (Linux: /proc/PID/status), sampled every `everyMs` until
 * stopped: the peak, to show memory stays bounded while something hostile goes on.
 */
export class RssSampler {
  private peakKb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  /** The highest resident set size seen, in MB. */
  get peakMb(): number {
    return Math.round(this.peakKb / 1024);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakMb;
  }

  private sample(): void {
    try {
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1] ?? 0);
      this.peakKb = Math.max(this.peakKb, kb);
    } catch {
      // The process is gone: its last sample stands.
    }
  }
}
