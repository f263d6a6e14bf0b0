import type { RestoreStep } from '../state/restore.js';
import { Progress, PROGRESS_EVERY_MS } from './progress.js';

/** A store of a task, as the metrics see its restores. */
export interface StoreRestore {
  readonly store: string;
  readonly task: string;
  /** Changelog records applied to it by the restores of this process, all assignments together. */
  readonly restored: number;
  /** Changelog offsets its restore under way still has to replay; 0 once restored. */
  readonly remaining: number;
}

/**
 * The restores of the engine's active tasks: per store for duality_restored_records_total and
 * duality_restore_remaining_records, and per assignment, whose stores restore side by side, one
 * Progress in the log.
 */
export class RestoreTracker {
  private readonly stores = new Map<string, { store: string; task: string; restored: number; remaining: number }>();

  constructor(private readonly everyMs = PROGRESS_EVERY_MS) {}

  list(): StoreRestore[] {
    return [...this.stores.values()].map((s) => ({ ...s }));
  }

  /** The restores of one assignment: a listener per store, and `finish` once they are over. */
  round(say: (line: string) => void): { listener(task: string, store: string): (step: RestoreStep) => void; finish(): void } {
    const progress = new Progress('restore', say, this.everyMs);
    const steps = new Map<string, RestoreStep>();
    return {
      listener: (task, store) => {
        const key = `${task}\u0000${store}`;
        const entry = this.stores.get(key) ?? { store, task, restored: 0, remaining: 0 };
        this.stores.set(key, entry);
        const before = entry.restored;
        return (step) => {
          entry.restored = before + step.records;
          entry.remaining = step.remaining;
          steps.set(key, step);
          let done = 0;
          let total = 0;
          for (const s of steps.values()) {
            done += s.total - s.remaining;
            total += s.total;
          }
          progress.update(done, total);
        };
      },
      finish: () => progress.finish(),
    };
  }
}
