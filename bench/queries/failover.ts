/**
 * Part d of the queries bench: one of three instances killed with SIGKILL while a client reads a
 * sample of keys (spread over every partition) from the others, round after round; how long
 * until every key of the sample answers right again.
 */
import { Agent } from 'node:http';
import { sleep } from '../kafka/cluster.js';
import { members, type Instance } from './instances.js';
import { call, checkGet } from './load.js';
import { countOf, keyOf } from './dataset.js';

export interface Failover {
  /**
   * From the kill until the end of the first round of the last run of rounds in which every read
   * was right (a run lasting until the group settled): when every key answered right again.
   */
  readonly recoveredMs: number | undefined;
  /**
   * From the kill until the survivors' `/instances` no longer listed the victim: the group's
   * failure detection (its session timeout), the same whatever the standbys. What follows it is
   * the handover: the new owners restoring (all of the changelog, or only its tail).
   */
  readonly droppedMs: number | undefined;
  readonly reads: number;
  readonly unavailable: number;
  /** 404s, wrong values, 503s without Retry-After, other statuses, errors from a live instance. */
  readonly failures: number;
  readonly examples: readonly string[];
  readonly staleAnswers: number;
}

const CONCURRENCY = 16;

/**
 * Kills `victim` and reads `indices` from `survivors` (round robin), `?stale=true` when `stale`,
 * until every read of a round was right after `settledNow()` said the group settled, or `limitMs`.
 */
export async function killAndRead(victim: Instance, survivors: readonly Instance[], table: string, indices: readonly number[], stale: boolean, settledNow: () => Promise<boolean>, limitMs = 240_000): Promise<Failover> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY * survivors.length });
  const examples: string[] = [];
  let reads = 0;
  let unavailable = 0;
  let failures = 0;
  let staleAnswers = 0;
  const query = stale ? '?stale=true' : '';
  const exited = victim.proc.exited;
  const killedAt = Date.now();
  victim.proc.kill('SIGKILL');
  await exited;
  let cleanSince: number | undefined;
  let settledAt: number | undefined;
  let droppedAt: number | undefined;
  let watching = true;
  const watch = (async () => {
    while (watching && droppedAt === undefined) {
      const view = await members(survivors[0]!);
      if (view && !view.some((m) => m.endpoint === victim.endpoint)) droppedAt = Date.now();
      else await sleep(50);
    }
  })();
  try {
    while (Date.now() - killedAt < limitMs) {
      const roundStart = Date.now();
      let roundOk = true;
      let next = 0;
      const worker = async (w: number): Promise<void> => {
        while (next < indices.length) {
          const i = indices[next++]!;
          const at = survivors[(w + i) % survivors.length]!;
          reads++;
          try {
            const a = await call(agent, `${at.url}/tables/${encodeURIComponent(table)}/keys/${encodeURIComponent(keyOf(i))}${query}`, 'GET');
            if (a.status === 503 && a.retryAfter !== undefined) {
              unavailable++;
              roundOk = false;
              continue;
            }
            const wrong = checkGet(a, i);
            if (wrong === undefined) {
              if ((JSON.parse(a.body) as { stale?: boolean }).stale === true) staleAnswers++;
              continue;
            }
            roundOk = false;
            failures++;
            if (examples.length < 5) examples.push(`${at.endpoint}: ${wrong}${a.status === 503 ? ' (503 without Retry-After)' : ''}`);
          } catch (e) {
            roundOk = false;
            failures++;
            if (examples.length < 5) examples.push(`${at.endpoint}: ${keyOf(i)} (expected ${countOf(i)}): ${(e as Error).message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
      if (!roundOk) cleanSince = undefined;
      else cleanSince ??= Date.now();
      // A round that began after the group settled and was all right ends it.
      if (settledAt === undefined && (await settledNow())) settledAt = Date.now();
      if (roundOk && settledAt !== undefined && roundStart >= settledAt) break;
      if (!roundOk) await sleep(50);
    }
  } finally {
    watching = false;
    await watch;
    agent.destroy();
  }
  const done = cleanSince !== undefined && settledAt !== undefined;
  return { recoveredMs: done ? cleanSince! - killedAt : undefined, droppedMs: droppedAt === undefined ? undefined : droppedAt - killedAt, reads, unavailable, failures, examples, staleAnswers };
}
