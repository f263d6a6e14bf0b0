/**
 * Wakes everyone waiting when something changed (records queued or taken, an assignment applied,
 * the consumer closed). Waiters look again at what they wait for, so a spurious wake-up is harmless;
 * the timeout lets them heartbeat or give up in between.
 */
export class Signal {
  private waiters = new Set<() => void>();

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
    });
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }
}
