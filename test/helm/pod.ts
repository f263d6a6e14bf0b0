/**
 * A rendered pod run as local processes, the way a kubelet would run it: the environment built in
 * order (values, fieldRefs, secretKeyRefs, `$(VAR)` expansion), the volumes materialised as
 * directories (configMap, secret, emptyDir, and the StatefulSet's volumeClaimTemplates as one
 * directory per pod that outlives its restarts), the init containers run to completion before the
 * main container, and httpGet probes at the pod's own address.
 *
 * The pod's file system is the host's, so each mountPath is mapped to its directory and every arg
 * or env value (or `--option=` value) that starts with a mountPath is rewritten to that directory;
 * with the listen address (`--host=0.0.0.0` -> the pod's IP), those are the only rewrites of what
 * was rendered. A path outside every mount would be the image's own file system: such a run fails
 * where it would in the pod, or writes where the pod could not (readOnlyRootFilesystem).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}
export interface Probe {
  httpGet: { path: string; port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
}
export interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
export interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  emptyDir?: object;
}
export interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
}
/** Name -> key -> value: the Secrets and ConfigMaps the cluster holds. */
export type Objects = Record<string, Record<string, string>>;

export interface Cluster {
  namespace: string;
  secrets: Objects;
  configMaps: Objects;
  /** What the image runs (its entrypoint), before the container's args. */
  entrypoint: string[];
  /** Extra environment of every process (e.g. NODE_OPTIONS for the cluster's DNS). */
  hostEnv: Record<string, string>;
}

/** Kubernetes' `$(VAR)` expansion: `$$` is a literal `$`, a reference to an unknown name stays as written. */
export function expand(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) => {
    if (name === undefined) return '$';
    return vars.get(name) ?? all;
  });
}

/** A container's environment, built in order: each value may refer to the ones before it. */
export function containerEnv(env: EnvVar[] | undefined, fields: Record<string, string>, secrets: Objects): Map<string, string> {
  const vars = new Map<string, string>();
  for (const e of env ?? []) {
    if (e.value !== undefined) vars.set(e.name, expand(e.value, vars));
    else if (e.valueFrom?.fieldRef) {
      const v = fields[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) throw new Error(`env ${e.name}: no field ${e.valueFrom.fieldRef.fieldPath}`);
      vars.set(e.name, v);
    } else if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const v = secrets[name]?.[key];
      // A kubelet does not start a container whose secretKeyRef is missing (CreateContainerConfigError).
      if (v === undefined) throw new Error(`env ${e.name}: Secret ${name} has no key ${key}`);
      vars.set(e.name, v);
    } else vars.set(e.name, '');
  }
  return vars;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** One pod; a StatefulSet's (`<set>-<ordinal>`) keeps its claims' directories across restarts. */
