/**
 * Duality instances on Kafka for the queries bench: `duality run` of wordcount.yaml renamed for
 * one group, several processes of the same file, each with its own state dir and HTTP port.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { BROKERS, sleep, type Cleanup } from '../kafka/cluster.js';
import { Proc, ROOT } from '../kafka/contenders.js';

export interface Instance {
  readonly proc: Proc;
  /** `http://127.0.0.1:port` */
  readonly url: string;
  /** What it advertises: `127.0.0.1:port`, the `Duality-Served-By` of its answers. */
  readonly endpoint: string;
}

export interface App {
  /** The topology's name: its group, and the prefix of its internal topics. */
  readonly name: string;
  readonly input: string;
  readonly file: string;
  readonly dir: string;
}

/** wordcount.yaml as `name`, exactly-once, reading `input`, writing `${name}-counts`, with `standbyReplicas`. */
export function wordcountApp(name: string, input: string, dir: string, standbyReplicas: number): App {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'wordcount.yaml');
  const yaml = readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: ${name}`)
    .replace('topic: TextLinesTopic', `topic: ${input}`)
    .replace('topic: WordsWithCountsTopic', `topic: ${name}-counts`);
  // Exactly-once, so that every count can be checked: under at-least-once a rebalance while the
  // input is counted may count some words twice (seen: 4 where 3 was right), which that guarantee allows.
  writeFileSync(file, `${yaml}processing:\n  guarantee: exactly_once\n${standbyReplicas > 0 ? `  standbyReplicas: ${standbyReplicas}\n` : ''}`);
  return { name, input, file, dir };
}

/** Instance `n` of `app`: its HTTP API on a free port, its state in `app.dir/state-n`. */
export async function startInstance(app: App, n: number, cleanup: Cleanup): Promise<Instance> {
  const args = [join(ROOT, 'bin/duality.js'), 'run', app.file, '--brokers', BROKERS, '--port', '0', '--state-dir', join(app.dir, `state-${n}`)];
  const child = cleanup.child(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } }));
  const proc = new Proc(`duality ${app.name}#${n}`, child, process.env.DUALITY_BENCH_LOG);
  const { line } = await proc.line(/ running on .*http:\/\//, 30_000);
  const url = /http:\/\/[^\s,]+/.exec(line)![0];
  return { proc, url, endpoint: url.slice('http://'.length) };
}

/** The group's members as `GET /instances` of `at` lists them; undefined when the route is missing or fails. */
export async function members(at: Instance): Promise<{ endpoint: string; active: string[]; standby: string[] }[] | undefined> {
  const r = await fetch(`${at.url}/instances`).catch(() => undefined);
  if (r?.status !== 200) return undefined;
  return ((await r.json()) as { instances: { endpoint: string; active: string[]; standby: string[] }[] }).instances;
}

/**
 * Whether the group has settled on exactly `instances`: every one ready and (where `/instances`
 * exists) listed by each, with every task active somewhere and, when `standbys`, a standby copy of
 * every task that has stores somewhere.
 */
export async function isSettled(instances: readonly Instance[], standbys: boolean): Promise<boolean> {
  const ready = await Promise.all(instances.map((i) => fetch(`${i.url}/readyz`).then((r) => r.status === 200, () => false)));
  if (!ready.every(Boolean)) return false;
  const want = instances.map((i) => i.endpoint).sort().join(' ');
  const views = await Promise.all(instances.map(members));
  return views.every((v) => {
    if (v === undefined) return true;
    const active = v.flatMap((m) => m.active);
    const standby = v.flatMap((m) => m.standby);
    // Copies are kept of the tasks of sub-topologies with stores only (`1_3`: sub-topology 1).
    const stateful = new Set(standby.map((t) => t.split('_')[0]));
    const copied = active.filter((t) => stateful.has(t.split('_')[0])).every((t) => standby.includes(t));
    return v.map((m) => m.endpoint).sort().join(' ') === want && active.length > 0 && (!standbys || (standby.length > 0 && copied));
  });
}

/** Resolves once `isSettled`; fails when an instance exits. */
export async function settled(instances: readonly Instance[], standbys: boolean, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const i of instances) {
      const why = i.proc.failure();
      if (why) throw new Error(why);
    }
    if (await isSettled(instances, standbys)) return;
    if (Date.now() > deadline) throw new Error(`the group did not settle on ${instances.map((i) => i.endpoint).join(', ')} within ${timeoutMs / 1000} s; /instances: ${JSON.stringify(await members(instances[0]!))}`);
    await sleep(200);
  }
}

/** Resolves once the group `group` has committed every partition of `topics` up to its end. */
export async function caughtUp(admin: Admin, group: string, topics: () => Promise<string[]>, failed: () => string | undefined, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let behind: string[] = [];
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    behind = [];
    const names = await topics();
    const committed = await admin.fetchOffsets({ groupId: group, topics: names });
    for (const t of names) {
      const ends = await admin.fetchTopicOffsets(t);
      const offs = committed.find((c) => c.topic === t)?.partitions ?? [];
      for (const e of ends) {
        const at = Math.max(0, Number(offs.find((o) => o.partition === e.partition)?.offset ?? 0));
        if (at < Number(e.high)) behind.push(`${t}:${e.partition} ${at}/${e.high}`);
      }
    }
    if (behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${group} did not process its input within ${timeoutMs / 1000} s: ${behind.join(', ')}`);
    await sleep(500);
  }
}
