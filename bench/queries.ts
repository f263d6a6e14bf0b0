/**
 * `npm run bench -- queries [--keys N] [--local-keys N] [--seconds S] [--concurrency C]
 * [--sample N] [--quick] [--parts abcd]`: Duality's queries of state (docs/http-api.md), checked
 * and timed. Every answer is compared with the value the input implies (queries/dataset.ts); a
 * wrong one is a failure, printed.
 *
 * a. single-key lookups/s and p99 of Duality's HTTP server against a bare node:http server over the
 *    same facade of one engine on the embedded log (`--local-keys`, default 100,000 keys), by a
 *    load generator in a child process (keep-alive, C connections, S seconds, seeded keys);
 * b. lookups asked of one of two `duality run` instances on Kafka, those answered by the other
 *    (forwarded; `Duality-Served-By`) apart from those it answered itself;
 * c. many keys per request (POST /tables/t/keys, 100 and 1000 keys) in keys/s, on a and on b;
 * d. failover: three instances over `--keys` (default 1,000,000) keys, one killed with SIGKILL
 *    while a client reads a sample of keys from the others, standbyReplicas 0 and 1, fresh and
 *    `?stale=true` reads: time from the kill until every key of the sample answers right again.
 *
 * Topics and groups start with `qbench-`; they, the temp dirs and the processes are removed after.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROKERS, Cleanup, produce, sleep, withProducer } from './kafka/cluster.js';
import { makeLines, sample } from './queries/dataset.js';
import { killAndRead, type Failover } from './queries/failover.js';
import { caughtUp, isSettled, settled, startInstance, wordcountApp, type App, type Instance } from './queries/instances.js';
import { runLoad, type LoadConfig, type LoadResult } from './queries/load.js';
import { serveLocal } from './queries/local.js';

const TABLE = 'word-counts';
const PARTITIONS = 6;

interface Options {
  readonly keys: number;
  readonly localKeys: number;
  readonly seconds: number;
  readonly concurrency: number;
  readonly sample: number;
  readonly parts: string;
}

function options(args: string[]): Options {
  const quick = args.includes('--quick');
  const num = (name: string, fallback: number): number => {
    const at = args.indexOf(name);
    if (at < 0) return fallback;
    const n = Number(args[at + 1]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a positive whole number, not "${args[at + 1]}"`);
    return n;
  };
  const keys = num('--keys', quick ? 100_000 : 1_000_000);
  const at = args.indexOf('--parts');
  return { keys, localKeys: num('--local-keys', Math.min(keys, 100_000)), seconds: num('--seconds', quick ? 3 : 10), concurrency: num('--concurrency', 32), sample: num('--sample', 1000), parts: at < 0 ? 'abcd' : args[at + 1] ?? 'abcd' };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
// A load without one right answer has no latencies (NaN, null once through JSON).
const ms = (n: number | null): string => (n === null || !Number.isFinite(n) ? 'n/a' : `${n.toFixed(2)} ms`);
const ratio = (a: number, b: number): string => (a / b).toFixed(2);

/** Says a load's figures; its failures, if any, with examples. */
function say(label: string, r: LoadResult, unit: 'lookups' | 'keys'): number {
  const rate = (unit === 'keys' ? r.keysRead : r.requests) / r.seconds;
  console.log(`${label}: ${fmt(rate)} ${unit}/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, max ${ms(r.max)} (${fmt(r.requests)} requests in ${r.seconds.toFixed(1)} s)`);
  if (r.failures > 0) console.log(`  FAILED: ${fmt(r.failures)} wrong or failed answers, e.g. ${r.examples.join(' | ')}`);
  return r.failures > 0 ? Number.NaN : rate;
}

