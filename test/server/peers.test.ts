import assert from 'node:assert/strict';
import { createServer as createHttp } from 'node:http';
import { createServer as createTcp, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Peers, PeerUnreachable } from '../../server/peers.js';

async function listen<S extends Server | ReturnType<typeof createHttp>>(server: S): Promise<{ endpoint: string; close: () => Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, close: () => new Promise((r) => server.close(() => r())) };
}

test('a call to another instance carries its headers and body over a kept-alive connection, and answers its status, headers and body', async () => {
  const seen: { method?: string; url?: string; auth?: string; body: string; socket: unknown }[] = [];
  const server = createHttp((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization!, body, socket: req.socket });
      res.writeHead(404, { 'duality-served-by': 'b:1', 'content-type': 'application/json' }).end('{"x":1}');
    });
  });
  const { endpoint, close } = await listen(server);
  const peers = new Peers(2000);
  try {
    const a = await peers.call(endpoint, 'POST', '/tables/t/keys', { authorization: 'Bearer s3cret', 'content-type': 'application/json' }, Buffer.from('{"keys":[1]}'));
    const b = await peers.call(endpoint, 'GET', '/tables/t/keys/k?from=1', {});
    assert.equal(a.status, 404);
    assert.equal(a.headers['duality-served-by'], 'b:1');
    assert.equal(a.body.toString(), '{"x":1}');
    assert.equal(b.status, 404);
    assert.deepEqual(seen.map(({ method, url, auth, body }) => [method, url, auth, body]), [
      ['POST', '/tables/t/keys', 'Bearer s3cret', '{"keys":[1]}'],
      ['GET', '/tables/t/keys/k?from=1', undefined, ''],
    ]);
    assert.equal(seen[0]!.socket, seen[1]!.socket, 'the second call reused the connection');
  } finally {
    peers.close();
    server.closeAllConnections();
    await close();
  }
});

test('an instance that refuses connections, or accepts and never answers, is unreachable, also for calls queued behind a full pool', async () => {
  const sockets: import('node:net').Socket[] = [];
  const frozen = createTcp((s) => sockets.push(s)); // accepts, reads nothing, answers nothing
  const { endpoint, close } = await listen(frozen);
  const peers = new Peers(300);
  try {
    // More calls than the pool has connections: those queued fail too, not only those sent.
    const calls = await Promise.allSettled(Array.from({ length: 70 }, () => peers.call(endpoint, 'GET', '/healthz', {})));
    for (const c of calls) {
      assert.equal(c.status, 'rejected');
      assert.ok((c as PromiseRejectedResult).reason instanceof PeerUnreachable);
      assert.match((c as PromiseRejectedResult).reason.message, new RegExp(`instance ${endpoint} did not answer: no answer within 300 ms`));
    }
    for (const s of sockets) s.destroy();
    await close();
    await assert.rejects(peers.call(endpoint, 'GET', '/healthz', {}), (e: Error) => e instanceof PeerUnreachable && /ECONNREFUSED/.test(e.message));
  } finally {
    peers.close();
  }
});
