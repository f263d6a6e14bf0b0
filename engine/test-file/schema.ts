import type { JsonSchema } from '../../operators/spec.js';

const timestamp = { type: ['integer', 'string'], description: 'Epoch milliseconds or an RFC 3339 string.' };

/** The JSON Schema of a topology test file (docs/testing.md). */
export function buildTestFileSchema(): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:duality:schema:topology-test:v1',
    title: 'Duality topology test',
    type: 'object',
    properties: {
      topology: { type: 'string', minLength: 1, description: 'The topology file, relative to this file.' },
      cases: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, description: 'What the case shows.' },
            match: { enum: ['exact', 'subset'], description: '`subset`: tables and lists need only contain what is listed.' },
            input: {
              type: 'array',
              description: 'Records written to the topology\'s topics, in order, each from empty state.',
              items: {
                type: 'object',
                properties: {
                  topic: { type: 'string', minLength: 1 },
                  key: { description: 'Default null.' },
                  value: { description: 'Written with the source\'s value serde.' },
                  rawValue: { type: 'string', description: 'UTF-8 bytes written as they are, bypassing the serde.' },
                  timestamp,
                  headers: { type: 'object', additionalProperties: { type: 'string' } },
                },
                required: ['topic'],
                additionalProperties: false,
              },
            },
            expect: {
              type: 'object',
              properties: {
                tables: { type: 'object', additionalProperties: { type: ['object', 'array'] } },
                topics: {
                  type: 'object',
                  additionalProperties: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: { key: {}, value: {}, timestamp, headers: { type: 'object' } },
                      additionalProperties: false,
                    },
                  },
                },
                errors: {
                  anyOf: [
                    { type: 'integer', minimum: 0 },
                    {
                      type: 'array',
                      items: { type: 'object', properties: { topic: { type: 'string' }, reason: { type: 'string' } }, additionalProperties: false },
                    },
                  ],
                },
              },
              additionalProperties: false,
            },
          },
          required: ['name', 'input', 'expect'],
          additionalProperties: false,
        },
      },
    },
    required: ['topology', 'cases'],
    additionalProperties: false,
  };
}
