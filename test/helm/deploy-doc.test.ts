/**
 * docs/deploy.md followed as a new user would, without a cluster: every values file it shows
 * (a ```yaml block opening with `# NAME.yaml`) and every `helm install` / `helm upgrade --install`
 * it gives renders with the chart (as `helm template`, from a folder holding those files and a
 * topology.yaml); every Secret its values name is one its `kubectl create secret` lines make, with
 * that key; and every object its kubectl and curl lines name is one the chart renders.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT } from '../root.js';
import { tool } from './tools.js';

const DOC = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
const helm = tool('helm');
const dir = mkdtempSync(join(tmpdir(), 'duality-deploy-doc-'));
after(() => rmSync(dir, { recursive: true, force: true }));
copyFileSync(join(ROOT, 'topologies/wordcount.yaml'), join(dir, 'topology.yaml'));

const blocks = (lang: string): string[] => [...DOC.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!);
/** The shell lines of the page, continuation lines joined, comments dropped. */
const commands = blocks('sh').flatMap((b) => b.replace(/\\\n\s*/g, ' ').split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '');

const values = new Map<string, Record<string, any>>();
for (const block of blocks('yaml')) {
  const name = /^# (\S+\.yaml)\n/.exec(block)?.[1];
  if (name === undefined) continue;
  writeFileSync(join(dir, name), block);
  values.set(name, parse(block) as Record<string, any>);
}

/**
 * What one helm command line renders: run by bash as written (its quoting included), with
 * `helm install` or `helm upgrade --install` turned into `helm template` and what only a cluster
 * does (creating the namespace) left out.
 */
function renderCommand(line: string): Record<string, any>[] {
  assert.match(line, /^helm (install|upgrade --install) [a-z0-9-]+ \.\/helm\/duality /, line);
  const script = line.replace(/^helm (install|upgrade --install) /, '"$HELM" template ').replace(' ./helm/duality ', ' "$CHART" ').replace(' --create-namespace', '');
  const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, HELM: helm, CHART: join(ROOT, 'helm/duality') } });
  assert.equal(r.status, 0, `${line}\n${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>).filter((d) => d !== null);
}

const helmLines = commands.filter((l) => /^helm (install|upgrade --install) /.test(l));
const rendered = helmLines.map((l) => renderCommand(l));

test('docs/deploy.md shows values files and helm commands, and each command renders with the chart', () => {
  assert.ok(values.size >= 2, `values files in docs/deploy.md: ${[...values.keys()].join(', ')}`);
  assert.ok(helmLines.length >= 3, helmLines.join('\n'));
  for (const name of values.keys()) assert.ok(helmLines.some((l) => l.includes(`-f ${name}`)), `a helm command uses ${name}`);
  for (const manifests of rendered) assert.ok(manifests.some((m) => m.kind === 'StatefulSet'));
});

test('every Secret the doc\'s values name is made by its kubectl create secret lines, with the key the chart reads', () => {
  const made = new Map<string, Set<string>>();
  for (const l of commands.filter((c) => c.startsWith('kubectl') && c.includes(' create secret generic '))) {
    const name = /create secret generic (\S+)/.exec(l)![1]!;
    made.set(name, new Set([...l.matchAll(/--from-(?:literal|file)=([^=\s]+)=/g)].map((m) => m[1]!)));
  }
  for (const manifests of rendered) {
    for (const sts of manifests.filter((m) => m.kind === 'StatefulSet')) {
      const pod = sts.spec.template.spec;
      const refs: [string, string][] = pod.containers.flatMap((c: any) => (c.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => [e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]));
      for (const v of pod.volumes.filter((v: any) => v.secret)) refs.push([v.secret.secretName, 'ca.crt']);
      const own = manifests.filter((m) => m.kind === 'Secret').map((m) => m.metadata.name as string);
      for (const [name, key] of refs) {
        if (own.includes(name)) continue;
        assert.ok(made.get(name)?.has(key), `the doc makes Secret ${name} with key ${key} (made: ${JSON.stringify([...made].map(([n, k]) => [n, [...k]]))})`);
      }
    }
  }
});

test('the objects the doc\'s kubectl lines name are the ones the chart makes', () => {
  const names = new Set(rendered.flatMap((manifests) => manifests.map((m) => `${(m.kind as string).toLowerCase()}/${m.metadata.name as string}`)));
  const statefulSets = rendered.flatMap((manifests) => manifests.filter((m) => m.kind === 'StatefulSet'));
  const referenced = [...DOC.matchAll(/\b(service|statefulset)\/([a-z0-9-]+)/g)].map((m) => `${m[1]}/${m[2]}`);
  assert.ok(referenced.length >= 2, referenced.join(', '));
  for (const r of referenced) assert.ok(names.has(r), `${r} is rendered (rendered: ${[...names].join(', ')})`);
  // The prose's `kubectl ... logs <pod> -c validate`: the first pod's init container.
  for (const [, pod, container] of DOC.matchAll(/kubectl -n streams logs ([a-z0-9-]+) -c ([a-z]+)/g)) {
    const sts = statefulSets.find((s) => pod === `${s.metadata.name}-0`);
    assert.ok(sts, `a StatefulSet whose first pod is ${pod}`);
    assert.ok(sts.spec.template.spec.initContainers.some((c: any) => c.name === container), `its init container ${container}`);
  }
  // port-forward to the client Service's port, where the curl lines then query.
  for (const [, service, , remote] of commands.join('\n').matchAll(/port-forward service\/([a-z0-9-]+) (\d+):(\d+)/g)) {
    const svc = rendered.flat().find((m) => m.kind === 'Service' && m.metadata.name === service);
    assert.equal(String(svc?.spec.ports[0].port), remote);
  }
});
