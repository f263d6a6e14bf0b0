/**
 * The Helm chart (helm/duality) as helm v4 and the Kubernetes API schemas see it, without a
 * cluster: `helm lint --strict`, `helm template` of every values file in test/helm/values/,
 * the rendered manifests validated by kubernetes-validate against the oldest Kubernetes the chart
 * supports (Chart.yaml's kubeVersion) and the newest, and each values file in test/helm/invalid/
 * refused with the message its `# expect:` line names. The ServiceMonitor, a custom resource
 * kubernetes-validate has no schema for, is checked against the Prometheus Operator's own CRD. The
 * tools and the CRD come from .ci/tools.sh.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { Ajv } from 'ajv';
import { ROOT } from '../root.js';
import { tool } from './tools.js';

const CHART = join(ROOT, 'helm/duality');
const VALUES = join(ROOT, 'test/helm/values');
const INVALID = join(ROOT, 'test/helm/invalid');
const TOPOLOGY = join(ROOT, 'topologies/wordcount.yaml');
/** The newest Kubernetes whose schemas kubernetes-validate has. */
const NEWEST = '1.37.0';

const helm = tool('helm');
const validator = tool('kubernetes-validate');

/**
 * The ServiceMonitor CRD's schema, made strict as kubernetes-validate --strict is: a field the
 * schema does not name is an error (the API server would drop it silently).
 */
