import { defineStep, duration } from './spec.js';

export const window = defineStep({
  name: 'window',
  doc: 'Windows a grouped stream (tumbling, hopping, sliding or session) so the aggregation that follows is per key and window.',
  example: '- window: {type: hopping, size: 1h, advance: 10m, grace: 5m}',
  transitions: { grouped: 'grouped' },
  args: {
    type: 'object',
    description: 'Window rules are Kafka Streams\': a record later than window end + grace is dropped.',
    properties: {
      type: {
        enum: ['tumbling', 'hopping', 'sliding', 'session'],
        description: 'tumbling (size), hopping (size, advance), sliding (size: the largest time difference, KIP-450) or session (gap).',
      },
      size: duration('The window length (tumbling, hopping, sliding).'),
      advance: duration('How far each hopping window starts after the previous one; at most size.'),
      gap: duration('Session windows: the inactivity gap that closes a session.'),
      grace: duration('How long after a window ends late records are still accepted; default 0.'),
      retention: duration('How long windows stay queryable; default max(size + grace, 1d).'),
    },
    required: ['type'],
    additionalProperties: false,
  },
  expressions: [],
});
