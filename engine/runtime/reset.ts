import { readdir, rm, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DualityError } from '../api/diagnostics.js';
import type { Log } from '../api/log.js';
import type { TopologyGraph } from '../api/topology-graph.js';
import { appDir, lockStateDir, type StateDirLock } from '../state/state-dir.js';
import { compileOrSay, openLog } from './open-log.js';
import { readRecorded, topologyTopic } from '../upgrades/recorded.js';
import { Progress, PROGRESS_EVERY_MS } from './progress.js';
import type { RunOptions } from './run.js';

export type ResetOptions = Omit<RunOptions, 'port' | 'host'>;

/** How long a deleted topic may still be listed before the reset gives up waiting (Kafka deletes asynchronously). */
const DELETE_WAIT_MS = 10_000;

/**
 * `duality reset`, Kafka's kafka-streams-application-reset for a topology: rewinds the group's
 * offsets on the source topics to their start, deletes the internal topics (repartition topics,
 * changelogs, those earlier versions left behind, and the record of what they hold) and the local
 * state `<stateDir>/<name>`, so the next run reprocesses the input from scratch. Output topics and the dead-letter topic are left alone. Refuses, changing nothing, while
 * the topology runs: here (the state directory's lock) or anywhere else on Kafka (the group has
 * live members). Running it twice is harmless. Resolves with the exit status: 0 when reset, 1 for
 * an invalid topology, a refusal or a failure, 2 for a usage error.
 */
export async function resetTopology(o: ResetOptions): Promise<number> {
  const compiled = compileOrSay(o.file, o.env, o.out);
  if (!compiled) return 1;
  const { graph, out } = compiled;
  const dir = appDir(o.stateDir, graph.name);
  let lock: StateDirLock;
  try {
    lock = await lockStateDir(o.stateDir, graph.name);
  } catch (e) {
    out.stderr(`duality: cannot reset ${graph.name}${e instanceof DualityError ? ' while it runs' : ''}: ${(e as Error).message}`);
    return 1;
  }
  try {
    const opened = await openLog(graph, { ...(o.brokers !== undefined && { brokers: o.brokers }), ...(o.security !== undefined && { security: o.security }), stateDir: o.stateDir, env: o.env, stderr: (l) => out.stderr(l) });
    if ('exit' in opened) return opened.exit;
    const { log, where } = opened;
    try {
      out.stdout(`duality: resetting ${graph.name} on ${where}`);
      const members = await log.groupMembers(graph.name);
      if (members > 0) {
        out.stderr(
          `duality: cannot reset ${graph.name}: its consumer group "${graph.name}" has ${members} live member${members === 1 ? '' : 's'}; ` +
            'stop every instance of the topology first (a killed one leaves the group when its session times out)',
        );
        return 1;
      }
      await resetLog(graph, log, (l) => out.stdout(l));
    } finally {
      await log.close().catch(() => undefined);
    }
    const tasks = (await readdir(dir)).filter((f) => f !== basename(lock.path));
    for (const t of tasks) await rm(join(dir, t), { recursive: true, force: true });
    out.stdout(tasks.length > 0 ? `deleted local state ${dir} (${tasks.sort().join(', ')})` : `no local state in ${dir}`);
    out.stdout(`duality: ${graph.name} is reset; its next run processes its input from the start`);
    return 0;
  } catch (e) {
    out.stderr(`duality: resetting ${graph.name} failed: ${e instanceof Error ? e.message : String(e)}; what was done is printed above, and running reset again finishes it`);
    return 1;
  } finally {
    await lock.release();
    // The lock made the directory if there was none; it goes too once empty.
    await rmdir(dir).catch(() => undefined);
  }
}

/**
 * The log's part of a reset: the group's offsets on the source topics back to the start, the
 * internal topics deleted, saying how far along the deletion is at most every `everyMs` and at the end.
 */
export async function resetLog(graph: TopologyGraph, log: Log, say: (line: string) => void, everyMs = PROGRESS_EVERY_MS): Promise<void> {
  for (const t of graph.topics.filter((x) => x.role === 'source')) {
    const rewound = await log.rewindGroup(graph.name, [t.name]);
    if (rewound.length === 0) say(`source topic ${t.name} does not exist: no offsets to rewind`);
    else say(`rewound group ${graph.name} on ${t.name} to the start: ${rewound.map((r) => `partition ${r.partition} at offset ${r.offset}`).join(', ')}`);
  }
  // A user's topic is never deleted, whatever its name.
  const user = new Set(graph.topics.filter((x) => !x.internal).map((x) => x.name));
  // Those earlier versions used and this one does not (docs/upgrades.md) go too, then the record of them.
  const recorded = await readRecorded(log, graph.name).catch(() => undefined);
  const retired = recorded ? [...Object.values(recorded.retired.stores).map((s) => s.changelog), ...Object.keys(recorded.retired.repartitions)] : [];
  const internal = [...new Set([...graph.topics.filter((x) => x.internal).map((x) => x.name), ...graph.stores.map((s) => s.changelogTopic), ...retired, topologyTopic(graph.name)])].filter((t) => !user.has(t));
  const present: string[] = [];
  for (const t of internal) {
    if ((await log.partitions(t)) !== undefined) present.push(t);
    else say(`internal topic ${t} does not exist: nothing to delete`);
  }
  if (present.length === 0) return;
  // Their records (offsets), for the progress: what a big changelog costs is its deletion.
  const records = new Map<string, number>();
  for (const t of present) records.set(t, (await log.endOffsets(t)).reduce((a, b) => a + b, 0));
  const total = [...records.values()].reduce((a, b) => a + b, 0);
  const progress = new Progress('deleting internal topics', say, everyMs);
  let done = 0;
  await log.deleteTopics(present);
  const deadline = Date.now() + DELETE_WAIT_MS;
  for (const t of present) {
    while ((await log.partitions(t)) !== undefined) {
      if (Date.now() > deadline) throw new Error(`internal topic ${t} is still there ${DELETE_WAIT_MS / 1000} s after deleting it`);
      await new Promise((r) => setTimeout(r, 100));
    }
    say(`deleted internal topic ${t}`);
    progress.update((done += records.get(t)!), total);
  }
  progress.finish();
}
