/**
 * `duality run` on the test broker's SASL_SSL listener (kafka/start.sh; 127.0.0.1:9094): WordCount
 * and retail-inventory with SCRAM-SHA-512 and with PLAIN over TLS, under both guarantees; a wrong
 * password, an untrusted CA and a topic the user may not read each stop it with a line that says
 * what to fix, and no secret is in anything it printed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { ROOT } from '../root.js';
import { brokerTest, connectBroker, RUN, until } from './kafka-helpers.js';

const { broker, missing } = await connectBroker('secured-duality');
const TLS = join(process.env.KAFKA_CACHE_DIR ?? join(ROOT, 'kafka/.cache'), 'tls');
const SASL_BROKERS = `127.0.0.1:${process.env.KAFKA_SASL_PORT ?? '9094'}`;
const dirs: string[] = [];
const children: { kill(): void }[] = [];
after(async () => {
  for (const c of children) c.kill();
  await broker?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Run {
  readonly url: Promise<string>;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** `duality run FILE` as `user` with `password` (from the environment, as docs/kafka.md says). */
function run(text: string, flags: string[], password: string): Run {
  const dir = mkdtempSync(join(tmpdir(), 'duality-secured-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'topology.yaml'), text);
  const child = spawn(process.execPath, [join(ROOT, 'bin/duality.js'), 'run', join(dir, 'topology.yaml'), '--brokers', SASL_BROKERS, '--port', '0', '--state-dir', join(dir, 'state'), ...flags], {
    env: { ...process.env, KAFKA_BROKERS: '', KAFKA_SASL_PASSWORD: password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let said = '';
  child.stdout!.on('data', (d: Buffer) => (said += d));
  child.stderr!.on('data', (d: Buffer) => (said += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = (async () => {
    await until(() => /running on .*, (http:\S+)/.test(said) || child.exitCode !== null, () => said, 60_000);
    const m = /running on .*, (http:\S+)/.exec(said);
    if (!m) throw new Error(`did not start: ${said}`);
    return m[1]!;
  })();
  url.catch(() => undefined);
  return {
    url,
    output: () => said,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const scram = (user = 'duality') => ['--tls-ca', join(TLS, 'ca.pem'), '--sasl-mechanism', 'scram-sha-512', '--sasl-username', user];
const plain = ['--tls-ca', join(TLS, 'ca.pem'), '--sasl-mechanism', 'plain', '--sasl-username', 'duality'];
const PASSWORD = 'duality-secret';

/** A shipped topology under names of its own, with a guarantee. */
function topology(file: string, name: string, guarantee: string, topics: readonly string[]): string {
  let text = readFileSync(join(ROOT, 'topologies', file), 'utf8').replace(/^name: .*$/m, `name: ${name}\nprocessing:\n  guarantee: ${guarantee}`);
  for (const t of topics) text = text.replace(new RegExp(`topic: ${t}$`, 'gm'), `topic: ${name}-${t}`).replace(new RegExp(`to: ${t}$`, 'gm'), `to: ${name}-${t}`);
  return text;
}

async function post(url: string, topic: string, records: unknown): Promise<void> {
  const r = await fetch(`${url}/topics/${topic}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(records) });
  assert.equal(r.status, 200, await r.text());
}

async function valueOf(url: string, table: string, key: string, want: unknown, out: () => string): Promise<void> {
  await until(async () => {
    const r = await fetch(`${url}/tables/${table}/keys/${key}`);
    return r.status === 200 && (await r.json() as { value: unknown }).value === want;
  }, () => `${table}/${key} to be ${JSON.stringify(want)}: ${out()}`, 60_000);
}

for (const guarantee of ['at_least_once', 'exactly_once']) {
  for (const [mechanism, flags] of [['SCRAM-SHA-512', scram()], ['PLAIN', plain]] as const) {
    brokerTest(missing, `WordCount and retail-inventory over TLS with ${mechanism}, ${guarantee}; no password in what they print`, async () => {
      const tag = `${mechanism.toLowerCase().replace(/\W/g, '')}-${guarantee === 'exactly_once' ? 'eos' : 'alos'}-${RUN}`;
      const wc = run(topology('wordcount.yaml', `sec-wc-${tag}`, guarantee, ['TextLinesTopic', 'WordsWithCountsTopic']), flags, PASSWORD);
      const inv = run(topology('retail-inventory.yaml', `sec-ri-${tag}`, guarantee, ['sales', 'shipments', 'inventory', 'reorders']), flags, PASSWORD);
      try {
        const [wcUrl, invUrl] = await Promise.all([wc.url, inv.url]);
        // Ready: its topics are created and its tasks run (the API answers before that).
        for (const [url, r] of [[wcUrl, wc], [invUrl, inv]] as const) await until(async () => (await fetch(`${url}/readyz`)).status === 200, () => r.output(), 60_000);
        await post(wcUrl, `sec-wc-${tag}-TextLinesTopic`, [{ value: 'alpha beta alpha' }, { value: 'Alpha gamma' }]);
        await valueOf(wcUrl, 'word-counts', 'alpha', 3, wc.output);
        await post(invUrl, `sec-ri-${tag}-shipments`, { key: 'sku-1', value: { qty: 100 } });
        await post(invUrl, `sec-ri-${tag}-sales`, [{ key: 'sku-1', value: { qty: 95, store: 'berlin' } }]);
        await valueOf(invUrl, 'inventory', 'sku-1', 5, inv.output);
      } finally {
        await Promise.all([wc.stop(), inv.stop()]);
      }
      for (const r of [wc, inv]) assert.ok(!r.output().includes(PASSWORD), r.output());
    }, 180_000);
  }
}

/** What duality run said, its JSON log lines (stderr off a terminal) read back to their messages. */
const messages = (output: string): string =>
  output
    .split('\n')
    .map((l) => (l.startsWith('{"level"') ? (JSON.parse(l) as { msg: string }).msg : l))
    .join('\n');

brokerTest(missing, 'a wrong password, an untrusted CA and a topic the user may not read each stop duality run with a line that says what to fix, and no secret', async () => {
  const wrong = 'not-the-password-7f3a';
  const text = topology('wordcount.yaml', `sec-bad-${RUN}`, 'at_least_once', []).replace(/TextLinesTopic|WordsWithCountsTopic/g, (t) => `sec-bad-${RUN}-${t}`);
  const cases: [string, Run, RegExp][] = [
    ['wrong password', run(text, scram(), wrong), /duality: the engine did not start: kafka: authentication failed: .*; check the SASL mechanism, username and password/],
    ['untrusted CA', run(text, ['--tls-ca', join(TLS, 'untrusted-ca.pem'), '--sasl-mechanism', 'scram-sha-512', '--sasl-username', 'duality'], PASSWORD), /duality: the engine did not start: kafka: TLS: the broker's certificate does not verify \(.*\); give the CA that signed it/],
    // `restricted` may use topics, groups and transactional ids prefixed allowed- only.
    ['a topic it may not read', run(text.replace(/^name: .*$/m, `name: allowed-${RUN}`), scram('restricted'), 'restricted-secret'), /duality: the engine did not start: kafka: not authorized: the broker refused access to a topic it reads or writes, "sec-bad-[^"]*" \(TOPIC_AUTHORIZATION_FAILED\); grant the user the ACLs docs\/kafka.md lists/],
  ];
  for (const [what, r, message] of cases) {
    assert.equal(await r.exited, 1, `${what}: exit status; it printed: ${r.output()}`);
    assert.match(messages(r.output()), message, what);
    for (const secret of [wrong, PASSWORD, 'restricted-secret']) assert.ok(!r.output().includes(secret), `${what}: printed a secret: ${r.output()}`);
  }
}, 180_000);

brokerTest(missing, 'OAUTHBEARER from a token file, then duality reset over SASL_SSL with the same flags', async () => {
  const name = `sec-oauth-${RUN}`;
  const dir = mkdtempSync(join(tmpdir(), 'duality-oauth-'));
  dirs.push(dir);
  // An unsigned JWT whose subject is the user: what the test broker's unsecured validator accepts.
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const token = join(dir, 'token');
  writeFileSync(token, `${b64({ alg: 'none' })}.${b64({ sub: 'duality', iat: now, exp: now + 3600 })}.`);
  const text = topology('wordcount.yaml', name, 'at_least_once', ['TextLinesTopic', 'WordsWithCountsTopic']);
  const oauth = ['--tls-ca', join(TLS, 'ca.pem'), '--sasl-mechanism', 'oauthbearer', '--sasl-token-file', token];
  const r = run(text, oauth, '');
  try {
    const url = await r.url;
    await until(async () => (await fetch(`${url}/readyz`)).status === 200, () => r.output(), 60_000);
    await post(url, `${name}-TextLinesTopic`, { value: 'token token' });
    await valueOf(url, 'word-counts', 'token', 2, r.output);
  } finally {
    await r.stop();
  }
  assert.equal(await r.exited, 0, r.output());
  // reset finds the log as run does, with the same options: it deletes the internal topics over TLS and SCRAM.
  const file = join(dir, 'topology.yaml');
  writeFileSync(file, text);
  const reset = spawnSync(process.execPath, [join(ROOT, 'bin/duality.js'), 'reset', file, '--brokers', SASL_BROKERS, '--state-dir', join(dir, 'state'), ...scram()], {
    env: { ...process.env, KAFKA_BROKERS: '', KAFKA_SASL_PASSWORD: PASSWORD },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const said = `${reset.stdout}${reset.stderr}`;
  assert.equal(reset.status, 0, said);
  assert.match(said, new RegExp(`deleted .*${name}-word-counts-changelog`));
  assert.ok(!said.includes(PASSWORD), said);
}, 180_000);
