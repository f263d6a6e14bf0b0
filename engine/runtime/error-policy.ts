import type { LogRecord } from '../api/log.js';
import type { RecordCollector } from '../api/serde.js';
import { levelCode } from '../state/leveldb-store.js';
import { errorCodeOf, ProcessingError } from './errors.js';

export interface ErrorPolicyCounters {
  errors: number;
  dlq: number;
}

/**
 * What a record that cannot be processed gets (`errors.policy`): `dlq` writes its original bytes to
 * the dead-letter topic with headers saying why and where (the names of Kafka's KIP-1034), `skip`
 * counts it and logs at a bounded rate, `fail` stops the engine with a message naming the record.
 * A failing store stops the engine under every policy.
 */
export class ErrorPolicy {
  readonly counters: ErrorPolicyCounters = { errors: 0, dlq: 0 };
  private lastLog = 0;
  private suppressed = 0;

  constructor(
    private readonly policy: 'dlq' | 'skip' | 'fail',
    private readonly dlqTopic: string,
    private readonly log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {}

  /** Handles a failed record; throws when the policy is `fail`. The DLQ record goes to the task's collector. */
  handle(error: unknown, record: LogRecord, task: string, node: string, collector: RecordCollector): void {
    const message = error instanceof Error ? error.message : String(error);
    // A store LevelDB cannot read or write is no bad record: sending the record on would leave the
    // state quietly wrong. Processing stops whatever the policy; the next start finds the store
    // damaged and rebuilds it from its changelog.
    if (levelCode(error) !== undefined) throw new ProcessingError('STORE', `a state store failed: ${message}`, task, node, record, { cause: error });
    this.counters.errors++;
    const code = errorCodeOf(error);
    if (this.policy === 'fail') throw new ProcessingError(code, message, task, node, record, { cause: error });
    if (this.policy === 'dlq') {
      this.counters.dlq++;
      const h = (s: string | number): Buffer => Buffer.from(String(s));
      const letter = (value: Buffer | null, why: string): void =>
        collector.send({
          topic: this.dlqTopic,
          key: record.key,
          value,
          timestamp: record.timestamp,
          headers: {
            ...record.headers,
            '__streams.errors.exception': h(code),
            '__streams.errors.message': h(why),
            '__streams.errors.topic': h(record.topic),
            '__streams.errors.partition': h(record.partition),
            '__streams.errors.offset': h(record.offset),
            '__duality.errors.node': h(node),
          },
        });
      try {
        letter(record.value, message);
      } catch (e) {
        // A record too large for its output is often too large for the dead-letter topic too: its
        // dead letter then goes without the value, rather than stop processing.
        if (errorCodeOf(e) !== 'RECORD_TOO_LARGE') throw e;
        letter(null, `${message}; its value (${record.value?.length ?? 0} bytes) is left out of this dead letter: ${(e as Error).message}`);
      }
    }
    this.logBounded(`${this.policy === 'dlq' ? `sent to ${this.dlqTopic}` : 'skipped'}: ${record.topic}-${record.partition}@${record.offset} at ${node}: ${code}: ${message}`);
  }

  /** At most one line a second, saying how many were not logged in between. */
  private logBounded(line: string): void {
    const now = Date.now();
    if (now - this.lastLog < 1000) {
      this.suppressed++;
      return;
    }
    this.log(this.suppressed > 0 ? `${line} (and ${this.suppressed} more not logged)` : line);
    this.lastLog = now;
    this.suppressed = 0;
  }
}
