import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main, type Output } from '../../../bin/cli.js';
import { base, CASES, upgraded } from './upgrade-cases.js';

async function diff(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const o: Output = { stdout: (l) => out.push(...l.split('\n')), stderr: (l) => err.push(l), color: false };
  const code = await main(['diff', ...args], o);
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'duality-diff-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const old = file('old.yaml', base());

for (const [i, c] of CASES.entries()) {
  test(`duality diff: ${c.name}: ${c.compatible ? 'compatible, exit 0' : 'incompatible, exit 1'}`, async () => {
    const { yaml, says } = upgraded(c);
    const r = await diff([old, file(`new-${i}.yaml`, yaml)]);
    assert.deepEqual(r.err, []);
    assert.equal(r.code, c.compatible ? 0 : 1, r.out.join('\n'));
    if (!c.compatible) assert.match(r.out[0]!, /^incompatible: 1 change would misread or drop state:$/);
    for (const line of says) assert.ok(r.out.includes(line), `${line}\nnot in\n${r.out.join('\n')}`);
  });
}

test('duality diff --json: the same verdict as data', async () => {
  const r = await diff([old, file('json.yaml', upgraded(CASES[0]!).yaml), '--json']);
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(r.out.join('\n')), {
    compatible: false,
    changes: [
      {
        compatible: false,
        subject: 'store totals',
        what: 'values sum → aggregate {"n": number}: its stored values and its changelog would be misread',
        todo: 'keep it as it was, or `duality reset` the topology first (deletes all its state and internal topics; the new version then processes its input from the start)',
      },
    ],
  });
});

test('duality diff: an invalid topology or two different applications are exit 2, saying why', async () => {
  const bad = await diff([old, file('bad.yaml', base().replace('value: json', 'value: jsn'))]);
  assert.equal(bad.code, 2);
  assert.match(bad.err.join('\n'), /bad\.yaml:\d+:\d+: streams\.orders\.value: must be one of/);
  const other = await diff([old, file('other.yaml', base('store'))]);
  assert.equal(other.code, 2);
  assert.match(other.err[0]!, /is the application "shop" and .*other\.yaml is "store": a new name is a new application/);
  const usage = await diff([old]);
  assert.equal(usage.code, 2);
  assert.match(usage.err[0]!, /diff takes two FILEs/);
});
