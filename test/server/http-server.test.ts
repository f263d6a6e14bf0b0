import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { eventually, startEngine, type Running } from './harness.js';

// Requests written byte by byte over TCP, as no HTTP client would send them: what Node's HTTP
// parser refuses never reaches express, and must still be answered with the API's JSON errors.

let engine: Running;
let port: number;

before(async () => {
  engine = await startEngine();
  port = portOf(await engine.serve({}, { requestTimeoutMs: 2000, headersTimeoutMs: 2000 }));
});
after(() => engine.close());

const portOf = (url: string): number => Number(new URL(url).port);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A connection that reads answers one at a time (to HEAD: no body); `closed` resolves when the server closes it. */
function open(at: number): Promise<{ socket: Socket; next(head?: boolean): Promise<Answer>; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(at, '127.0.0.1');
    let data = Buffer.alloc(0);
    let ended = false;
    let wake = (): void => undefined;
    socket.on('data', (b: Buffer) => {
      data = Buffer.concat([data, b]);
      wake();
    });
    // A reset after the answer (the server closes with unread input) still leaves the answer read.
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.on('close', () => {
      ended = true;
      wake();
      r();
    }));
    const next = async (head = false): Promise<Answer> => {
      for (;;) {
        const end = data.indexOf('\r\n\r\n');
        if (end >= 0) {
          const [line, ...fields] = data.subarray(0, end).toString('latin1').split('\r\n');
          const headers = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
          const length = head ? 0 : Number(headers['content-length'] ?? NaN);
          if (data.length >= end + 4 + length) {
            const body = data.subarray(end + 4, end + 4 + length).toString('utf8');
            data = data.subarray(end + 4 + length);
            return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(line!)?.[1]), headers, body };
          }
        }
        if (ended) throw new Error(`the server closed the connection without a whole answer: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
        await new Promise<void>((r) => (wake = r));
      }
    };
    socket.once('connect', () => resolve({ socket, next, closed }));
    socket.once('error', reject);
  });
}

/** Sends `request` on a new connection and reads the answer. */
async function send(request: string | Buffer, at = port): Promise<Answer> {
  const c = await open(at);
  c.socket.write(request);
  return c.next();
}

/** The API's one error shape, as JSON with its length, on a connection the server closes. */
function assertJsonError(a: Answer, status: number, code: string): void {
  assert.equal(a.status, status, a.body);
  assert.match(a.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(Number(a.headers['content-length']), Buffer.byteLength(a.body));
  const body = JSON.parse(a.body) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(body.error?.code, code, a.body);
  assert.equal(typeof body.error?.message, 'string');
}

test('what the HTTP parser refuses is answered as JSON: control bytes, unknown methods, oversized URLs and headers', async () => {
  assertJsonError(await send('GET /tables/a\u0001b HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'BAD_REQUEST');
  assertJsonError(await send('GET /tables HTTP/1.1\r\nHost: x\u0000\r\n\r\n'), 400, 'BAD_REQUEST');
  assertJsonError(await send('GET /a b HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'BAD_REQUEST');
  assertJsonError(await send('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'), 400, 'BAD_REQUEST');
  assertJsonError(await send('FROB /tables HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'BAD_METHOD');
  assertJsonError(await send('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), 405, 'METHOD_NOT_ALLOWED');
  const url = await send(`GET /tables/word-counts/keys/${'k'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assertJsonError(url, 431, 'HEADERS_TOO_LARGE');
  assert.match(url.body, /16384 bytes/);
  assertJsonError(await send(`GET /tables HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(17_000)}\r\n\r\n`), 431, 'HEADERS_TOO_LARGE');
  assertJsonError(await send('GET /tables HTTP/1.1\r\n\r\n'), 400, 'MISSING_HOST');
  assertJsonError(await send('GET /tables HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n'), 417, 'EXPECTATION_FAILED');
  // A method the parser knows but no route answers reaches express: a 405 from the route.
  assertJsonError(await send('PROPFIND /tables HTTP/1.1\r\nHost: x\r\n\r\n'), 405, 'METHOD_NOT_ALLOWED');
});

test('a client that never finishes its headers, or its body, gets a 408 once the configured timeouts pass', async () => {
  const at = portOf(await engine.serve({}, { headersTimeoutMs: 200, requestTimeoutMs: 400 }));
  const headers = await open(at);
  headers.socket.write('GET /tables HTTP/1.1\r\nHost: x\r\n');
  assertJsonError(await headers.next(), 408, 'REQUEST_TIMEOUT');
  await headers.closed;
  const body = await open(at);
  body.socket.write('POST /topics/TextLinesTopic/records HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"value": ');
  assertJsonError(await body.next(), 408, 'REQUEST_TIMEOUT');
  await body.closed;
});

test('a connection over the limit is answered 503 and closed; once one closes, a new one is served', async () => {
  const at = portOf(await engine.serve({}, { maxConnections: 2 }));
  const ok = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
  const first = await open(at);
  const second = await open(at);
  for (const c of [first, second]) {
    c.socket.write(ok);
    assert.equal((await c.next()).status, 200);
  }
  const third = await open(at);
  third.socket.write(ok);
  const refused = await third.next();
  assertJsonError(refused, 503, 'TOO_MANY_CONNECTIONS');
  assert.equal(refused.headers['retry-after'], '1');
  await third.closed;
  // The two served connections are kept alive and still served.
  first.socket.write(ok);
  assert.equal((await first.next()).status, 200);
  second.socket.destroy();
  await eventually('a new connection to be served', async () => ((await send(ok, at)).status === 200 ? true : undefined));
  first.socket.destroy();
});

test('fuzzed requests (seeded) are all answered, every error as JSON', async () => {
  let seed = 11;
  const rnd = (n: number): number => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) % n;
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'FROB', 'get', 'G\u0001T', '', 'TRACE', 'M-SEARCH'];
  const paths = ['/tables', '/tables/word-counts', '/tables/word-counts/keys/', '/topics/TextLinesTopic/records', '/healthz', '/metrics', '/', '*', 'nope'];
  const junk = (): string => String.fromCharCode(...Array.from({ length: 1 + rnd(6) }, () => (rnd(4) === 0 ? rnd(32) : 32 + rnd(95))));
  for (let i = 0; i < 300; i++) {
    const method = pick(methods);
    const path = `${pick(paths)}${rnd(3) === 0 ? junk() : ''}${rnd(20) === 0 ? 'u'.repeat(17_000) : ''}`;
    const version = pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.x']);
    const fields = ['Host: x', ...Array.from({ length: rnd(3) }, () => `${rnd(5) === 0 ? junk() : 'X-F'}: ${junk()}`), ...(rnd(20) === 0 ? [`X-Big: ${'h'.repeat(17_000)}`] : [])];
    const request = `${method} ${path} ${version}\r\n${fields.join('\r\n')}\r\n\r\n`;
    const c = await open(port);
    // Not half-closed: Node aborts a request whose client ended its side before the answer.
    c.socket.write(request);
    const a = await c.next(method === 'HEAD').catch((e: Error) => { throw new Error(`${JSON.stringify(request.slice(0, 150))}: ${e.message}`); });
    c.socket.destroy();
    if (method === 'HEAD' && a.status < 500) continue; // no body by definition
    const shown = `${JSON.stringify(request.slice(0, 120))} -> ${a.status} ${a.body.slice(0, 200)}`;
    assert.match(a.headers['content-type'] ?? '', /json/, shown);
    if (a.status >= 400) assert.equal(typeof (JSON.parse(a.body) as { error: { code: unknown } }).error.code, 'string', shown);
    assert.ok(a.status < 500, shown);
  }
});
