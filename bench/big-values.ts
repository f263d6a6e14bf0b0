/**
 * `npm run bench -- big-values [--records N] [--word-kb K] [-- run flags...]`: the memory of
 * WordCount on the embedded log when the words are large. First in this process, through the
 * engine: N records of one distinct K KB word each (default 200 of 900 KB), then the memory still
 * reachable after a full collection (what the engine holds, garbage aside). Then `duality run`:
 * posts the same over HTTP, then reads the whole table in pages
 * (`?limit=1000`), once alone and eight times at once, posts eight 8 MB bodies at once (over the
 * body limit), and prints the server's RSS (Linux: read from /proc) at each step, the largest page
 * and the peaks. Flags after `--` go to `duality run` (e.g. `-- --cache-max-bytes 0`).
 */
import { spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileTopology } from '../engine/compiler/index.js';
import { EmbeddedLog } from '../engine/log/embedded-log.js';
import { Engine } from '../engine/runtime/engine.js';
import { LocalEngineFacade } from '../engine/runtime/facade.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MB = 1024 * 1024;

const rssOf = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
const mb = (bytes: number): string => `${(bytes / MB).toFixed(0)} MB`;

/** A lower-case word of `bytes` letters that starts with `i` in base 26, so every one is distinct. */
function word(i: number, bytes: number): string {
  let head = '';
  for (let n = i; head.length === 0 || n > 0; n = Math.floor(n / 26)) head = String.fromCharCode(97 + (n % 26)) + head;
  return (head + 'q').padEnd(bytes, 'x');
}

async function metric(url: string, re: RegExp): Promise<number> {
  return Number(re.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN);
}

/** Where the memory is, as the server's own metrics say. */
async function heap(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const v = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return `V8 heap used ${mb(v('nodejs_heap_size_used_bytes'))} of ${mb(v('nodejs_heap_size_total_bytes'))}, external ${mb(v('nodejs_external_memory_bytes'))}`;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every page of the table; returns the number of keys and the largest page in bytes. */
async function scanAll(url: string): Promise<{ keys: number; largest: number; pages: number }> {
  let cursor: string | undefined;
  let keys = 0;
  let largest = 0;
  let pages = 0;
  do {
    const res = await fetch(`${url}/tables/word-counts?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`scan: ${res.status} ${text.slice(0, 200)}`);
    const page = JSON.parse(text) as { entries: unknown[]; cursor?: string };
    keys += page.entries.length;
    largest = Math.max(largest, Buffer.byteLength(text));
    pages++;
    cursor = page.cursor;
  } while (cursor !== undefined);
  return { keys, largest, pages };
}

/** Heap in use and buffers after a full collection, RSS: what the engine keeps reachable. */
async function liveInProcess(records: number, bytes: number, dir: string, cacheMaxBytes?: number): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const graph = compileTopology('wordcount.yaml', readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8')).graph!;
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const engine = new Engine({ graph, log, stateDir: join(dir, 'state'), logger: () => undefined, ...(cacheMaxBytes !== undefined && { cacheMaxBytes }) });
  await engine.start();
  const running = engine.run();
  const facade = new LocalEngineFacade(engine, log);
  const live = async (): Promise<string> => {
    // Buffers are freed by a background sweep after the collection that finds them unreachable.
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = process.memoryUsage();
    return `heap used ${mb(m.heapUsed)}, buffers ${mb(m.arrayBuffers)}, RSS ${mb(m.rss)}`;
  };
  console.log(`in process, after a full collection, at start: ${await live()}`);
  for (let i = 0; i < records; i++) await facade.produce('TextLinesTopic', [{ value: word(i, bytes) }]);
  // Sub-topology 0 reads every line, sub-topology 1 every word.
  while (engine.processed < 2 * records) await new Promise((r) => setTimeout(r, 50));
  engine.requestStop();
  await running;
  // A commit of what is held, which first waits for the last commit's disk writes to land.
  await engine.commit();
  await engine.commit();
  console.log(`in process, after a full collection, after the records: ${await live()}`);
  await engine.stop();
  await facade.close();
  await log.close();
}

export async function run(args: string[]): Promise<void> {
  const dash = args.indexOf('--');
  const own = dash < 0 ? args : args.slice(0, dash);
  const runFlags = dash < 0 ? [] : args.slice(dash + 1);
  const opt = (name: string, fallback: number): number => (own.includes(name) ? Number(own[own.indexOf(name) + 1]) : fallback);
  const records = opt('--records', 200);
  const bytes = opt('--word-kb', 900) * 1000;
  const dir = mkdtempSync(join(tmpdir(), 'duality-big-values-'));
  const cacheFlag = runFlags.indexOf('--cache-max-bytes');
  await liveInProcess(records, bytes, join(dir, 'in-process'), cacheFlag < 0 ? undefined : Number(runFlags[cacheFlag + 1]));
  const child = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), 'run', join(ROOT, 'topologies/wordcount.yaml'), '--port', '0', '--state-dir', join(dir, 'run'), ...runFlags], {
    env: { ...process.env, KAFKA_BROKERS: '', DUALITY_API_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await until('the server to start', async () => /running on .*, (http:\S+)/.test(out));
    const url = /running on .*, (http:\S+)/.exec(out)![1]!;
    await until('/readyz', async () => (await fetch(`${url}/readyz`)).status === 200);
    const pid = child.pid!;
    const start = rssOf(pid);
    console.log(`duality run wordcount ${runFlags.join(' ')}: ${records} records of one ${bytes / 1000} KB word each`);
    console.log(`RSS at start: ${mb(start)}`);

    const counted = /^duality_records_in_total\{node="word-counts\.3\.count"\} (\d+)$/m;
    const commits = /^duality_commits_total (\d+)$/m;
    for (let i = 0; i < records; i++) {
      const res = await fetch(`${url}/topics/TextLinesTopic/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: word(i, bytes) }) });
      if (res.status !== 200) throw new Error(`POST: ${res.status} ${await res.text()}`);
    }
    await until('every word counted', async () => (await metric(url, counted)) >= records);
    const after = await metric(url, commits);
    await until('a commit after the last word', async () => (await metric(url, commits)) > after);
    // Settled: what stays, not what a collection has yet to free.
    await new Promise((r) => setTimeout(r, 3000));
    const fed = rssOf(pid);
    console.log(`RSS after the records, settled: ${mb(fed)} (+${mb(fed - start)}); ${await heap(url)}`);

    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
    const one = await scanAll(url);
    console.log(`one full scan: ${one.keys} keys in ${one.pages} pages, largest page ${(one.largest / MB).toFixed(1)} MB; RSS peak ${mb(peak)}`);
    peak = 0;
    const eight = await Promise.all(Array.from({ length: 8 }, () => scanAll(url)));
    console.log(`8 full scans at once: ${eight.map((s) => s.keys).join(', ')} keys; RSS peak ${mb(peak)} (+${mb(peak - fed)} over the settled RSS)`);
    // Bodies over the limit are refused as they stream in, not read whole.
    peak = 0;
    const body = JSON.stringify({ value: 'x'.repeat(8 * MB) });
    const refused = await Promise.all(Array.from({ length: 8 }, async () => (await fetch(`${url}/topics/TextLinesTopic/records`, { method: 'POST', body })).status));
    clearInterval(sampler);
    console.log(`8 POSTs of 8 MB at once: answered ${refused.join(', ')}; RSS peak ${mb(peak)} (+${mb(peak - fed)} over the settled RSS)`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
