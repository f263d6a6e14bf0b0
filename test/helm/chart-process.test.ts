/**
 * The chart's production values rendered with 3 replicas and run as the pods would run, each a
 * local process at its own address (test/helm/pod.ts), against the test broker's SASL_SSL listener:
 * the init container validates, the probes answer, a key is served through another instance, a
 * rolling restart as the StatefulSet controller does it keeps every answer right or a 503 to
 * retry, the output topic ends with every word counted once, the `helm test` script passes, and
 * the init container stops a broken topology with a `file:line:col:` message.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Consumer, Producer } from 'kafkajs';
import { parseAllDocuments } from 'yaml';
import kafkajs from '../../engine/kafka/kafkajs.js';
import { BROKERS, connectBroker, RUN, until, withTimeout } from '../kafka/kafka-helpers.js';
import { ROOT } from '../root.js';
import { Pod, type Cluster, type Container, type PodSpec } from './pod.js';
import { tool } from './tools.js';

const NAMESPACE = 'streams';
const REPLICAS = 3;
const NAME = `helm-wc-${RUN}`;
const INPUT = `${NAME}-TextLinesTopic`;
const OUTPUT = `${NAME}-WordsWithCountsTopic`;
const SASL_BROKERS = `127.0.0.1:${process.env.KAFKA_SASL_PORT ?? '9094'}`;
const CA = join(process.env.KAFKA_CACHE_DIR ?? join(ROOT, 'kafka/.cache'), 'tls/ca.pem');
const TOKEN = randomBytes(16).toString('hex');

/** mulberry32: the words and lines are the same on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec: Record<string, unknown>;
}

function render(dir: string): Manifest[] {
  const topology = readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: ${NAME}`)
    .replace(/TextLinesTopic|WordsWithCountsTopic/g, (t) => `${NAME}-${t}`);
  const file = join(dir, 'topology.yaml');
  writeFileSync(file, topology);
  const text = execFileSync(tool('helm'), ['template', 'duality', join(ROOT, 'helm/duality'), '--namespace', NAMESPACE, '-f', join(ROOT, 'test/helm/values/production.yaml'), '--set-file', `topology=${file}`, '--set', `kafka.brokers=${SASL_BROKERS}`, '--set', `replicaCount=${REPLICAS}`], { encoding: 'utf8' });
  return parseAllDocuments(text).map((d) => d.toJS() as Manifest).filter((m) => m !== null);
}

const one = (ms: Manifest[], kind: string, pick: (m: Manifest) => boolean = () => true): Manifest => {
  const found = ms.filter((m) => m.kind === kind && pick(m));
  assert.equal(found.length, 1, `one ${kind} rendered`);
  return found[0]!;
};

interface Answer {
  status: number;
  retryAfter: string | null;
  servedBy: string | null;
  value: unknown;
  /** What a failed answer said. */
  error: unknown;
}

