/**
 * The queries bench's load generator, run in a child process so that it does not share a core
 * with the server it measures: `node load.js CONFIG_JSON` keeps `concurrency` requests in flight
 * over keep-alive connections for `seconds` (after `warmupSeconds` not counted), each asking for
 * seeded random keys of the dataset (dataset.ts), checks every answer against the value the
 * dataset gives the key, and prints one JSON line: a LoadResult.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { countOf, keyOf, seeded } from './dataset.js';

export interface LoadConfig {
  /** Base URLs (`http://host:port`); connection w asks urls[w % urls.length]. */
  readonly urls: readonly string[];
  readonly table: string;
  /** The key space: word indices 0..keys-1. */
  readonly keys: number;
  /** `get`: GET /tables/t/keys/k; `many`: POST /tables/t/keys with `batch` keys. */
  readonly mode: 'get' | 'many';
  readonly batch?: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly seed: number;
}

export interface Latencies {
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
}

export interface LoadResult extends Latencies {
  readonly seconds: number;
  /** Keys answered right: one a request for `get`, `batch` for `many`. */
  readonly keysRead: number;
  readonly max: number;
  readonly failures: number;
  /** The first few failures, said. */
  readonly examples: readonly string[];
  /** By the Duality-Served-By header of the answers (none: `-`). */
  readonly byServer: Readonly<Record<string, Latencies>>;
}

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly servedBy: string | undefined;
  readonly retryAfter: string | undefined;
}

/** One HTTP request on `agent`, its whole answer read. */
export function call(agent: Agent, url: string, method: 'GET' | 'POST', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request(url, { agent, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const servedBy = res.headers['duality-served-by'];
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), servedBy: Array.isArray(servedBy) ? servedBy[0] : servedBy, retryAfter });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What is wrong with a single-key answer for word `i`, or undefined when it is right. */
export function checkGet(a: Answer, i: number): string | undefined {
  if (a.status !== 200) return `${keyOf(i)}: status ${a.status} ${a.body.slice(0, 200)}`;
  const got = JSON.parse(a.body) as { key?: unknown; value?: unknown };
  if (got.key !== keyOf(i) || got.value !== countOf(i)) return `${keyOf(i)}: expected value ${countOf(i)}, got ${a.body.slice(0, 200)}`;
  return undefined;
}

function checkMany(a: Answer, indices: readonly number[]): string | undefined {
  if (a.status !== 200) return `POST of ${indices.length} keys: status ${a.status} ${a.body.slice(0, 200)}`;
  const { entries } = JSON.parse(a.body) as { entries?: { key: unknown; found: boolean; value?: unknown }[] };
  if (!Array.isArray(entries) || entries.length !== indices.length) return `POST of ${indices.length} keys: ${entries?.length} entries`;
  for (const [n, i] of indices.entries()) {
    const e = entries[n]!;
    if (e.key !== keyOf(i) || e.found !== true || e.value !== countOf(i)) return `POST: entry ${n} should be ${keyOf(i)} = ${countOf(i)}, is ${JSON.stringify(e)}`;
  }
  return undefined;
}

export function quantiles(sorted: readonly number[]): Latencies {
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { requests: sorted.length, p50: q(0.5), p99: q(0.99) };
}

async function load(c: LoadConfig): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: c.concurrency });
  const rnd = seeded(c.seed);
  const started = performance.now();
  const measureFrom = started + c.warmupSeconds * 1000;
  const end = measureFrom + c.seconds * 1000;
  const latencies: number[] = [];
  const byServer = new Map<string, number[]>();
  const examples: string[] = [];
  let failures = 0;
  let keysRead = 0;
  const worker = async (w: number): Promise<void> => {
    const base = c.urls[w % c.urls.length]!;
    const table = encodeURIComponent(c.table);
    while (performance.now() < end) {
      const indices = Array.from({ length: c.mode === 'get' ? 1 : c.batch! }, () => Math.floor(rnd() * c.keys));
      const t0 = performance.now();
      let wrong: string | undefined;
      let servedBy = '-';
      try {
        const a =
          c.mode === 'get'
            ? await call(agent, `${base}/tables/${table}/keys/${encodeURIComponent(keyOf(indices[0]!))}`, 'GET')
            : await call(agent, `${base}/tables/${table}/keys`, 'POST', JSON.stringify({ keys: indices.map(keyOf) }));
        servedBy = a.servedBy ?? '-';
        wrong = c.mode === 'get' ? checkGet(a, indices[0]!) : checkMany(a, indices);
      } catch (e) {
        wrong = `${base}: ${(e as Error).message}`;
      }
      const t1 = performance.now();
      if (t0 < measureFrom) continue;
      if (wrong !== undefined) {
        failures++;
        if (examples.length < 2) examples.push(wrong);
        continue;
      }
      const ms = t1 - t0;
      latencies.push(ms);
      keysRead += indices.length;
      const list = byServer.get(servedBy) ?? [];
      list.push(ms);
      byServer.set(servedBy, list);
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - measureFrom) / 1000;
  agent.destroy();
  const sorted = latencies.sort((x, y) => x - y);
  return {
    ...quantiles(sorted),
    seconds,
    keysRead,
    max: sorted.at(-1) ?? Number.NaN,
    failures,
    examples,
    byServer: Object.fromEntries([...byServer].map(([s, l]) => [s, quantiles(l.sort((x, y) => x - y))])),
  };
}

/** Runs a load in a child process (this file) and resolves with what it measured. */
export function runLoad(c: LoadConfig): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(c)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as LoadResult);
      else reject(new Error(`the load generator exited with status ${code}: ${out}`));
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await load(JSON.parse(process.argv[2]!) as LoadConfig);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
