import { readFileSync } from 'node:fs';

/** A process's resident set size in MB (VmRSS of /proc/PID/status), or undefined once it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; keeps the peak and every sample. */
export class RssSampler {
  peakMb = 0;
  readonly samples: { atMs: number; mb: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly began = Date.now();

  constructor(pid: number, everyMs = 500) {
    const sample = (): void => {
      const mb = rssMb(pid);
      if (mb === undefined) return;
      this.samples.push({ atMs: Date.now() - this.began, mb });
      this.peakMb = Math.max(this.peakMb, mb);
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * The sum of a metric's samples in Prometheus text (every label set), or undefined when /metrics
 * has none of it.
 */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** The least-squares slope of y over x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxx === 0 ? NaN : sxy / sxx;
}
