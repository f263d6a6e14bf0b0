/**
 * A broker that goes away while `duality run` (exactly_once) works, and comes back: the test starts
 * a broker of its own (kafka/start.sh on other ports, its own data, the shared jars), stops it
 * mid-run and starts it again, then freezes it (SIGSTOP) and lets it go on. Duality must say so in
 * its log and /readyz, resume by itself, and its output must be exact (assertExactlyOnce; with
 * `--cache-max-bytes 0`, every count 1..n).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { promisify } from 'node:util';
import { KafkaLog } from '../../engine/kafka/kafka-log.js';
import { ROOT } from '../root.js';
import { assertExactlyOnce, eosWordcount, updatesSeen, writeBatch } from './eos-helpers.js';
import { brokerTest, connectBroker, until } from './kafka-helpers.js';

// The shared broker must be there: CI never skips this file, and a missing one says how to start it.
const { broker: shared, missing } = await connectBroker('duality-outage-test');
await shared?.close();
const dir = mkdtempSync(join(tmpdir(), 'duality-outage-'));
const cache = join(dir, 'kafka');
const ports = { client: 0, controller: 0, sasl: 0 };
let running: ChildProcess | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** kafka/start.sh or stop.sh on this test's broker. */
async function script(name: 'start' | 'stop'): Promise<void> {
  const env = { ...process.env, KAFKA_PORT: String(ports.client), KAFKA_CONTROLLER_PORT: String(ports.controller), KAFKA_SASL_PORT: String(ports.sasl), KAFKA_CACHE_DIR: cache, KAFKA_SCRIPT_LOCKED: '' };
  await promisify(execFile)('bash', [join(ROOT, 'kafka', `${name}.sh`)], { env, timeout: 120_000 });
}

describe('a broker that goes away and comes back', { timeout: 240_000 }, () => {
  after(async () => {
    // A test cancelled by its timeout never reaches its finally: its process must not outlive it.
    if (running?.exitCode === null) running.kill('SIGKILL');
    if (ports.client) await script('stop').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  brokerTest(missing, 'exactly_once: the run says it lost Kafka (log, /readyz 503), resumes by itself, and its output is exact', async () => {
    ports.client = await freePort();
    ports.controller = await freePort();
    ports.sasl = await freePort();
    mkdirSync(cache);
    // The jars (broker, tools) of the shared broker when this checkout started it; else start.sh fetches them (Maven).
    for (const jars of ['lib', 'tools']) {
      if (existsSync(join(ROOT, 'kafka/.cache', jars))) symlinkSync(join(ROOT, 'kafka/.cache', jars), join(cache, jars));
    }
    await script('start');
    const brokers = `127.0.0.1:${ports.client}`;
    let log = await KafkaLog.connect({ brokers: [brokers], clientId: 'outage-test', logger: () => undefined });
    const app = await eosWordcount(log, 'outage', 2);
    const file = join(dir, 'wordcount.yaml');
    writeFileSync(file, app.text);

    const child = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), 'run', file, '--brokers', brokers, '--port', '0', '--state-dir', join(dir, 'state'), '--cache-max-bytes', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
    child.stderr.on('data', (d: Buffer) => err.push(...d.toString().split('\n').filter(Boolean)));
    const exited = new Promise((r) => child.on('exit', r));
    running = child;
    const said = (): string => err.slice(-8).join(' | ');
    const step = (what: string): void => void process.stderr.write(`outage test: ${what}\n`);
    try {
      await until(() => out.some((l) => l.includes('http://')), () => `the URL line (stderr: ${said()})`);
      const url = /http:\/\/[^\s,]+/.exec(out.find((l) => l.includes('http://'))!)![0];
      const readyz = async (): Promise<{ status: number; body: { state: string; error?: { message: string } } }> => {
        if (child.exitCode !== null) throw new Error(`duality run exited with ${child.exitCode}: ${err.join(' | ')}`);
        const res = await fetch(`${url}/readyz`);
        return { status: res.status, body: (await res.json()) as { state: string; error?: { message: string } } };
      };
      await until(async () => (await readyz()).status === 200, () => `ready (stderr: ${said()})`, 60_000);

      step('ready; writing 400 lines');
      const lines = await writeBatch(log, app.input, 0, 400);
      // Stopped while the first output is being written: some of it committed, maybe not all.
      await until(async () => (await updatesSeen(log, app.output)) > 0, () => `first output (stderr: ${said()})`);
      step('output seen; stopping the broker');
      await log.close();
      await script('stop');
      await until(async () => (await readyz()).status === 503, () => `/readyz 503 while the broker is down (stderr: ${said()})`, 60_000);
      const down = await readyz();
      assert.equal(down.body.state, 'recovering');
      assert.match(down.body.error!.message, new RegExp(`(lost|cannot reach) kafka \\(${brokers}\\)`));
      assert.ok(err.some((l) => /trying again in/.test(l)), said());

      step('503 seen; starting the broker again');
      await script('start');
      await until(async () => (await readyz()).status === 200, () => `ready again (stderr: ${said()})`, 90_000);
      log = await KafkaLog.connect({ brokers: [brokers], clientId: 'outage-test', logger: () => undefined });
      step('ready again; writing 400 more lines');
      lines.push(...(await writeBatch(log, app.input, 400, 400)));
      await assertExactlyOnce(log, app, lines, said);
      assert.ok(err.some((l) => l.includes('answers again; processing resumes')), said());

      // A broker that hangs (its JVM stopped) fails no request for 30 s (kafkajs's request timeout),
      // yet nothing can progress: /readyz must say so meanwhile, and 200 once it answers again.
      step('output exact; freezing the broker (SIGSTOP)');
      const pid = Number(readFileSync(join(cache, 'kafka.pid'), 'utf8'));
      process.kill(pid, 'SIGSTOP');
      try {
        await until(async () => (await readyz()).status === 503, () => `/readyz 503 while the broker hangs (stderr: ${said()})`, 60_000);
        const frozen = await readyz();
        assert.equal(frozen.body.state, 'recovering');
        assert.match(frozen.body.error!.message, new RegExp(`kafka \\(${brokers}\\) has not answered for \\d+ s`));
        // The log says so too, at the engine's next look (once a second).
        await until(() => err.some((l) => l.includes('has not answered for')), () => `the log to say the broker does not answer (stderr: ${said()})`);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      step('503 seen; the broker goes on (SIGCONT)');
      await until(async () => (await readyz()).status === 200, () => `ready after the broker woke up (stderr: ${said()})`, 90_000);
      lines.push(...(await writeBatch(log, app.input, 800, 400)));
      step('checking the output');
      await assertExactlyOnce(log, app, lines, said);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await log.close().catch(() => undefined);
    }
  }, 230_000);
});
