import type { Serde as SerdeName } from './topology-graph.js';

/**
 * Turns values into the bytes of a record and back, byte-for-byte as Kafka's own serializers.
 * `null` is a tombstone and stays null both ways. A value the serde cannot encode or bytes it
 * cannot decode throw a SerdeError, which the engine hands to the error policy.
 */
export interface Serde {
  readonly name: SerdeName;
  serialize(value: unknown): Buffer | null;
  deserialize(bytes: Buffer | null): unknown;
}

/** Takes records to the log: the only path from the runtime to a producer. */
export interface RecordCollector {
  send(record: import('./log.js').ProducedRecord): void;
  /** Throws what `send` would throw for the record's size (see LogProducer.check), sending nothing. */
  check?(record: import('./log.js').ProducedRecord): void;
}
