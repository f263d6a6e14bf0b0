import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, utimesSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { after, test } from 'node:test';
import { compileTopology } from '../../../engine/compiler/index.js';
import { formatDiagnostic } from '../../../engine/api/diagnostics.js';
import { renderGraph } from '../../../engine/describe/index.js';
import { KafkaLog } from '../../../engine/kafka/kafka-log.js';
import { resolveSecurity, SecurityConfigError, tokenReader } from '../../../engine/kafka/security.js';

const dir = mkdtempSync(join(tmpdir(), 'duality-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate and its key, made by openssl, as PEM files. */
function selfSigned(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

const topology = (kafka: string): string => `version: 1
name: sec
kafka:
${kafka}
streams:
  lines:
    topic: lines
    key: string
    value: string
`;

test('TLS settings: PEM text as it is, a path read at start, the flags and environment over the file; a missing file named with its setting', () => {
  const { cert, key } = selfSigned('client');
  const certText = readFileSync(cert, 'utf8');
  const s = resolveSecurity({ brokers: ['b:1'], tls: { ca: certText, cert, key } });
  assert.equal(s.ssl?.ca, certText);
  assert.equal(s.ssl?.cert, certText);
  assert.equal(s.ssl?.key, readFileSync(key, 'utf8'));
  assert.equal(s.ssl?.rejectUnauthorized, true);
  assert.deepEqual(resolveSecurity({ brokers: ['b:1'] }), {});
  assert.deepEqual(resolveSecurity({ brokers: ['b:1'], tls: true }).ssl, { rejectUnauthorized: true });
  assert.equal(resolveSecurity({ brokers: ['b:1'] }, { tlsCa: cert }).ssl?.ca, certText, '--tls-ca alone turns TLS on');
  assert.throws(() => resolveSecurity({ brokers: ['b:1'], tls: { ca: '/no/such/ca.pem' } }), (e: Error) => e instanceof SecurityConfigError && e.message === 'cannot read the TLS CA (kafka.tls.ca, --tls-ca, KAFKA_TLS_CA) from /no/such/ca.pem: ENOENT');
  assert.throws(() => resolveSecurity({ brokers: ['b:1'] }, { tlsCert: cert }), /needs its key/);
});

test('SASL settings: the flags and environment over the topology; what each mechanism needs', () => {
  const plain = resolveSecurity({ brokers: ['b:1'], sasl: { mechanism: 'plain', username: 'u', password: 'p' } }, { saslMechanism: 'SCRAM-SHA-512', saslPassword: 'q' });
  assert.deepEqual(plain.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 'q' });
  assert.throws(() => resolveSecurity({ brokers: ['b:1'] }, { saslMechanism: 'gssapi' }), /must be one of plain, scram-sha-256, scram-sha-512, oauthbearer, not "gssapi"/);
  assert.throws(() => resolveSecurity({ brokers: ['b:1'] }, { saslMechanism: 'plain', saslUsername: 'u' }), /plain needs a username and a password/);
  assert.throws(() => resolveSecurity({ brokers: ['b:1'] }, { saslMechanism: 'oauthbearer' }), /oauthbearer needs a token file/);
});

test('an OAUTHBEARER token file is read again once it changes, as a renewed mounted secret is', async () => {
  const file = join(dir, 'token');
  writeFileSync(file, 'first-token\n');
  const read = tokenReader(file);
  assert.deepEqual(await read(), { value: 'first-token' });
  writeFileSync(file, 'second-token-longer\n');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  assert.deepEqual(await read(), { value: 'second-token-longer' });
  rmSync(file);
  await assert.rejects(read(), /cannot read the OAUTHBEARER token file .*token: ENOENT/);
});

test('kafka.sasl is checked for what its mechanism needs, at its line and column; /topology and describe never show a password or a key', () => {
  const bad = compileTopology('t.yaml', topology('  brokers: [b:1]\n  sasl:\n    mechanism: scram-sha-512\n    username: app'));
  assert.deepEqual(bad.diagnostics.map(formatDiagnostic), ['t.yaml:6:5: kafka.sasl: scram-sha-512 needs a password (a ${VAR}, so that it is not in the file)']);
  const oauth = compileTopology('t.yaml', topology('  brokers: [b:1]\n  sasl: {mechanism: oauthbearer, tokenFile: /t, password: x}'));
  assert.match(oauth.diagnostics.map(formatDiagnostic).join('\n'), /kafka\.sasl\.password: oauthbearer takes no password/);
  const good = compileTopology('t.yaml', topology('  brokers: [b:1]\n  tls: {ca: /etc/ca.pem, cert: /etc/c.pem, key: "-----BEGIN PRIVATE KEY-----\\nabc"}\n  sasl: {mechanism: plain, username: app, password: hunter2}'));
  assert.ok(good.graph, JSON.stringify(good.diagnostics));
  const json = renderGraph(good.graph, 'json');
  assert.ok(!json.includes('hunter2') && !json.includes('BEGIN PRIVATE'), json);
  assert.deepEqual(JSON.parse(json).kafka, { brokers: ['b:1'], tls: { ca: '/etc/ca.pem', cert: '/etc/c.pem', key: '(PEM text)' }, sasl: { mechanism: 'plain', username: 'app', password: '(secret)' } });
});

test('a broker whose certificate does not verify is said to be a TLS problem, naming the setting to fix, and is not retried', async () => {
  const broker = selfSigned('broker');
  const other = selfSigned('other-ca');
  const server = createServer({ cert: readFileSync(broker.cert), key: readFileSync(broker.key) }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const brokers = [`127.0.0.1:${(server.address() as AddressInfo).port}`];
    const security = resolveSecurity({ brokers, tls: { ca: other.cert } });
    const said: string[] = [];
    await assert.rejects(KafkaLog.connect({ brokers, clientId: 'sec', security, logger: (l) => said.push(l) }), (e: Error) => {
      assert.match(e.message, /^kafka \(127\.0\.0\.1:\d+\): TLS: the broker's certificate does not verify \(self[- ]signed certificate\); give the CA that signed it \(kafka\.tls\.ca, --tls-ca or KAFKA_TLS_CA\)/);
      return true;
    });
    const log = KafkaLog.create({ brokers, clientId: 'sec', security, logger: () => undefined });
    const failure = await log.partitions('x').then(() => undefined, (e: unknown) => e);
    assert.equal(log.retriable(failure), false, 'waiting does not make a certificate trusted');
    assert.match(log.explain(failure) ?? '', /^TLS: /);
    await log.close();
  } finally {
    server.close();
  }
});
