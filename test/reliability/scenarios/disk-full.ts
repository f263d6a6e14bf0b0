import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KafkaLog } from '../../../engine/kafka/kafka-log.js';
import { Instance } from '../instance.js';
import { brokersFor, produce, runId } from '../kafka.js';
import { outcome, type Scenario } from '../scenario.js';
import { fill, mountSmallFs, type SmallFs } from '../small-fs.js';
import { checkCounts, connectQuietly, waitUntilCommitted, wordcount } from '../steady-wordcount.js';

/**
 * Line `seq`: one word of its own, about `bytes` long, hex so that LevelDB's compression cannot
 * shrink it: every line adds a key to the count's store, and the store outgrows the disk.
 */
function uniqueWord(seq: number, bytes: number): string {
  let word = `w${seq}x`;
  for (let salt = 0; word.length < bytes; salt++) word += createHash('sha256').update(`${seq}/${salt}`).digest('hex');
  return word.slice(0, bytes);
}

/** How `instance` exited, or `hung` when it still runs after `timeoutMs`. */
async function exitOf(instance: Instance, timeoutMs: number): Promise<{ code: number | null; hung: boolean }> {
  const child = instance.child;
  const exited = instance.running ? new Promise<void>((resolve) => child.once('exit', () => resolve())) : Promise.resolve();
  const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([exited, timer]);
  return { code: child.exitCode, hung: instance.running };
}

/** What tells a reader that the disk is full, in the instance's output. */
const DISK_FULL = /ENOSPC|no space left|disk is full/i;

/**
 * Duality under exactly_once on Kafka with its state directory (LevelDB stores only: the log is
 * Kafka) on a small filesystem that fills up: a count of words that are all different, so each
 * input line adds a key to a store. It must stop by itself, with a non-zero exit and a message that
 * says the disk is full and where; after the space is freed (a filler file made beforehand is
 * deleted), a restart on the same state directory must resume and finish with nothing lost or
 * doubled.
 */
