import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GENERATED } from '../../schema/render.js';
import { STEPS } from '../../operators/index.js';
import { ROOT } from '../root.js';

test('generated schemas and docs are up to date (run `npm run generate`)', () => {
  for (const [path, render] of Object.entries(GENERATED)) {
    assert.equal(readFileSync(`${ROOT}${path}`, 'utf8'), render(), `${path} is stale: run \`npm run build && npm run generate\``);
  }
});

test('every step is in the schema, with its doc for editor hover', () => {
  const schema = JSON.parse(readFileSync(`${ROOT}schema/topology.schema.json`, 'utf8')) as { $defs: Record<string, any> };
  const bare = schema.$defs.step.anyOf[0].enum as string[];
  for (const s of STEPS) {
    if (s.args === null) assert.ok(bare.includes(s.name), s.name);
    else assert.match(schema.$defs[`step-${s.name}`].properties[s.name].description, new RegExp(s.doc.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  }
});

test('each topology in topologies/ points editors at the schema', () => {
  for (const f of readdirSync(`${ROOT}topologies`).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'))) {
    const first = readFileSync(`${ROOT}topologies/${f}`, 'utf8').split('\n')[0];
    assert.equal(first, '# yaml-language-server: $schema=../schema/topology.schema.json', f);
  }
});
