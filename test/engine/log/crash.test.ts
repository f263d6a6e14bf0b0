import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EmbeddedLog } from '../../../engine/log/embedded-log.js';
import { envSeed, prng } from '../../seeded.js';
import { withTempDir } from './helpers.js';

/** Draws the kill points; DUALITY_CRASH_SEED replays a failed run's. */
const SEED = envSeed('DUALITY_CRASH_SEED', 20261205);

const BATCH = 500;
const TXN = 100;

// Writes as fast as it can and reports what each acknowledged write made durable: `acked N` once
// the first N events are flushed, `txn M` once M records and the offset M are committed together.
const CHILD = `
const { EmbeddedLog } = await import(process.argv[2]);
const log = await EmbeddedLog.open(process.argv[3]);
await log.createTopics([{ name: 'events', partitions: 3 }, { name: 'txn', partitions: 1 }]);
let events = (await log.endOffsets('events')).reduce((a, b) => a + b, 0);
let txn = (await log.endOffsets('txn'))[0];
const plain = log.producer();
const transactional = log.producer({ transactionalId: 'child' });
const ts = Date.now();
for (;;) {
  const batch = [];
  for (let i = 0; i < ${BATCH}; i++, events++) {
    batch.push({ topic: 'events', key: Buffer.from('k' + (events % 11)), value: Buffer.from(String(events)), timestamp: ts });
  }
  plain.send(batch);
  await plain.flush();
  process.stdout.write('acked ' + events + '\\n');
  const tx = [];
  for (let i = 0; i < ${TXN}; i++, txn++) tx.push({ topic: 'txn', key: null, value: Buffer.from(String(txn)), timestamp: ts });
  transactional.send(tx);
  await transactional.commitTransaction('app', new Map([['txn:0', txn]]));
  process.stdout.write('txn ' + txn + '\\n');
}
`;

/** Runs the writer until it has acknowledged at least `minAcked` events plus a random bit more, then kill -9. */
async function runAndKill(script: string, dir: string, minAcked: number, random: () => number): Promise<{ acked: number; txn: number }> {
  const logUrl = new URL('../../../engine/log/embedded-log.js', import.meta.url).href;
  const child = spawn(process.execPath, [script, logUrl, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const last = { acked: 0, txn: 0 };
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const target = minAcked + Math.floor(random() * 5) * BATCH;
  const delayMs = random() * 3;
  for await (const line of createInterface({ input: child.stdout })) {
    const [what, n] = line.split(' ');
    if (what === 'acked') last.acked = Number(n);
    if (what === 'txn') last.txn = Number(n);
    if (last.acked >= target && child.exitCode === null) {
      // Let it get into the middle of its next write before pulling the plug.
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  }
  await exited;
  assert.equal(child.signalCode, 'SIGKILL', 'the writer was killed, it did not stop by itself');
  return last;
}

describe('EmbeddedLog under kill -9', () => {
  it(`keeps every acknowledged write and nothing partial (seed ${SEED})`, { timeout: 60_000 }, (t) =>
    withTempDir(async (dir) => {
      t.diagnostic(`kill points drawn with seed ${SEED}; replay with DUALITY_CRASH_SEED=${SEED}`);
      const random = prng(SEED);
      const script = join(dir, 'writer.mjs');
      await writeFile(script, CHILD);
      const data = join(dir, 'log');
      let minAcked = 0;
      for (let round = 0; round < 4; round++) {
        const acked = await runAndKill(script, data, minAcked + 10 * BATCH, random);
        const log = await EmbeddedLog.open(data);
        try {
          const events: number[][] = [];
          for (let p = 0; p < 3; p++) {
            events.push((await log.read({ topic: 'events', partition: p }, 0, 10_000_000)).map((r) => Number(r.value?.toString())));
          }
          const all = events.flat().sort((a, b) => a - b);
          assert.ok(all.length >= acked.acked, `round ${round}: ${all.length} events survived, ${acked.acked} were acknowledged`);
          assert.equal(all.length % BATCH, 0, 'a flush survives whole or not at all');
          assert.ok(all.every((v, i) => v === i), 'no event is missing or duplicated');
          for (const partition of events) assert.ok(partition.every((v, i) => i === 0 || v > (partition[i - 1] as number)), 'per-partition order');

          const txn = (await log.endOffsets('txn'))[0] as number;
          assert.ok(txn >= acked.txn, `round ${round}: ${txn} transactional records survived, ${acked.txn} were committed`);
          const committed = await log.consumer('app').committed({ topic: 'txn', partition: 0 });
          assert.equal(committed ?? 0, txn, 'records and offsets of a transaction survive together');
          minAcked = all.length;
        } finally {
          await log.close();
        }
      }
    }));
});
