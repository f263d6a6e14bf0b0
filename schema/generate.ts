import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOperatorDocs, renderSchema } from './render.js';

// Regenerates the editor schema and the operator reference from the operator specs.
const root = fileURLToPath(new URL('../../', import.meta.url));
writeFileSync(`${root}schema/topology.schema.json`, renderSchema());
writeFileSync(`${root}docs/operators.md`, renderOperatorDocs());
console.log('wrote schema/topology.schema.json and docs/operators.md');