async function local(o: Options, tmp: string, load: (c: Omit<LoadConfig, 'concurrency' | 'seconds' | 'warmupSeconds' | 'seed' | 'table'>) => Promise<LoadResult>): Promise<string[]> {
  const filling = Date.now();
  const served = await serveLocal(o.localKeys, join(tmp, 'local'));
  console.log(`local: ${fmt(o.localKeys)} keys counted on the embedded log in ${((Date.now() - filling) / 1000).toFixed(1)} s`);
  const ratios: string[] = [];
  try {
    if (o.parts.includes('a')) {
      // Alternated, twice each: the machine is shared, and a later run may find it busier.
      const rates = { duality: [] as number[], bare: [] as number[], p99: { duality: [] as number[], bare: [] as number[] } };
      for (let round = 1; round <= 2; round++) {
        for (const which of ['duality', 'bare'] as const) {
          const r = await load({ urls: [which === 'duality' ? served.duality : served.bare], keys: o.localKeys, mode: 'get' });
          rates[which].push(say(`${which === 'duality' ? 'duality http (createApp + createHttpServer)' : 'bare node:http (facade.get + JSON)'} lookups, run ${round}`, r, 'lookups'));
          rates.p99[which].push(r.p99);
        }
      }
      const sum = (l: number[]): number => l.reduce((a, b) => a + b, 0);
      ratios.push(`ratio duality/node-http lookups: ${ratio(sum(rates.duality), sum(rates.bare))}`, `ratio duality/node-http p99: ${ratio(sum(rates.p99.duality), sum(rates.p99.bare))}`);
    }
    if (o.parts.includes('c')) {
      for (const batch of [100, 1000]) say(`duality POST /tables/${TABLE}/keys with ${batch} keys, one instance`, await load({ urls: [served.duality], keys: o.localKeys, mode: 'many', batch }), 'keys');
    }
  } finally {
    await served.close();
  }
  return ratios;
}