export class Pod {
  private child: ChildProcess | undefined;
  private exited: Promise<Exit> | undefined;
  private out = '';
  /** Set by the controller: a Service routes to the pod only while true. */
  ready = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly spec: PodSpec,
    readonly name: string,
    readonly ip: string,
    private readonly dir: string,
    claims: readonly string[] = [],
  ) {
    for (const c of claims) mkdirSync(join(dir, 'claims', `${c}-${this.name}`), { recursive: true });
    this.claims = new Set(claims);
  }
  private readonly claims: Set<string>;

  /** The volumes of a new pod instance: claims are kept, the rest is made afresh. */
  private mountVolumes(): Map<string, string> {
    const dirs = new Map<string, string>();
    const fresh = join(this.dir, 'volumes');
    rmSync(fresh, { recursive: true, force: true });
    for (const c of this.claims) dirs.set(c, join(this.dir, 'claims', `${c}-${this.name}`));
    for (const v of this.spec.volumes ?? []) {
      const d = join(fresh, v.name);
      mkdirSync(d, { recursive: true });
      dirs.set(v.name, d);
      const source = v.configMap ? this.cluster.configMaps[v.configMap.name] : v.secret ? this.cluster.secrets[v.secret.secretName] : undefined;
      const items = v.configMap?.items ?? v.secret?.items;
      if (v.emptyDir) continue;
      const what = v.configMap ? `ConfigMap ${v.configMap.name}` : `Secret ${v.secret?.secretName}`;
      if (!source) throw new Error(`volume ${v.name}: no ${what}`);
      for (const { key, path } of items ?? Object.keys(source).map((k) => ({ key: k, path: k }))) {
        if (source[key] === undefined) throw new Error(`volume ${v.name}: ${what} has no key ${key}`);
        writeFileSync(join(d, path), source[key]!);
      }
    }
    return dirs;
  }

  /** The process of a container: its args and env with mount paths (and the listen address) made local. */
  private command(c: Container, volumes: Map<string, string>): { argv: string[]; env: Record<string, string> } {
    const mounts = (c.volumeMounts ?? []).map((m) => {
      const dir = volumes.get(m.name);
      if (dir === undefined) throw new Error(`container ${c.name}: no volume ${m.name}`);
      return { path: m.mountPath, dir };
    }).sort((a, b) => b.path.length - a.path.length);
    const local = (s: string): string => {
      // An option's value counts as the value: `--state-dir=/var/lib/duality`.
      const at = /^--[^=]+=/.exec(s)?.[0].length ?? 0;
      const value = s.slice(at);
      const m = mounts.find((x) => value === x.path || value.startsWith(`${x.path}/`));
      return m ? s.slice(0, at) + m.dir + value.slice(m.path.length) : s;
    };
    const vars = containerEnv(c.env, { 'metadata.name': this.name, 'metadata.namespace': this.cluster.namespace, 'status.podIP': this.ip }, this.cluster.secrets);
    const env: Record<string, string> = { ...this.cluster.hostEnv };
    for (const [k, v] of vars) env[k] = local(v);
    const args = [...(c.command ?? []), ...(c.args ?? [])].map((a) => expand(a, vars)).map((a) => (a === '--host=0.0.0.0' ? `--host=${this.ip}` : local(a)));
    return { argv: [...(c.command ? [] : this.cluster.entrypoint), ...args], env };
  }

  /** `overrides`: env values set after the rendered ones (a stand-in for what a cluster would route). */
  private spawn(c: Container, volumes: Map<string, string>, overrides: Record<string, string> = {}): { child: ChildProcess; exited: Promise<Exit> } {
    const { argv, env } = this.command(c, volumes);
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...env, ...overrides }, stdio: ['ignore', 'pipe', 'pipe'] });
    const tag = `[${this.name}/${c.name}] `;
    const keep = (d: Buffer): void => {
      this.out += d.toString().replace(/^(?=.)/gm, tag);
      if (this.out.length > 200_000) this.out = this.out.slice(-100_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<Exit>((r) => child.on('exit', (code, signal) => r({ code, signal, output: this.out })));
    return { child, exited };
  }

  /** A new pod instance: each init container to exit 0 (else the pod never starts), then the main container. */
  async start(initTimeoutMs = 60_000): Promise<void> {
    const volumes = this.mountVolumes();
    for (const init of this.spec.initContainers ?? []) {
      const exit = await this.runToEnd(init, volumes, initTimeoutMs);
      if (exit.code !== 0) throw new Error(`init container ${init.name} of ${this.name} exited ${exit.code ?? exit.signal}: ${exit.output}`);
    }
    const { child, exited } = this.spawn(this.spec.containers[0]!, volumes);
    this.child = child;
    this.exited = exited;
  }

  /** One container alone, to its end: an init container, or a run-once pod's (a `helm test` pod). */
  async runOnce(c: Container, timeoutMs = 60_000, env: Record<string, string> = {}): Promise<Exit> {
    return this.runToEnd(c, this.mountVolumes(), timeoutMs, env);
  }

  private async runToEnd(c: Container, volumes: Map<string, string>, timeoutMs: number, env: Record<string, string> = {}): Promise<Exit> {
    const { child, exited } = this.spawn(c, volumes, env);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The kubelet's stop: SIGTERM, SIGKILL after the grace period. Resolves with how it ended. */
  async stop(): Promise<Exit & { killed: boolean }> {
    if (!this.child || !this.exited) throw new Error(`${this.name} is not running`);
    const grace = (this.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    let killed = false;
    const timer = setTimeout(() => ((killed = true), this.child!.kill('SIGKILL')), grace);
    this.child.kill('SIGTERM');
    try {
      return { ...(await this.exited), killed };
    } finally {
      clearTimeout(timer);
      this.child = undefined;
    }
  }

  /** Cleanup: no grace. */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  /** The URL of a probe's httpGet at this pod's address, its port resolved by name. */
  probeUrl(p: Probe): string {
    const c = this.spec.containers[0]!;
    const port = typeof p.httpGet.port === 'number' ? p.httpGet.port : c.ports?.find((x) => x.name === p.httpGet.port)?.containerPort;
    if (port === undefined) throw new Error(`probe port ${p.httpGet.port} is not a port of ${c.name}`);
    return `http://${this.ip}:${port}${p.httpGet.path}`;
  }

  /** One probe, as the kubelet counts it: success is a status in 200..399 within timeoutSeconds. */
  async probe(p: Probe): Promise<boolean> {
    try {
      const r = await fetch(this.probeUrl(p), { signal: AbortSignal.timeout((p.timeoutSeconds ?? 1) * 1000) });
      await r.arrayBuffer();
      return r.status >= 200 && r.status < 400;
    } catch {
      return false;
    }
  }

  /** Until the probe passes once, polled every `periodMs` (at most its periodSeconds), within `timeoutMs`. */
  async waitFor(p: Probe, timeoutMs: number, periodMs = Math.min(500, (p.periodSeconds ?? 10) * 1000)): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.probe(p))) {
      if (!this.running) throw new Error(`${this.name} exited while waiting for ${p.httpGet.path}: ${this.out.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: ${this.probeUrl(p)} did not pass within ${timeoutMs} ms: ${this.out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, periodMs));
    }
  }
}