export const scenario: Scenario = {
  name: 'disk-full',
  order: 45,
  what: 'the state directory on a small filesystem that fills up: Duality stops with a clear ENOSPC message, and after space is freed a restart finishes with nothing lost or doubled',
  mirrors: "RocksDB's and Kafka Streams' handling of a full disk (a store write fails: the thread dies with a ProcessorStateException, the instance is restarted after space is freed; KIP-1033's handler does not cover it); disk-full fault injection of the Jepsen and Chaos Mesh kind (IOChaos ENOSPC)",
  options: {
    brokers: { default: '', help: "Kafka brokers; '' starts the suite's own broker (RELIABILITY_KAFKA_PORT)" },
    fs: { default: 'auto', help: 'the small filesystem: ext4 (a loop-mounted image), tmpfs, or auto (ext4, else tmpfs)' },
    'fs-mb': { default: '64', help: 'size of the filesystem the state directory is on' },
    'free-mb': { default: '8', help: 'what the filler file leaves free for Duality' },
    lines: { default: '60000', help: 'input lines, one new word each (the store grows by about word-bytes a line)' },
    'word-bytes': { default: '256', help: 'length of each word' },
    partitions: { default: '3', help: 'partitions of the input topic' },
    'exit-seconds': { default: '300', help: 'how long Duality may take to stop once started on the filling disk (longer is a hang)' },
    'finish-seconds': { default: '300', help: 'how long the restarted Duality may take to commit all the input' },
  },
  async run({ options, workDir, say }) {
    const opt = (name: string): number => Number(options[name]);
    let fs: (SmallFs & { tried: string }) | undefined;
    let log: KafkaLog | undefined;
    const instances: Instance[] = [];
    try {
      fs = await mountSmallFs(workDir, opt('fs-mb'), options.fs as 'auto' | 'ext4' | 'tmpfs');
      say(`state on ${fs.kind} (${opt('fs-mb')} MB) at ${fs.dir}${fs.tried ? `; ${fs.tried}` : ''}`);
      const filler = join(fs.dir, 'filler');
      const fillerBytes = fill(fs, filler, opt('free-mb') << 20);
      const stateDir = join(fs.dir, 'state');
      say(`filler of ${(fillerBytes / 2 ** 20).toFixed(1)} MB leaves ${(fs.free() / 2 ** 20).toFixed(1)} MB free`);

      const brokers = await brokersFor(options.brokers!, say);
      log = await connectQuietly(brokers);
      const app = wordcount(`disk-full-${runId()}`);
      await log.createTopics([{ name: app.input, partitions: opt('partitions') }]);
      const file = join(workDir, 'wordcount.yaml');
      writeFileSync(file, app.text);
      const records = Array.from({ length: opt('lines') }, (_, seq) => ({ topic: app.input, key: Buffer.from(String(seq)), value: Buffer.from(uniqueWord(seq, opt('word-bytes'))), timestamp: Date.now() }));
      await produce(log, records);
      say(`wrote ${records.length} lines of one ${opt('word-bytes')}-byte word each to ${app.input}`);

      const args = [file, '--brokers', brokers, '--port', '0', '--state-dir', stateDir, '--cache-max-bytes', '0', '--guarantee', 'exactly_once'];
      const first = new Instance(args);
      instances.push(first);
      const began = Date.now();
      const exit = await exitOf(first, opt('exit-seconds') * 1000);
      const exitSeconds = (Date.now() - began) / 1000;
      const freeAtExit = fs.free();
      writeFileSync(join(workDir, 'first.stderr'), first.stderr); // for --keep
      // Duality's own line (`duality: processing stopped: ...`), not an uncaught exception's trace.
      const message = first.stderr.split('\n').find((l) => l.includes('duality: ') && DISK_FULL.test(l)) ?? '';
      const uncaught = /^Node\.js v\d/m.test(first.stderr);
      say(exit.hung ? `duality still runs after ${opt('exit-seconds')} s: hung` : `duality exited with ${exit.code} after ${exitSeconds.toFixed(1)} s, ${(freeAtExit / 2 ** 20).toFixed(2)} MB free; it said: ${message.slice(0, 400) || first.stderr.slice(-1000)}`);
      if (exit.hung) await first.stop('SIGKILL').catch(() => undefined);
      const before = await checkCounts(log, app);

      rmSync(filler);
      say(`deleted the filler: ${(fs.free() / 2 ** 20).toFixed(1)} MB free; restarting on the same state directory`);
      const second = new Instance(args);
      instances.push(second);
      const restartedAt = Date.now();
      await second.ready(opt('finish-seconds') * 1000);
      const readySeconds = (Date.now() - restartedAt) / 1000;
      const short = await waitUntilCommitted(log, app, opt('finish-seconds') * 1000);
      const finishSeconds = (Date.now() - restartedAt) / 1000;
      const check = await checkCounts(log, app);
      const secondExit = await second.stop('SIGTERM', 60_000).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      const figures = {
        lost: check.lost,
        duplicated: check.duplicated,
        disordered: check.disordered,
        fs: fs.kind,
        lines: check.lines,
        counted_before_full: check.updates - before.lost,
        exit_code: exit.hung ? 'hung' : String(exit.code),
        seconds_to_exit: exitSeconds.toFixed(1),
        free_mb_at_exit: (freeAtExit / 2 ** 20).toFixed(2),
        said_enospc: message !== '' ? 'yes' : 'no',
        restart_restored: /(\d+) changelog records restored/.exec(second.stderr)?.[1] ?? '?',
        restart_ready_s: readySeconds.toFixed(1),
        restart_finish_s: finishSeconds.toFixed(1),
      };
      return outcome(figures, [
        [check.lost === 0, `${check.lost} count updates lost`],
        [check.duplicated === 0, `${check.duplicated} count updates doubled`],
        [check.disordered === 0, `${check.disordered} words whose counts did not go 1..n in order`],
        [!exit.hung, `duality did not stop within ${opt('exit-seconds')} s of starting on the filling disk: it hangs (stderr: ${first.stderr.slice(-2000)})`],
        [before.lost > 0, `the disk never filled: duality counted all ${check.lines} lines with ${opt('free-mb')} MB free; raise --lines or lower --free-mb`],
        [exit.hung || (exit.code !== 0 && exit.code !== null), `duality's exit on a full disk was ${exit.code}, not a failure status`],
        [!uncaught, `duality ended with an uncaught exception instead of stopping cleanly: ${first.stderr.slice(-2000)}`],
        [message !== '', `duality's output does not say the disk is full (ENOSPC): ${first.stderr.slice(-2000)}`],
        [message.includes(stateDir) || first.stderr.includes(stateDir), `duality's output does not name the state directory ${stateDir}`],
        [short.length === 0, `the restarted duality had not committed all the input after ${opt('finish-seconds')} s: ${short.join(', ')}`],
        [secondExit === 0, `the restarted duality did not stop cleanly on SIGTERM: ${secondExit}`],
      ]);
    } finally {
      for (const i of instances) if (i.running) await i.stop('SIGKILL').catch(() => undefined);
      await log?.close().catch(() => undefined);
      await fs?.unmount();
    }
  },
};
