import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compileTopology } from '../../../engine/compiler/index.js';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { Engine } from '../../../engine/runtime/engine.js';
import { readTable } from '../../../engine/runtime/queries.js';
import { storeDir } from '../../../engine/state/state-dir.js';
import { ROOT } from '../../root.js';

/*
 * A store's LevelDB files damaged between two runs of WordCount, on the embedded log and real
 * LevelDB: the next run must rebuild the store from its changelog, say so, and hold every word.
 */

const graph = compileTopology('wordcount.yaml', readFileSync(`${ROOT}topologies/wordcount.yaml`, 'utf8'), { env: {} }).graph!;
const WORDS = 5057;
const LINE = `duality: store "word-counts" of task 1_0 is damaged \\(.+\\); rebuilding it from its changelog wordcount-word-counts-changelog`;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs WordCount over `lines` and stops it; resolves with its table and what it logged. */
async function run(dir: string, lines: string[]): Promise<{ table: Record<string, unknown>; said: string[] }> {
  const said: string[] = [];
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const engine = new Engine({ graph, log, stateDir: join(dir, 'state'), logger: (l) => said.push(l) });
  try {
    await engine.start();
    if (lines.length > 0) {
      const producer = log.producer();
      producer.send(lines.map((v) => ({ topic: 'TextLinesTopic', key: null, value: Buffer.from(v), timestamp: 0 })));
      await producer.flush();
      await producer.close();
    }
    await engine.runUntilIdle();
    return { table: (await readTable(engine, 'word-counts')) as Record<string, unknown>, said };
  } finally {
    await engine.stop();
    await log.close();
  }
}

/** A state directory whose word-counts store holds WORDS words, each counted once, checkpointed by a clean stop. */
async function counted(): Promise<{ dir: string; store: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'duality-damage-'));
  dirs.push(dir);
  const lines: string[] = [];
  for (let i = 0; i < WORDS; i += 10) lines.push(Array.from({ length: Math.min(10, WORDS - i) }, (_, j) => `word${i + j}`).join(' '));
  const { table, said } = await run(dir, lines);
  assert.equal(Object.keys(table).length, WORDS);
  assert.deepEqual(said.filter((l) => /damaged/.test(l)), [], 'a first start finds nothing damaged');
  return { dir, store: storeDir(join(dir, 'state'), 'wordcount', '1_0', 'word-counts') };
}

/** The store's files whose names match, largest first. */
const filesOf = (store: string, name: RegExp): string[] =>
  readdirSync(store).filter((f) => name.test(f)).sort((a, b) => statSync(join(store, b)).size - statSync(join(store, a)).size);

/** Flips 64 bytes a third of the way into the file, as a bad disk sector or a stray write would. */
function flip(path: string): void {
  const bytes = readFileSync(path);
  const at = Math.floor(bytes.length / 3);
  for (let i = at; i < at + 64; i++) bytes[i]! ^= 0x5a;
  writeFileSync(path, bytes);
}

async function assertRebuilt(dir: string, why: RegExp): Promise<void> {
  const { table, said } = await run(dir, []);
  const rebuilt = said.filter((l) => new RegExp(LINE).test(l));
  assert.equal(rebuilt.length, 1, `one line says the store is rebuilt; the engine said:\n${said.join('\n')}`);
  assert.match(rebuilt[0]!, why);
  assert.equal(Object.keys(table).length, WORDS, 'every word is back');
  for (let i = 0; i < WORDS; i++) assert.equal(table[`word${i}`], 1, `word${i}`);
}

test('a store whose write-ahead log has damaged bytes is rebuilt from its changelog', async () => {
  const { dir, store } = await counted();
  const [wal] = filesOf(store, /^\d+\.log$/);
  assert.ok(wal !== undefined && statSync(join(store, wal)).size > 0, 'the words are in the write-ahead log');
  flip(join(store, wal));
  await assertRebuilt(dir, /LevelDB dropped \d+ bytes of its write-ahead log as corrupt/);
});

test('a store with a damaged table file is rebuilt from its changelog', async () => {
  const { dir, store } = await counted();
  // A restart turns the write-ahead log into a table file; after a clean stop it finds nothing damaged.
  assert.deepEqual((await run(dir, [])).said.filter((l) => /damaged/.test(l)), []);
  const [table] = filesOf(store, /\.(ldb|sst)$/);
  assert.ok(table !== undefined, `a table file in ${readdirSync(store).join(', ')}`);
  flip(join(store, table));
  await assertRebuilt(dir, /LevelDB reports corruption/);
});

test('a store that lost its write-ahead log, and with it what its checkpoint says it holds, is rebuilt', async () => {
  const { dir, store } = await counted();
  for (const wal of filesOf(store, /^\d+\.log$/)) rmSync(join(store, wal));
  await assertRebuilt(dir, /it holds no record of the changelog offset it reflects|behind its checkpoint/);
});

test('a store without its CURRENT or MANIFEST file is rebuilt, and says so', async () => {
  for (const lost of [/^CURRENT$/, /^MANIFEST-/]) {
    const { dir, store } = await counted();
    for (const f of filesOf(store, lost)) rmSync(join(store, f));
    await assertRebuilt(dir, lost.source.includes('CURRENT') ? /its LevelDB files have no CURRENT/ : /LevelDB cannot open it/);
  }
});
