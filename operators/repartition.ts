import { defineStep } from './spec.js';
import { forwardAsIs } from './runtime.js';

/**
 * Kafka Streams' `repartition()`: the compiler routes the records through an internal topic
 * partitioned by their key (insert-repartitions.ts); this node only passes on what it reads back.
 */
export const repartition = defineStep({
  name: 'repartition',
  doc: 'Writes the stream to an internal repartition topic and reads it back, partitioned by the current key; `partitions` sets its partition count (default: that of the topics the stream comes from).',
  example: '- repartition: {partitions: 6}',
  transitions: { stream: 'stream' },
  args: {
    type: 'object',
    properties: {
      partitions: { type: 'integer', minimum: 1, maximum: 100000, description: 'The repartition topic\'s partition count, and so the number of tasks after it; default: the partitions of the sub-topology that writes it.' },
    },
    additionalProperties: false,
  },
  bare: true,
  expressions: [],
  create: forwardAsIs,
});
