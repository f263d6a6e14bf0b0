import { createRequire } from 'node:module';
import { STEPS } from '../operators/index.js';
import { buildTestFileSchema } from '../engine/test-file/schema.js';
import { buildTopologySchema, SCHEMA_ID, stepDefName } from './build.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js').default;
const standaloneCode = (require('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js')).default;

/** The names exported by schema/validators.cjs: the topology, the test file, and each step with arguments. */
export const VALIDATOR_EXPORTS = { topology: 'topology', testFile: 'testFile', step: (name: string): string => stepDefName(name) };

/**
 * ajv's standalone code for every schema Duality validates against. Compiling the schema at each
 * start took ~90 ms of the ~330 ms `duality validate` took; loading this module takes ~5 ms.
 */
export function renderValidators(): string {
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { source: true, esm: false } });
  ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });
  ajv.addSchema(buildTopologySchema());
  const testSchema = buildTestFileSchema();
  ajv.addSchema(testSchema);
  const refs: Record<string, string> = { [VALIDATOR_EXPORTS.topology]: SCHEMA_ID, [VALIDATOR_EXPORTS.testFile]: testSchema.$id as string };
  for (const s of STEPS) if (s.args !== null) refs[VALIDATOR_EXPORTS.step(s.name)] = `${SCHEMA_ID}#/$defs/${stepDefName(s.name)}`;
  return `// Generated from schema/build.ts and the operator specs by \`npm run generate\`; do not edit.\n${standaloneCode(ajv, refs)}\n`;
}
