/**
 * What the queries tests on the real broker share: topologies renamed to this run's own `qtest-`
 * names, `duality run` instances as child processes (several of one file make one group), HTTP
 * reads of their API, and waits for their group and their input.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { ROOT } from '../root.js';
import { BROKERS, RUN, until } from './kafka-helpers.js';

/** A name for a topic or group that only this run of this test file uses. */
export const qname = (what: string): string => `qtest-${what}-${RUN}`;

export interface QApp {
  readonly name: string;
  readonly file: string;
  /** The topology's own topic names mapped to this run's. */
  readonly topics: ReadonlyMap<string, string>;
  readonly dir: string;
}

/**
 * topologies/`topology`.yaml named `name`, its external topics renamed `${name}-${topic}`, with
 * the `processing:` settings given; written to a temp dir that `cleanup` removes.
 */
export function renamed(topology: string, name: string, processing: Record<string, string | number> = {}): QApp {
  const dir = mkdtempSync(join(tmpdir(), 'duality-qtest-'));
  let text = readFileSync(join(ROOT, 'topologies', `${topology}.yaml`), 'utf8').replace(/^name: .*$/m, `name: ${name}`);
  const topics = new Map<string, string>();
  // `topic: X` of a source and `to: X` / `topic: X` of a sink, as wordcount-kafka.test.ts renames them.
  text = text.replace(/^(\s*(?:topic|to):[ \t]*)([A-Za-z0-9._-]+)[ \t]*$/gm, (_, head: string, topic: string) => {
    topics.set(topic, `${name}-${topic}`);
    return `${head}${name}-${topic}`;
  });
  const settings = Object.entries(processing);
  if (settings.length > 0) text += `processing:\n${settings.map(([k, v]) => `  ${k}: ${v}\n`).join('')}`;
  const file = join(dir, `${topology}.yaml`);
  writeFileSync(file, text);
  return { name, file, topics, dir };
}

export class Instance {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  exitCode: number | null | undefined;
  readonly exited: Promise<void>;
  url = '';
  /** Its advertised endpoint, what `Duality-Served-By` names. */
  endpoint = '';

  constructor(readonly n: number, readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => ((this.exitCode = code), resolve())));
    const into = (lines: string[]) => (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean));
    child.stdout!.on('data', into(this.stdout));
    child.stderr!.on('data', into(this.stderr));
  }

  /** What it said last, for failure messages. */
  said(): string {
    return `#${this.n} ${this.endpoint}${this.exitCode !== undefined ? ` (exited ${this.exitCode})` : ''}: ${this.stderr.slice(-6).join(' | ')}`;
  }

  async signal(sig: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    if (this.exitCode === undefined) this.child.kill(sig);
    await this.exited;
  }
}

export interface Answer {
  readonly status: number;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON to assert on
  readonly servedBy: string | null;
  readonly retryAfter: string | null;
}

/** One request to an instance; a connection error is a status 0 answer. */
export async function ask(at: Instance, path: string, post?: unknown): Promise<Answer> {
  try {
    const r = await fetch(`${at.url}${path}`, post === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(post) });
    const text = await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text for the message
    }
    return { status: r.status, body, servedBy: r.headers.get('duality-served-by'), retryAfter: r.headers.get('retry-after') };
  } catch (e) {
    return { status: 0, body: (e as Error).message, servedBy: null, retryAfter: null };
  }
}

/** Instances of apps, their state dirs and temp dirs, and the broker state, removed by `close`. */
export class QCluster {
  readonly instances: Instance[] = [];
  private readonly apps: QApp[] = [];

  constructor(private readonly admin: Admin) {}

  app(topology: string, what: string, processing: Record<string, string | number> = {}): QApp {
    const made = renamed(topology, qname(what), processing);
    this.apps.push(made);
    return made;
  }

  /** Instance `n` of `app` (`duality run`, its HTTP API on a free port, its own state dir); once it listens. */
  async start(app: QApp, n: number): Promise<Instance> {
    const state = join(app.dir, `state-${n}`);
    mkdirSync(state, { recursive: true });
    const args = ['run', app.file, '--brokers', BROKERS.join(','), '--port', '0', '--state-dir', state];
    const child = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    const i = new Instance(n, child);
    this.instances.push(i);
    await until(() => i.exitCode !== undefined || i.stdout.some((l) => / running on .*http:\/\//.test(l)), () => `instance ${n} to listen: ${i.said()}`, 30_000);
    if (i.exitCode !== undefined) throw new Error(`instance ${n} exited: ${i.said()}`);
    i.url = /http:\/\/[^\s,]+/.exec(i.stdout.find((l) => / running on /.test(l))!)![0];
    i.endpoint = i.url.slice('http://'.length);
    return i;
  }

  async close(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.signal('SIGKILL')));
    const names = this.apps.map((a) => a.name);
    await this.admin.deleteGroups(names).catch(() => undefined);
    const topics = (await this.admin.listTopics().catch(() => [] as string[])).filter((t) => names.some((n) => t.startsWith(`${n}-`)));
    if (topics.length > 0) await this.admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => undefined);
    for (const a of this.apps) rmSync(a.dir, { recursive: true, force: true });
  }
}

/** Waits until every instance's /readyz answers 200 and, where /instances exists, each lists exactly them. */
export async function settled(instances: readonly Instance[], ms = 120_000): Promise<void> {
  const want = instances.map((i) => i.endpoint).sort().join(' ');
  let last = '';
  await until(
    async () => {
      const dead = instances.find((i) => i.exitCode !== undefined);
      if (dead) throw new Error(`an instance exited: ${dead.said()}`);
      for (const i of instances) {
        if ((await ask(i, '/readyz')).status !== 200) return (last = `${i.endpoint} not ready`), false;
        const members = await ask(i, '/instances');
        if (members.status === 404) continue;
        const listed = (members.body?.instances ?? []).map((m: { endpoint: string }) => m.endpoint).sort().join(' ');
        if (listed !== want) return (last = `${i.endpoint} lists ${listed}`), false;
      }
      return true;
    },
    () => `the group to settle on ${want}: ${last}; ${instances.map((i) => i.said()).join(' // ')}`,
    ms,
  );
}

/** Waits until group `group` has committed every partition of its input and repartition topics to the end. */
export async function processedAll(admin: Admin, group: string, input: readonly string[], ms = 120_000): Promise<void> {
  let behind: string[] = [];
  await until(
    async () => {
      const topics = [...input, ...(await admin.listTopics()).filter((t) => t.startsWith(`${group}-`) && t.endsWith('-repartition'))];
      const committed = await admin.fetchOffsets({ groupId: group, topics });
      behind = [];
      for (const t of topics) {
        const offs = committed.find((c) => c.topic === t)?.partitions ?? [];
        for (const e of await admin.fetchTopicOffsets(t)) {
          const at = Math.max(0, Number(offs.find((o) => o.partition === e.partition)?.offset ?? 0));
          if (at < Number(e.high)) behind.push(`${t}:${e.partition} ${at}/${e.high}`);
        }
      }
      return behind.length === 0;
    },
    () => `${group} to commit all its input: ${behind.join(', ')}`,
    ms,
  );
}
