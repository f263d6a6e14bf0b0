import { STEPS } from '../operators/index.js';
import { buildTestFileSchema } from '../engine/test-file/schema.js';
import { buildTopologySchema } from './build.js';
import { renderValidators } from './validators-source.js';

export function renderSchema(): string {
  return JSON.stringify(buildTopologySchema(), null, 2) + '\n';
}

/** Every generated file, by path from the project root; a test fails when one is stale. */
export const GENERATED: Record<string, () => string> = {
  'schema/topology.schema.json': renderSchema,
  'schema/topology-test.schema.json': () => JSON.stringify(buildTestFileSchema(), null, 2) + '\n',
  'schema/validators.cjs': renderValidators,
  'docs/operators.md': renderOperatorDocs,
};

const ON: Record<string, string> = { stream: 'stream', grouped: 'grouped stream', table: 'table' };

export function renderOperatorDocs(): string {
  const out: string[] = [
    '# Steps',
    '',
    '<!-- Generated from operators/*.ts by `npm run generate`; do not edit by hand. -->',
    '',
    'A step is a one-key map, or a bare word for a step without arguments. Expressions are CEL',
    '(see [expressions.md](expressions.md)); the whole language is in [language.md](language.md).',
    '',
    '| step | on | gives | what it does |',
    '|---|---|---|---|',
  ];
  for (const s of STEPS) {
    const on = Object.keys(s.transitions).map((k) => ON[k]).join(', ');
    const gives = [...new Set(Object.values(s.transitions).map((k) => ON[k!]))].join(', ');
    out.push(`| [\`${s.name}\`](#${s.name.toLowerCase()}) | ${on} | ${gives} | ${s.doc} |`);
  }
  for (const s of STEPS) {
    out.push('', `## ${s.name}`, '', s.doc, '', '```yaml', s.example, '```');
    if (s.args && s.args.type === 'object' && s.args.properties) {
      out.push('', '| field | meaning |', '|---|---|');
      const required = new Set((s.args.required as string[] | undefined) ?? []);
      for (const [field, schema] of Object.entries(s.args.properties as Record<string, { description?: string }>)) {
        out.push(`| \`${field}\`${required.has(field) ? ' (required)' : ''} | ${schema.description ?? ''} |`);
      }
      // Maps whose keys the user names (branch names): one row for all of them.
      const more = s.args.additionalProperties as { description?: string } | false | undefined;
      if (more && more.description) out.push(`| any other name | ${more.description} |`);
    }
  }
  return out.join('\n') + '\n';
}
