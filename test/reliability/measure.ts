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

/**
 * The slope of y over x by Theil and Sen: the median of the slopes between every two points. A
 * short spike (a burst of garbage before a collection) moves a least-squares line by as much as a
 * leak would; it barely moves the median, while memory that keeps growing moves every pair.
 */
export function slope(points: readonly { x: number; y: number }[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]!.x - points[i]!.x;
      if (dx !== 0) slopes.push((points[j]!.y - points[i]!.y) / dx);
    }
  }
  if (slopes.length === 0) return NaN;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 === 1 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
}
