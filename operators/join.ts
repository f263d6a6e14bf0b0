import { defineStep, duration, expression } from './spec.js';

export const join = defineStep({
  name: 'join',
  doc: 'Joins with another stream or table by key: stream-stream within a time window, stream-table lookups, table-table updates.',
  example: '- join: {with: clicks, type: left, within: 10m, grace: 1m, value: \'{"ad": left.ad, "clicked": right != null}\'}',
  transitions: { stream: 'stream', table: 'table' },
  args: {
    type: 'object',
    description: 'The other side, the join type and the joined value.',
    properties: {
      with: { type: 'string', description: 'The name of the stream or table to join with.' },
      type: { enum: ['inner', 'left', 'outer'], description: 'inner (default), left or outer.' },
      within: duration('Stream-stream joins: the largest time difference between joined records.'),
      grace: duration('Stream-stream joins: how long late records are still joined; default 0.'),
      value: expression('the joined value, over left, right and key; default {"left": left, "right": right}'),
    },
    required: ['with'],
    additionalProperties: false,
  },
  expressions: [{ path: ['value'], scope: 'join' }],
});
