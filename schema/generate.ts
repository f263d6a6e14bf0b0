import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GENERATED } from './render.js';

// Regenerates the editor schemas and the operator reference from the operator specs.
const root = fileURLToPath(new URL('../../', import.meta.url));
for (const [path, render] of Object.entries(GENERATED)) {
  writeFileSync(`${root}${path}`, render());
  console.log(`wrote ${path}`);
}
