/**
 * `duality run` on Kafka, as a user runs it: the CLI process with brokers from --brokers or
 * KAFKA_BROKERS, writing and querying over HTTP, stopping on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { ROOT } from '../root.js';
import { brokerTest, BROKERS, connectBroker, RUN, until } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('duality-run-kafka-test');
const dir = mkdtempSync(join(tmpdir(), 'duality-run-kafka-'));
const app = `run-${RUN}`;
const [lines, counts] = [`lines-${RUN}`, `counts-${RUN}`];
const file = join(dir, 'wordcount.yaml');
writeFileSync(
  file,
  readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8').replace(/^name: .*$/m, `name: ${app}`).replace('TextLinesTopic', lines).replace('WordsWithCountsTopic', counts),
);

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

function run(args: string[], env: Record<string, string> = {}, topology = file): Run {
  const child = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), 'run', topology, '--port', '0', '--state-dir', join(dir, 'state'), ...args], {
    env: { ...process.env, KAFKA_BROKERS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r: Run = { child, stdout: [], stderr: [], exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  children.push(child);
  child.stdout!.on('data', (d: Buffer) => r.stdout.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr!.on('data', (d: Buffer) => r.stderr.push(...d.toString().split('\n').filter(Boolean)));
  return r;
}

describe('duality run on Kafka', { timeout: 240_000 }, () => {
  after(async () => {
    // A test cancelled by its timeout never reaches its finally: its process must not outlive it.
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    if (broker) {
      await broker.admin.deleteGroups([app]).catch(() => undefined);
      await broker.log.deleteTopics([lines, counts, `${app}-dlq`, `${app}-word-counts-repartition`, `${app}-word-counts-changelog`]).catch(() => undefined);
      await broker.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  brokerTest(missing, 'with --brokers: says it runs on kafka, counts what is posted, stops cleanly on SIGTERM; KAFKA_BROKERS works too', async () => {
    for (const how of [['--brokers', BROKERS.join(',')], { KAFKA_BROKERS: BROKERS.join(',') }] as const) {
      const r = Array.isArray(how) ? run([...how]) : run([], how as Record<string, string>);
      try {
        await until(() => r.stdout.some((l) => l.includes('http://')), () => `the URL line (stderr: ${r.stderr.join(' | ')})`);
        const banner = r.stdout.find((l) => l.includes('http://'))!;
        assert.match(banner, new RegExp(`${app} running on kafka \\(${BROKERS.join(',')}\\)`));
        const url = /http:\/\/[^\s,]+/.exec(banner)![0];
        // Topics are made as the engine starts: writes go once it is ready.
        await until(async () => (await readyz(url)) === 200, () => `/readyz 200 (stderr: ${r.stderr.join(' | ')})`);
        const posted = await fetch(`${url}/topics/${lines}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'hello kafka hello' }) });
        assert.equal(posted.status, 200);
        // The second run reads on from the first run's committed offsets and keeps its state.
        const expected = { key: 'kafka', value: Array.isArray(how) ? 1 : 2 };
        let body: unknown;
        await until(async () => {
          const res = await fetch(`${url}/tables/word-counts/keys/kafka`);
          body = res.status === 200 ? await res.json() : undefined;
          return JSON.stringify(body) === JSON.stringify(expected);
        }, () => `the count ${JSON.stringify(expected)}, have ${JSON.stringify(body)}`);
      } finally {
        r.child.kill('SIGTERM');
      }
      assert.equal(await r.exit, 0, r.stderr.join('\n'));
    }
  });

  brokerTest(missing, '--no-create-topics: missing topics are an error that lists them; exit 1, nothing created', async () => {
    const strict = join(dir, 'strict.yaml');
    writeFileSync(strict, readFileSync(file, 'utf8').replace(/^name: .*$/m, `name: ${app}-strict`).replace(lines, `${lines}-absent`));
    const r = run(['--brokers', BROKERS.join(','), '--no-create-topics'], {}, strict);
    assert.equal(await r.exit, 1);
    const err = r.stderr.join('\n');
    assert.match(err, new RegExp(`the engine did not start: .*topics do not exist: ${lines}-absent \\(source\\), .*${app}-strict-dlq \\(dlq\\); create them`));
    assert.equal(await broker!.log.partitions(`${lines}-absent`), undefined);
  });
});

/** The status /readyz answers; 0 when it does not answer within 3 s (a loaded machine), so a wait asks again rather than hangs. */
async function readyz(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) })).status;
  } catch (e) {
    if ((e as Error).name === 'TimeoutError') return 0;
    throw e;
  }
}