/** `count` instances of `app`, settled, with the input counted (committed to the end). */
async function cluster(app: App, count: number, standbys: boolean, cleanup: Cleanup): Promise<Instance[]> {
  const instances: Instance[] = [];
  for (let n = 0; n < count; n++) instances.push(await startInstance(app, n, cleanup));
  await settled(instances, standbys);
  const started = Date.now();
  const admin = await cleanup.client();
  const topics = async (): Promise<string[]> => [app.input, ...(await admin.listTopics()).filter((t) => t.startsWith(`${app.name}-`) && t.includes('repartition'))];
  await caughtUp(admin, app.name, topics, () => instances.map((i) => i.proc.failure()).find((w) => w !== undefined));
  console.log(`${app.name}: ${count} instances counted the input in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return instances;
}

async function stopAll(instances: readonly Instance[]): Promise<void> {
  await Promise.all(instances.map((i) => i.proc.stop(15_000)));
}

async function forwarded(o: Options, prefix: string, input: string, tmp: string, cleanup: Cleanup, load: (c: Omit<LoadConfig, 'concurrency' | 'seconds' | 'warmupSeconds' | 'seed' | 'table'>) => Promise<LoadResult>): Promise<string[]> {
  const app = wordcountApp(`${prefix}-fwd`, input, join(tmp, 'fwd'), 0);
  const instances = await cluster(app, 2, false, cleanup);
  const ratios: string[] = [];
  try {
    const [a, b] = instances as [Instance, Instance];
    if (o.parts.includes('b')) {
      const r = await load({ urls: [a.url], keys: o.keys, mode: 'get' });
      say(`two instances on Kafka: lookups asked of ${a.endpoint}`, r, 'lookups');
      const mine = r.byServer[a.endpoint];
      const theirs = r.byServer[b.endpoint];
      if (mine) console.log(`  answered by ${a.endpoint} itself: ${fmt(mine.requests)}, p50 ${ms(mine.p50)}, p99 ${ms(mine.p99)}`);
      if (theirs) console.log(`  forwarded to ${b.endpoint}: ${fmt(theirs.requests)}, p50 ${ms(theirs.p50)}, p99 ${ms(theirs.p99)}`);
      else console.log(`  FAILED: no answer said Duality-Served-By: ${b.endpoint} (served by: ${JSON.stringify(Object.keys(r.byServer))})`);
      if (mine && theirs) ratios.push(`ratio forwarded/local p99: ${ratio(theirs.p99, mine.p99)}`);
    }
    if (o.parts.includes('c')) {
      for (const batch of [100, 1000]) say(`duality POST /tables/${TABLE}/keys with ${batch} keys asked of one of two instances`, await load({ urls: [a.url], keys: o.keys, mode: 'many', batch }), 'keys');
    }
  } finally {
    await stopAll(instances);
    await cleanup.dropBrokerState('-fwd');
  }
  return ratios;
}

async function failover(o: Options, prefix: string, input: string, tmp: string, cleanup: Cleanup, standby: number, stale: boolean): Promise<Failover | undefined> {
  const slug = `-fo-s${standby}${stale ? '-stale' : ''}`;
  const label = `failover standbyReplicas ${standby}${stale ? ', ?stale=true reads' : ''}`;
  const app = wordcountApp(`${prefix}${slug}`, input, join(tmp, slug), standby);
  let instances: Instance[] = [];
  try {
    instances = await cluster(app, 3, standby > 0, cleanup);
    const [a, b, victim] = instances as [Instance, Instance, Instance];
    const indices = sample(o.keys, o.sample, 11);
    const r = await killAndRead(victim, [a, b], TABLE, indices, stale, () => isSettled([a, b], false));
    const took = r.recoveredMs === undefined ? 'NOT recovered within the limit' : `${fmt(r.recoveredMs)} ms`;
    const dropped = r.droppedMs === undefined ? '' : `; the group dropped it after ${fmt(r.droppedMs)} ms${r.recoveredMs === undefined ? '' : `, every key answered ${fmt(Math.max(0, r.recoveredMs - r.droppedMs))} ms after that`}`;
    console.log(`${label}: every key of ${fmt(indices.length)} answers right ${took} after the kill (${fmt(r.reads)} reads, ${fmt(r.unavailable)} 503 with Retry-After, ${fmt(r.staleAnswers)} stale answers)${dropped}`);
    if (r.failures > 0) console.log(`  FAILED: ${fmt(r.failures)} wrong answers (404, wrong value, 503 without Retry-After, error), e.g. ${r.examples.join(' | ')}`);
    return r.failures > 0 ? undefined : r;
  } catch (e) {
    console.log(`${label}: FAILED: ${(e as Error).message}`);
    return undefined;
  } finally {
    await stopAll(instances);
    await cleanup.dropBrokerState(slug);
  }
}

export async function run(args: string[]): Promise<void> {
  const o = options(args);
  const prefix = `qbench-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const cleanup = new Cleanup(prefix);
  const tmp = cleanup.dir(mkdtempSync(join(tmpdir(), 'duality-qbench-')));
  const onSignal = (): void => void cleanup.clean().finally(() => process.exit(130));
  const onExit = (): void => cleanup.killChildren();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal).once('exit', onExit);
  const load = (c: Omit<LoadConfig, 'concurrency' | 'seconds' | 'warmupSeconds' | 'seed' | 'table'>): Promise<LoadResult> =>
    runLoad({ ...c, table: TABLE, concurrency: o.concurrency, seconds: o.seconds, warmupSeconds: 1, seed: 42 });
  const ratios: string[] = [];
  try {
    console.log(`queries: ${o.concurrency} connections, ${o.seconds} s a load (after 1 s not counted), seeded keys; ${fmt(o.localKeys)} keys on one instance, ${fmt(o.keys)} on Kafka`);
    if (/[ac]/.test(o.parts)) ratios.push(...(await local(o, tmp, load)));
    if (/[bcd]/.test(o.parts)) {
      await Promise.race([cleanup.client(), sleep(15_000).then(() => Promise.reject(new Error('timed out')))]).catch((e: unknown) => {
        throw new Error(`no Kafka broker answers on ${BROKERS} (${(e as Error).message}): start it with npm run kafka:start`);
      });
      const input = `${prefix}-lines`;
      await cleanup.createTopics([input], PARTITIONS);
      const producing = Date.now();
      const lines = makeLines(o.keys);
      await withProducer({ prefix }, (p) => produce(p, input, lines));
      console.log(`input: ${fmt(lines.length)} lines, ${fmt(o.keys)} distinct words, into ${input} (${PARTITIONS} partitions) in ${((Date.now() - producing) / 1000).toFixed(1)} s`);
      if (/[bc]/.test(o.parts)) ratios.push(...(await forwarded(o, prefix, input, tmp, cleanup, load)));
      if (o.parts.includes('d')) {
        const [s0, s1, s0stale, s1stale] = [await failover(o, prefix, input, tmp, cleanup, 0, false), await failover(o, prefix, input, tmp, cleanup, 1, false), await failover(o, prefix, input, tmp, cleanup, 0, true), await failover(o, prefix, input, tmp, cleanup, 1, true)];
        const r = (a: Failover | undefined, b: Failover | undefined): string => (a?.recoveredMs !== undefined && b?.recoveredMs ? ratio(a.recoveredMs, b.recoveredMs) : 'n/a (a run failed)');
        // The handover alone: from the group dropping the victim (its session timeout, the same in
        // both) until every key answers; at least 1 ms, so a handover that was over when the group
        // noticed still gives a ratio.
        const handover = (f: Failover | undefined): Failover | undefined => (f?.recoveredMs !== undefined && f.droppedMs !== undefined ? { ...f, recoveredMs: Math.max(1, f.recoveredMs - f.droppedMs) } : undefined);
        ratios.push(`ratio failover standby1/standby0: ${r(s1, s0)}`, `ratio failover-handover standby1/standby0: ${r(handover(s1), handover(s0))}`, `ratio failover-stale standby1/standby0: ${r(s1stale, s0stale)}`);
      }
    }
    for (const l of ratios) console.log(l);
  } finally {
    await cleanup.clean();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', onExit);
  }
}