async function getKey(pod: Pod, port: number, word: string): Promise<Answer> {
  const r = await fetch(`http://${pod.ip}:${port}/tables/word-counts/keys/${word}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(10_000) });
  const body = (await r.json()) as { value?: unknown; error?: unknown };
  return { status: r.status, retryAfter: r.headers.get('retry-after'), servedBy: r.headers.get('duality-served-by'), value: body.value, error: body.error };
}

test('the production values, rendered with 3 replicas, run as pods: probes, forwarded queries, a rolling restart without a wrong answer, exactly-once counts, helm test and the init container', { timeout: 240_000 }, async (t) => {
  const started = Date.now();
  assert.ok(existsSync(CA), `no CA of the test broker at ${CA}: kafka/start.sh makes it; in another checkout, point KAFKA_CACHE_DIR at its kafka/.cache`);
  const { broker, missing } = await connectBroker('chart-process');
  if (missing) assert.fail(missing);
  const { admin } = broker!;
  const dir = mkdtempSync(join(tmpdir(), 'duality-chart-'));
  const pods: Pod[] = [];
  const clients: (Producer | Consumer)[] = [];
  let stopLoops = true;
  try {
    // 1. The manifests, and what a cluster would hold besides them.
    const manifests = render(dir);
    const set = one(manifests, 'StatefulSet');
    const spec = (set.spec.template as { spec: PodSpec }).spec;
    const claims = ((set.spec.volumeClaimTemplates as { metadata: { name: string } }[] | undefined) ?? []).map((c) => c.metadata.name);
    assert.deepEqual(claims, ['state']);
    assert.equal(set.spec.replicas, REPLICAS);
    const configMaps = Object.fromEntries(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => [m.metadata.name, m.data ?? {}]));
    const secrets = {
      'kafka-cluster-ca': { 'ca.crt': readFileSync(CA, 'utf8') },
      'duality-kafka-user': { password: 'duality-secret' },
      'duality-api': { token: TOKEN },
    };
    const main = spec.containers[0]!;
    const port = main.ports!.find((p) => p.name === 'http')!.containerPort;
    const host = (i: number): string => `${set.metadata.name}-${i}.${set.spec.serviceName as string}.${NAMESPACE}.svc.cluster.local`;
    const ip = (i: number): string => `127.0.0.${11 + i}`;
    const cluster: Cluster = {
      namespace: NAMESPACE,
      secrets,
      configMaps,
      // The image's entrypoint (Dockerfile): node /app/bin/duality.js.
      entrypoint: [process.execPath, join(ROOT, 'bin/duality.js')],
      hostEnv: {
        PATH: process.env.PATH ?? '',
        NODE_OPTIONS: `--import=${join(ROOT, 'test/helm/cluster-dns.mjs')}`,
        CLUSTER_DNS_HOSTS: JSON.stringify(Object.fromEntries(Array.from({ length: REPLICAS }, (_, i) => [host(i), ip(i)]))),
      },
    };
    for (let i = 0; i < REPLICAS; i++) pods.push(new Pod(cluster, spec, `${set.metadata.name}-${i}`, ip(i), join(dir, `pod-${i}`), claims));

    // 6 partitions: every instance owns tasks.
    await admin.createTopics({ topics: [{ topic: INPUT, numPartitions: 6 }], waitForLeaders: true });
    const producer = new kafkajs.Kafka({ clientId: `${NAME}-producer`, brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).producer();
    clients.push(producer);
    await producer.connect();
    const counts = new Map<string, number>();
    const rand = random(42);
    const produce = async (words: readonly string[], lines: number): Promise<void> => {
      const messages = Array.from({ length: lines }, () => {
        const line = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => words[Math.floor(rand() * words.length)]!);
        for (const w of line) counts.set(w, (counts.get(w) ?? 0) + 1);
        return { value: line.join(' ') };
      });
      await producer.send({ topic: INPUT, messages, acks: -1 });
    };
    const known = Array.from({ length: 30 }, (_, i) => `known${i}`);
    const flowing = Array.from({ length: 15 }, (_, i) => `flow${i}`);
    await produce(known, 600);
    const expectedKnown = new Map(known.map((w) => [w, counts.get(w)!]));

    // 2-4. Each pod: the init container, then the main container, ready by its startup probe.
    await Promise.all(pods.map((p) => p.start()));
    await Promise.all(pods.map((p) => p.waitFor(main.startupProbe!, 120_000)));
    // A pod started first is ready before the others join; their joining rebalances it, and its
    // readiness probe says 503 meanwhile, as kubelet's next probes would see: wait for them all.
    await Promise.all(pods.map((p) => p.waitFor(main.readinessProbe!, 120_000)));
    for (const p of pods) {
      for (const probe of [main.startupProbe!, main.livenessProbe!]) assert.equal((await fetch(p.probeUrl(probe))).status, 200, `${p.name}: ${p.probeUrl(probe)}`);
      p.ready = true;
    }
    assert.deepEqual([main.readinessProbe!.httpGet.path, main.livenessProbe!.httpGet.path], ['/readyz', '/healthz']);

    // 5. Every known word, from every instance, right; some served by another instance.
    const forwarded: string[] = [];
    await until(async () => {
      forwarded.length = 0;
      for (const [i, p] of pods.entries()) {
        for (const w of known) {
          const a = await getKey(p, port, w);
          if (a.status !== 200 || a.value !== expectedKnown.get(w)) return false;
          if (a.servedBy !== `${host(i)}:${port}`) forwarded.push(`${p.name} ${w} <- ${a.servedBy}`);
        }
      }
      return true;
    }, () => `every known word counted on every instance: ${pods.map((p) => p.output().slice(-1500)).join('\n')}`, 90_000);
    assert.ok(forwarded.some((f) => /<- duality-\d\.duality-headless\.streams\.svc\.cluster\.local:8080$/.test(f)), `some keys answered by another instance through its DNS name: ${forwarded.slice(0, 5).join(', ')}`);
    t.diagnostic(`forwarded answers before the restart: ${forwarded.length} of ${pods.length * known.length}`);

    // 6. The rolling restart, while lines flow and a client asks through the Service.
    stopLoops = false;
    const producing = (async () => {
      while (!stopLoops) {
        await produce(flowing, 20);
        await new Promise((r) => setTimeout(r, 100)); // pacing: 200 lines/s
      }
    })();
    const byStatus = new Map<string, number>();
    const failures: string[] = [];
    const querying = (async () => {
      let next = 0;
      for (let n = 0; !stopLoops; n++) {
        const ready = pods.filter((p) => p.ready);
        if (ready.length === 0) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const p = ready[next++ % ready.length]!;
        const w = known[n % known.length]!;
        try {
          const a = await getKey(p, port, w);
          const ok = (a.status === 200 && a.value === expectedKnown.get(w)) || (a.status === 503 && a.retryAfter !== null);
          byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1);
          if (!ok) failures.push(`${p.name} ${w}: ${a.status} ${JSON.stringify(a.value)} (want ${expectedKnown.get(w)}), retry-after ${a.retryAfter}, served by ${a.servedBy}, ${JSON.stringify(a.error)}`);
        } catch (e) {
          // Routed while still marked ready (its readiness probe passing): a Service would have sent it there.
          const key = p.ready ? 'error while ready' : 'error after marked not ready';
          byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
          if (p.ready) failures.push(`${p.name} ${w}: ${(e as Error).message} ${String((e as Error).cause ?? '')}`);
        }
      }
    })();
    const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
    for (const p of [...pods].reverse()) {
      const t0 = Date.now();
      const stopping = p.stop();
      // As the kubelet and the endpoints controller do: the pod leaves the Service once its
      // readiness probe fails (it says 503 for the rendered --shutdown-delay while it still serves).
      await until(async () => !(await p.probe(main.readinessProbe!)), () => `${p.name}'s readiness probe to fail after SIGTERM`, 10_000);
      p.ready = false;
      const exit = await stopping;
      assert.equal(exit.killed, false, `${p.name} stopped within terminationGracePeriodSeconds (${grace} ms)`);
      assert.equal(exit.code, 0, `${p.name} exit status: ${exit.output.slice(-3000)}`);
      const stopped = Date.now() - t0;
      await p.start();
      await p.waitFor(main.readinessProbe!, 120_000);
      p.ready = true;
      t.diagnostic(`${p.name}: stopped in ${stopped} ms, ready again ${Date.now() - t0} ms after SIGTERM`);
    }
    stopLoops = true;
    await withTimeout(Promise.all([producing, querying]), 30_000, 'the producer and the client to stop');
    t.diagnostic(`answers during the rolling restart by status: ${JSON.stringify(Object.fromEntries(byStatus))}`);
    assert.deepEqual(failures, [], `every answer right or 503 with Retry-After; the pods said:\n${pods.map((p) => p.output().slice(-3000)).join('\n')}`);
    assert.ok((byStatus.get('200') ?? 0) > 0, 'some answers during the restart');

    // 7. The output topic, read committed: every word counted exactly once.
    const consumer = new kafkajs.Kafka({ clientId: `${NAME}-verify`, brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING }).consumer({ groupId: `${NAME}-verify`, readUncommitted: false });
    clients.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: OUTPUT, fromBeginning: true });
    const last = new Map<string, number>();
    const over: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const word = message.key!.toString();
        const n = Number(message.value!.readBigInt64BE());
        last.set(word, n);
        if (n > (counts.get(word) ?? 0)) over.push(`${word}: ${n} > ${counts.get(word)}`);
      },
    });
    await until(() => [...counts].every(([w, n]) => last.get(w) === n), () => `final counts: ${[...counts].filter(([w, n]) => last.get(w) !== n).map(([w, n]) => `${w} ${last.get(w)} != ${n}`).join(', ')}`, 90_000);
    assert.deepEqual(over, [], 'no count above the number of occurrences (nothing doubled)');
    assert.deepEqual([...last.keys()].sort(), [...counts.keys()].sort());

    // The `helm test` pod's script, with the rendered test pod's env, against one instance (the client Service's stand-in).
    const testPod = one(manifests, 'Pod', (m) => m.metadata.name.endsWith('-test'));
    const testSpec = testPod.spec as unknown as PodSpec;
    const check = await new Pod(cluster, testSpec, testPod.metadata.name, ip(REPLICAS), join(dir, 'test-pod')).runOnce(testSpec.containers[0]!, 30_000, { DUALITY_URL: `http://${pods[0]!.ip}:${port}` });
    assert.equal(check.code, 0, check.output);
    assert.match(check.output, /ok: .* table word-counts answers/);

    // The init container stops a broken topology with where the mistake is.
    const topologyMap = spec.volumes!.find((v) => v.name === 'topology')!.configMap!;
    const text = configMaps[topologyMap.name]![topologyMap.items![0]!.key]!;
    const brokenCluster = { ...cluster, configMaps: { ...configMaps, [topologyMap.name]: { [topologyMap.items![0]!.key]: text.replace('value: long', 'value: lnog') } } };
    const validate = spec.initContainers!.find((c) => c.name === 'validate') as Container;
    const refused = await new Pod(brokenCluster, spec, `${set.metadata.name}-broken`, ip(REPLICAS), join(dir, 'broken')).runOnce(validate, 30_000);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /topology\.yaml:\d+:\d+: .*lnog/);
    t.diagnostic(`took ${Date.now() - started} ms`);
  } finally {
    stopLoops = true;
    // A clean stop leaves the groups empty, so they can be deleted; a pod that hangs is killed.
    await Promise.all(pods.filter((p) => p.running).map((p) => withTimeout(p.stop(), 15_000, `${p.name} to stop`).catch(() => p.kill())));
    for (const c of clients) await c.disconnect().catch(() => undefined);
    if (broker) {
      const groups = (await admin.listGroups().catch(() => ({ groups: [] }))).groups.map((g) => g.groupId).filter((g) => g.startsWith(NAME));
      // One at a time: kafkajs fails the whole call when one group cannot go (a killed pod's member not yet expired).
      for (const g of groups) await admin.deleteGroups([g]).catch(() => undefined);
      const topics = (await admin.listTopics().catch(() => [] as string[])).filter((n) => n.startsWith(NAME));
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await broker.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
