/**
 * The contenders of the Kafka benches, each a child process: `duality run` on a copy of
 * topologies/wordcount.yaml, Kafka Streams' WordCount (bench/kstreams/, built once with Maven),
 * and kafkajs alone (kafkajs-consume.ts). Each says when it is ready: Duality's /readyz answers
 * 200, Kafka Streams reaches RUNNING, kafkajs joins its group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureMavenJar } from './maven.js';
import { BROKERS, Cleanup, sleep } from './cluster.js';
import { environment, environmentLines, type Environment } from './report.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const KSTREAMS = join(ROOT, 'bench/kstreams');
const JAR = join(KSTREAMS, 'target/kstreams-wordcount.jar');
/** The unit of /proc's CPU times (USER_HZ): 100 on Linux for x86 and arm. */
const CLOCK_TICKS = 100;

/** A child process with its output in lines, stopped with SIGTERM (then SIGKILL) by `stop`. */
export class Proc {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  exitCode: number | null | undefined;
  readonly exited: Promise<number | null>;
  private readonly waiters: (() => void)[] = [];

  /** `log`: a file that gets a copy of every line the process prints (DUALITY_BENCH_LOG). */
  constructor(readonly label: string, private readonly child: ChildProcess, log?: string) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((this.exitCode = code ?? (signal ? null : 0)))));
    void this.exited.then(() => this.wake());
    const lines = (into: string[]) => {
      let rest = '';
      return (d: Buffer): void => {
        const parts = (rest + d.toString()).split('\n');
        rest = parts.pop()!;
        into.push(...parts);
        if (log !== undefined && parts.length > 0) appendFileSync(log, `${parts.join('\n')}\n`);
        this.wake();
      };
    };
    child.stdout!.on('data', lines(this.stdout));
    child.stderr!.on('data', lines(this.stderr));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * CPU seconds the process has used so far, all its threads (a JVM's compiler and collector
   * threads, Node's too): user + system time from /proc/<pid>/stat; undefined once it has exited.
   * Less noisy than a wall-clock rate on a shared machine, and it shows what a rate costs.
   */
  cpuSeconds(): number | undefined {
    const pid = this.child.pid;
    if (pid === undefined || this.exitCode !== undefined) return undefined;
    try {
      // The fields after the command name, which is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      return undefined;
    }
  }

  /** Why it is no longer running, if it is not: the exit status and the end of its stderr. */
  failure(): string | undefined {
    if (this.exitCode === undefined) return undefined;
    return `${this.label} exited with status ${this.exitCode}${this.stderr.length > 0 ? `:\n  ${this.stderr.slice(-15).join('\n  ')}` : ''}`;
  }

  /** The first stdout line matching `re` (earlier lines included), with the wall clock it was seen at. */
  async line(re: RegExp, timeoutMs: number): Promise<{ line: string; at: number }> {
    const deadline = Date.now() + timeoutMs;
    for (let checked = 0; ; ) {
      for (; checked < this.stdout.length; checked++) if (re.test(this.stdout[checked]!)) return { line: this.stdout[checked]!, at: Date.now() };
      const why = this.failure();
      if (why) throw new Error(why);
      if (Date.now() > deadline) throw new Error(`${this.label} printed no line like ${re} within ${timeoutMs / 1000} s (stderr: ${this.stderr.slice(-5).join(' | ')})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM, so it commits and leaves its group; SIGKILL when that takes over `ms`. */
  async stop(ms = 30_000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export interface Contender {
  readonly proc: Proc;
  /** Wall clock (epoch ms) when it was ready to process: group joined, tasks assigned. */
  readonly ready: Promise<number>;
  /** How many commits it made so far, where it tells (Duality's /metrics). */
  commits?(): Promise<number | undefined>;
}

export interface WordCountRun {
  /** Application id / topology name; the consumer group and the prefix of internal topics. */
  readonly app: string;
  readonly input: string;
  readonly output: string;
  readonly guarantee: 'at_least_once' | 'exactly_once';
  readonly stateDir: string;
  /** The codec of every batch the contender writes (output, changelog, repartition); default none. */
  readonly compression?: 'lz4';
}

/** topologies/wordcount.yaml renamed for this run, reading its input and writing its output. */
function wordCountYaml(run: WordCountRun): string {
  return readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: ${run.app}`)
    .replace('topic: TextLinesTopic', `topic: ${run.input}`)
    .replace('topic: WordsWithCountsTopic', `topic: ${run.output}`);
}

/**
 * `duality run` on `yaml` (default: a copy of topologies/wordcount.yaml renamed for this run),
 * with the run's guarantee and compression added; `--cpu-prof` into `profileDir`. Its state
 * directory is `<run.stateDir>/state`.
 */
export function startDuality(run: WordCountRun, cleanup: Cleanup, profileDir?: string, yaml = wordCountYaml(run)): Contender {
  const file = join(run.stateDir, 'topology.yaml');
  // A kafka: section without brokers: they come from --brokers.
  const kafka = run.compression === undefined ? '' : `kafka:\n  compression: ${run.compression}\n`;
  writeFileSync(file, `${yaml}${kafka}processing:\n  guarantee: ${run.guarantee}\n`);
  // For experiments: DUALITY_NODE_FLAGS, node flags for Duality's process only (--trace-gc);
  // DUALITY_BENCH_LOG, a file that gets what it prints.
  const extra = (process.env.DUALITY_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const node = [...extra, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const args = [...node, join(ROOT, 'bin/duality.js'), 'run', file, '--brokers', BROKERS, '--port', '0', '--state-dir', join(run.stateDir, 'state')];
  const proc = new Proc('duality', cleanup.child(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })), process.env.DUALITY_BENCH_LOG);
  const url = proc.line(/ running on .*http:\/\//, 30_000).then((l) => /http:\/\/[^\s,]+/.exec(l.line)![0]);
  url.catch(() => undefined);
  // Scraped every 10 s while it runs, as Prometheus would. Unscraped, the engine keeps every
  // sampled processing latency until a scrape drains them, and a drain of more than about 125,000
  // samples in one task (some 2M records) fails the scrape with a 500. The last count read wins.
  let lastCommits: number | undefined;
  const scrape = async (): Promise<void> => {
    const at = await url.catch(() => undefined);
    if (at === undefined) return;
    const text = await fetch(`${at}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text(), (e: Error) => `failed: ${e.message}`);
    const m = /^duality_commits_total (\d+)/m.exec(text);
    if (m) lastCommits = Number(m[1]);
    else if (proc.exitCode === undefined) console.error(`  (no duality_commits_total in ${at}/metrics: ${text.slice(0, 200)})`);
  };
  const scraper = setInterval(() => void scrape(), 10_000);
  void proc.exited.then(() => clearInterval(scraper));
  const commits = async (): Promise<number | undefined> => {
    await scrape();
    return lastCommits;
  };
  const ready = (async () => {
    // /readyz turns 200 once the engine has joined its group and its tasks restored their stores.
    for (;;) {
      const why = proc.failure();
      if (why) throw new Error(why);
      const ok = await fetch(`${await url}/readyz`).then((r) => r.status === 200, () => false);
      if (ok) return Date.now();
      await sleep(20);
    }
  })();
  ready.catch(() => undefined);
  return { proc, ready, commits };
}

/**
 * Kafka Streams' WordCount, or with `program` another class of bench/kstreams/ (given the
 * compression, `none` by default, and then its own arguments); one stream thread, commit interval
 * as Duality's (1 s, 100 ms under exactly-once).
 */
export function startKafkaStreams(run: WordCountRun, commitIntervalMs: number, cleanup: Cleanup, program?: { main: string; args: readonly string[] }): Contender {
  const guarantee = run.guarantee === 'exactly_once' ? 'exactly_once_v2' : 'at_least_once';
  const common = [BROKERS, run.app, run.input, run.output, guarantee, String(commitIntervalMs), run.stateDir];
  const tail = program ? [run.compression ?? 'none', ...program.args] : run.compression === undefined ? [] : [run.compression];
  const args = ['-cp', `${JAR}:${join(KSTREAMS, 'target/lib/*')}`, `dev.duality.bench.${program?.main ?? 'WordCount'}`, ...common, ...tail];
  const proc = new Proc('kafka-streams', cleanup.child(spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] })));
  const ready = proc.line(/-> RUNNING$/, 120_000).then((l) => l.at);
  ready.catch(() => undefined);
  return { proc, ready };
}

/** kafkajs reading `records` records of `topic` with an empty handler; ready when it joined its group. */
export function startKafkajsConsume(topic: string, groupId: string, records: number, cleanup: Cleanup): Contender & { done: Promise<number> } {
  const script = fileURLToPath(new URL('./kafkajs-consume.js', import.meta.url));
  const proc = new Proc('kafkajs-consume', cleanup.child(spawn(process.execPath, [script, BROKERS, topic, groupId, String(records)], { stdio: ['ignore', 'pipe', 'pipe'] })));
  // The child prints its own clock readings: the same wall clock as ours, without the pipe's delay.
  const at = (re: RegExp, ms: number): Promise<number> => proc.line(re, ms).then((l) => Number(l.line.split(' ')[1]));
  const ready = at(/^joined \d+$/, 60_000);
  const done = at(/^done \d+$/, 600_000);
  ready.catch(() => undefined);
  done.catch(() => undefined);
  return { proc, ready, done };
}

/** Builds bench/kstreams once (bench/maven.ts); returns what it did, for the log. */
export function ensureKafkaStreamsJar(): string {
  return ensureMavenJar(KSTREAMS, JAR);
}

/**
 * The frame of a Kafka bench: a run prefix (`bench-<stem>-<time><random>`) for every topic and
 * group it creates, its Cleanup and a temp dir; the broker checked, the environment printed, the
 * Kafka Streams jar built; then `work`, and everything removed afterwards, on failure and on
 * Ctrl-C too.
 */
export async function kafkaBench(stem: string, work: (run: { prefix: string; cleanup: Cleanup; tmp: string; env: Environment }) => Promise<void>): Promise<void> {
  const prefix = `bench-${stem}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const cleanup = new Cleanup(prefix);
  const tmp = cleanup.dir(mkdtempSync(join(tmpdir(), `duality-bench-${stem}-`)));
  const onSignal = (): void => void cleanup.clean().finally(() => process.exit(130));
  const onExit = (): void => cleanup.killChildren();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal).once('exit', onExit);
  try {
    await Promise.race([cleanup.client(), sleep(15_000).then(() => Promise.reject(new Error('timed out')))]).catch((e: unknown) => {
      throw new Error(`no Kafka broker answers on ${BROKERS} (${(e as Error).message}): start it with npm run kafka:start`);
    });
    const env = environment(ROOT);
    for (const l of environmentLines(env)) console.log(l);
    console.error(`kafka streams jar: ${ensureKafkaStreamsJar()}`);
    await work({ prefix, cleanup, tmp, env });
  } finally {
    await cleanup.clean();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', onExit);
  }
}
