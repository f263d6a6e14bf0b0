/**
 * `npm run bench -- embedded [--words N]`: WordCount through the engine on the embedded log with
 * LevelDB state, against the same split-and-count in a plain JS loop into a Map; the restore rate
 * from a changelog; and the RSS of a process holding 1M distinct keys in state.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TopologyGraph } from '../engine/api/topology-graph.js';
import { compileTopology } from '../engine/compiler/index.js';
import { EmbeddedLog } from '../engine/log/embedded-log.js';
import { Engine } from '../engine/runtime/engine.js';
import { restoreStore } from '../engine/state/restore.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORDS_PER_LINE = 10;

function wordcount(): TopologyGraph {
  const r = compileTopology('wordcount.yaml', readFileSync(`${ROOT}topologies/wordcount.yaml`, 'utf8'));
  if (!r.graph) throw new Error('wordcount does not compile');
  return r.graph;
}

/** Lines of words drawn from a vocabulary with a Zipf-like skew (like real text), deterministic. */
export function makeLines(words: number, vocabulary: number): string[] {
  let seed = 42;
  // 32-bit arithmetic (Math.imul): a plain product passes 2^53, loses bits and cycles after some 10,500 draws.
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x7fffffff);
  const vocab = Array.from({ length: vocabulary }, (_, i) => `w${i.toString(36)}`);
  const lines: string[] = [];
  for (let i = 0; i < words / WORDS_PER_LINE; i++) {
    const ws: string[] = [];
    for (let j = 0; j < WORDS_PER_LINE; j++) ws.push(vocab[Math.floor(vocabulary * rnd() ** 3)]!);
    lines.push(ws.join(j(i)));
  }
  return lines;
}
const j = (i: number): string => (i % 7 === 0 ? ', ' : ' ');

export async function produceLines(log: EmbeddedLog, lines: string[]): Promise<void> {
  await log.createTopics([{ name: 'TextLinesTopic', partitions: 1 }]);
  const p = log.producer();
  for (let i = 0; i < lines.length; i += 10_000) {
    p.send(lines.slice(i, i + 10_000).map((l) => ({ topic: 'TextLinesTopic', partition: 0, key: null, value: Buffer.from(l), timestamp: i })));
    await p.flush();
  }
  await p.close();
}

/** Runs WordCount until every word has been counted; returns seconds and the engine's counts. */
export async function runEngine(lines: string[], words: number, dir: string, cacheMaxBytes?: number): Promise<number> {
  const log = await EmbeddedLog.open(join(dir, 'log'));
  await produceLines(log, lines);
  const engine = new Engine({ graph: wordcount(), log, stateDir: join(dir, 'state'), logger: () => undefined, ...(cacheMaxBytes !== undefined ? { cacheMaxBytes } : {}) });
  const started = performance.now();
  await engine.start();
  const running = engine.run();
  // Sub-topology 0 reads every line, sub-topology 1 every word.
  while (engine.processed < lines.length + words) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  await engine.stop();
  await running;
  await log.close();
  return seconds;
}

function jsLoop(lines: string[]): { seconds: number; distinct: number } {
  const started = performance.now();
  const counts = new Map<string, number>();
  for (const line of lines) {
    for (const w of line.toLowerCase().split(/\W+/)) if (w !== '') counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return { seconds: (performance.now() - started) / 1000, distinct: counts.size };
}

async function restoreRate(records: number, dir: string): Promise<number> {
  const log = await EmbeddedLog.open(join(dir, 'restore-log'));
  const topic = 'bench-word-counts-changelog';
  await log.createTopics([{ name: topic, partitions: 1, cleanupPolicy: 'compact' }]);
  const p = log.producer();
  const eight = Buffer.alloc(8);
  for (let i = 0; i < records; i += 10_000) {
    const batch = [];
    for (let k = i; k < Math.min(records, i + 10_000); k++) {
      eight.writeBigInt64BE(BigInt(k));
      batch.push({ topic, partition: 0, key: Buffer.from(`key-${k}`), value: Buffer.from(eight), timestamp: 0 });
    }
    p.send(batch);
    await p.flush();
  }
  const info = { name: 'word-counts', type: 'key-value' as const, node: 'x', changelogTopic: topic, keySerde: 'string' as const, valueSerde: 'long' as const };
  const result = await restoreStore(log, info, 0, join(dir, 'restore-db'));
  await log.close();
  return result.records / (result.ms / 1000);
}

/** In a fresh process: WordCount over `words` distinct words, then its RSS once state is on disk. */
function rssChild(words: number): number {
  const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--rss-child', String(words)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const m = /rss (\d+)/.exec(p.stdout);
  if (!m) throw new Error(`rss child failed: ${p.stdout}`);
  return Number(m[1]);
}

export async function run(args: string[]): Promise<void> {
  const words = Number(args[args.indexOf('--words') + 1] || 1_000_000) || 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'duality-bench-'));
  try {
    const lines = makeLines(words, 10_000);
    const js = jsLoop(lines);
    const engineSeconds = await runEngine(lines, words, join(dir, 'run'));
    console.log(`input: ${lines.length} lines, ${words} words, ${js.distinct} distinct`);
    console.log(`duality wordcount (embedded log, LevelDB state): ${Math.round(words / engineSeconds)} words/s (${engineSeconds.toFixed(2)} s)`);
    console.log(`plain JS split + Map count: ${Math.round(words / js.seconds)} words/s (${js.seconds.toFixed(3)} s)`);
    console.log(`ratio duality/js-map: ${(js.seconds / engineSeconds).toFixed(3)}`);
    const restore = await restoreRate(1_000_000, dir);
    console.log(`restore from a 1M-record changelog: ${Math.round(restore)} records/s`);
    const rss = rssChild(1_000_000);
    console.log(`RSS after counting 1M distinct words (state on disk): ${(rss / 1024 / 1024).toFixed(0)} MB`);
    console.log(`targets: >= 300000 words/s ${words / engineSeconds >= 300_000 ? 'met' : 'NOT met'}; restore >= 200000/s ${restore >= 200_000 ? 'met' : 'NOT met'}; RSS <= 150 MB ${rss <= 150 * 1024 * 1024 ? 'met' : 'NOT met'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--rss-child') {
  const words = Number(process.argv[3]);
  const dir = mkdtempSync(join(tmpdir(), 'duality-rss-'));
  const lines: string[] = [];
  for (let i = 0; i < words; i += WORDS_PER_LINE) lines.push(Array.from({ length: WORDS_PER_LINE }, (_, k) => `d${(i + k).toString(36)}`).join(' '));
  await runEngine(lines, words, dir);
  globalThis.gc?.();
  console.log(`rss ${process.memoryUsage().rss}`);
  rmSync(dir, { recursive: true, force: true });
}