const serviceMonitorSchema = ((): object => {
  const crd = parse(readFileSync(tool('servicemonitor-crd'), 'utf8')) as { spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] } };
  const strict = (s: any): any => {
    if (Array.isArray(s)) return s.map(strict);
    if (s === null || typeof s !== 'object') return s;
    const out: any = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, ps]) => [p, strict(ps)])) : strict(v)]));
    if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
    return out;
  };
  return strict(crd.spec.versions.find((v) => v.name === 'v1')!.schema.openAPIV3Schema);
})();
const checkServiceMonitor = new Ajv({ strict: false, validateFormats: false, allErrors: true }).compile(serviceMonitorSchema);
const tmp = mkdtempSync(join(tmpdir(), 'duality-chart-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `helm template` of the chart with these arguments: the manifests, or what helm said on failure. */
function render(args: string[]): { ok: true; manifests: string } | { ok: false; error: string } {
  const r = spawnSync(helm, ['template', 'duality', CHART, '--namespace', 'streams', ...args], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? { ok: true, manifests: r.stdout } : { ok: false, error: `${r.stderr}${r.stdout}`.trim() };
}

/** The oldest Kubernetes the chart supports, from Chart.yaml's `kubeVersion: ">=X.Y.Z-0"`. */
function oldestKubernetes(): string {
  const m = /^kubeVersion:\s*"?>=\s*([0-9]+\.[0-9]+\.[0-9]+)/m.exec(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
  assert.ok(m, 'Chart.yaml states the oldest Kubernetes it supports as kubeVersion: ">=X.Y.Z-0"');
  return m[1]!;
}

/**
 * The arguments a values file is rendered with: the topology from a file, unless the values name a
 * ConfigMap (and say no `# with-topology`) or say `# no-topology`.
 */
function argsFor(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const own = (/^existingConfigMap:\s*\S/m.test(text) && !/^# with-topology/m.test(text)) || /^# no-topology/m.test(text);
  return ['-f', file, ...(own ? [] : ['--set-file', `topology=${TOPOLOGY}`])];
}

const OLDEST = oldestKubernetes();
const valid = readdirSync(VALUES).filter((f) => f.endsWith('.yaml')).sort();

test('helm lint --strict passes with every values file', () => {
  assert.ok(valid.length >= 3, `values files in ${VALUES}`);
  for (const f of valid) {
    const r = spawnSync(helm, ['lint', '--strict', CHART, ...argsFor(join(VALUES, f))], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `helm lint --strict with ${f}:\n${r.stdout}${r.stderr}`);
  }
});

for (const f of valid) {
  test(`${f}: renders, and kubernetes-validate --strict accepts the manifests for Kubernetes ${OLDEST} and ${NEWEST}`, () => {
    const r = render(argsFor(join(VALUES, f)));
    assert.ok(r.ok, r.ok ? '' : r.error);
    const kinds = parseAllDocuments(r.manifests).map((d) => (d.toJS() as { kind?: string } | null)?.kind).filter((k) => k !== undefined);
    assert.ok(kinds.includes('StatefulSet') && kinds.includes('Service'), `kinds rendered: ${kinds.join(', ')}`);
    const file = join(tmp, `${f}.rendered.yaml`);
    writeFileSync(file, r.manifests);
    for (const version of [OLDEST, NEWEST]) {
      const v = spawnSync(validator, ['--strict', '--kubernetes-version', version, file], { encoding: 'utf8', timeout: 120_000 });
      // Custom resources (the ServiceMonitor) have no schema there, a warning; the CRD checks it below.
      const problems = `${v.stdout}${v.stderr}`.split('\n').filter((l) => /^(ERROR|WARN|FAIL)/.test(l) && !/kind ServiceMonitor with api version monitoring\.coreos\.com\/v1/.test(l));
      assert.equal(v.status, 0, `kubernetes-validate ${version} on ${f}:\n${v.stdout}${v.stderr}`);
      assert.deepEqual(problems, [], `kubernetes-validate ${version} on ${f}`);
    }
    for (const doc of parseAllDocuments(r.manifests).map((d) => d.toJS() as Record<string, any> | null)) {
      if (doc?.kind !== 'ServiceMonitor') continue;
      assert.equal(doc.apiVersion, 'monitoring.coreos.com/v1');
      assert.ok(checkServiceMonitor(doc), `the ServiceMonitor of ${f} against the CRD: ${JSON.stringify(checkServiceMonitor.errors)}`);
    }
  });
}

test('the production values render what a platform team asks for', () => {
  const r = render(argsFor(join(VALUES, 'production.yaml')));
  assert.ok(r.ok, r.ok ? '' : r.error);
  const docs = parseAllDocuments(r.manifests).map((d) => d.toJS() as Record<string, any>).filter((d) => d !== null);
  const kinds = docs.map((d) => d.kind as string).sort();
  for (const k of ['ConfigMap', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet']) assert.ok(kinds.includes(k), `${k} among ${kinds.join(', ')}`);
  // Existing Secrets are named, none is made.
  assert.ok(!kinds.includes('Secret') || docs.filter((d) => d.kind === 'Secret').every((d) => d.metadata.name.endsWith('-test')), 'no Secret holds a credential from values');
  const sts = docs.find((d) => d.kind === 'StatefulSet')!;
  assert.equal(sts.spec.replicas, 3);
  assert.equal(sts.spec.podManagementPolicy, 'Parallel');
  const pod = sts.spec.template.spec;
  const main = pod.containers[0];
  assert.ok(main.args.includes('--guarantee=exactly_once') && main.args.includes('--standby-replicas=1') && main.args.includes('--max-task-idle=500ms') && main.args.includes('--cache-max-bytes=64MiB'), main.args.join(' '));
  const env = new Map<string, any>(main.env.map((e: any) => [e.name, e]));
  assert.equal(env.get('DUALITY_ADVERTISE').value, '$(POD_NAME).duality-headless.$(POD_NAMESPACE).svc.cluster.local:8080');
  assert.deepEqual(env.get('KAFKA_SASL_PASSWORD').valueFrom, { secretKeyRef: { name: 'duality-kafka-user', key: 'password' } });
  assert.deepEqual(env.get('DUALITY_API_TOKEN').valueFrom, { secretKeyRef: { name: 'duality-api', key: 'token' } });
  assert.equal(main.readinessProbe.httpGet.path, '/readyz');
  assert.equal(main.startupProbe.httpGet.path, '/readyz');
  assert.equal(main.livenessProbe.httpGet.path, '/healthz');
  assert.deepEqual(pod.initContainers[0].args, ['validate', '/etc/duality/topology/topology.yaml']);
  // Restricted: non-root, read-only root filesystem, no capabilities, the runtime's seccomp profile.
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  for (const c of [main, pod.initContainers[0]]) {
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  }
  assert.ok(main.volumeMounts.some((m: any) => m.mountPath === '/tmp'), 'a writable /tmp');
  assert.equal(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, '50Gi');
  const headless = docs.find((d) => d.kind === 'Service' && d.spec.clusterIP === 'None');
  assert.equal(headless?.metadata.name, 'duality-headless');
  assert.equal(sts.spec.serviceName, 'duality-headless');
});

test('a changed topology changes the pods\' checksum annotation, so they roll', () => {
  const annotation = (topology: string): string => {
    const file = join(tmp, 'changed.yaml');
    writeFileSync(file, topology);
    const r = render(['-f', join(VALUES, 'minimal.yaml'), '--set-file', `topology=${file}`]);
    assert.ok(r.ok, r.ok ? '' : r.error);
    const sts = parseAllDocuments(r.manifests).map((d) => d.toJS() as Record<string, any>).find((d) => d?.kind === 'StatefulSet')!;
    return sts.spec.template.metadata.annotations['checksum/topology'];
  };
  const text = readFileSync(TOPOLOGY, 'utf8');
  assert.notEqual(annotation(text), annotation(text.replace('WordsWithCountsTopic', 'WordCounts')));
  assert.equal(annotation(text), annotation(text));
});

for (const f of readdirSync(INVALID).filter((n) => n.endsWith('.yaml')).sort()) {
  test(`invalid values ${f} are refused with a clear message`, () => {
    const file = join(INVALID, f);
    const expect = /^# expect: (.+)$/m.exec(readFileSync(file, 'utf8'))?.[1];
    assert.ok(expect, `${f} has an "# expect: <part of the message>" line`);
    const r = render(argsFor(file));
    assert.equal(r.ok, false, `${f} rendered`);
    if (!r.ok) assert.ok(r.error.includes(expect), `helm's message for ${f} names "${expect}":\n${r.error}`);
  });
}

test('--set replicaCount=many is refused by values.schema.json', () => {
  const r = render(['-f', join(VALUES, 'minimal.yaml'), '--set-file', `topology=${TOPOLOGY}`, '--set', 'replicaCount=many']);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error, /\/replicaCount': got string, want integer/);
});

test('NOTES.txt tells how to reach the API and query a table, with the token when there is one', () => {
  // helm template leaves NOTES.txt out; a client-side dry run of an install prints it, no cluster needed.
  const out = execFileSync(helm, ['install', 'duality', CHART, '--dry-run=client', '--namespace', 'streams', '-f', join(VALUES, 'production.yaml'), '--set-file', `topology=${TOPOLOGY}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const notes = out.slice(out.indexOf('\nNOTES:\n'));
  assert.ok(notes.length > 10, out);
  assert.match(notes, /kubectl -n streams port-forward service\/duality 8080:8080/);
  assert.match(notes, /get secret duality-api -o jsonpath='\{\.data\.token\}'/);
  assert.match(notes, /curl -H "Authorization: Bearer \$DUALITY_API_TOKEN" http:\/\/127\.0\.0\.1:8080\/tables\/TABLE\/keys\/KEY/);
});
