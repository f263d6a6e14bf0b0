import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorJson } from './errors.js';

/** What the HTTP server bounds, besides the body (server/app.ts) and a scan's page (the facade). */
export interface HttpLimits {
  /** Bytes of a request's line (method, URL, version) and headers together; beyond: 431. */
  readonly maxHeaderBytes: number;
  /** Milliseconds a client has to send a request's line and headers; beyond: 408. 0: no limit. */
  readonly headersTimeoutMs: number;
  /** Milliseconds a client has to send a whole request, body included; beyond: 408. 0: no limit. */
  readonly requestTimeoutMs: number;
  /** Milliseconds an idle kept-alive connection stays open after a response. 0: until the client closes it. */
  readonly keepAliveTimeoutMs: number;
  /** Connections served at once; a request on one more is answered 503, and that connection closed. */
  readonly maxConnections: number;
}

/**
 * Node's header size; a slow client (slowloris) gets 10 s for its headers and 30 s for a request
 * (a 1 MB body at 35 KB/s), where Node waits 60 s and 300 s; Node's 5 s keep-alive; and 100
 * connections, each of which may hold a page of a scan or a body of 1 MB in memory at once.
 */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 100,
};

/** A problem with the limits themselves, for the command line to report. */
export function checkLimits(l: HttpLimits): string | undefined {
  if (l.requestTimeoutMs > 0 && l.headersTimeoutMs > l.requestTimeoutMs) return '--http-headers-timeout must not be longer than --http-request-timeout';
  if (!(l.maxConnections >= 1)) return '--http-max-connections must be at least 1';
  if (!(l.maxHeaderBytes >= 1024)) return '--http-max-header-size must be at least 1KiB';
  return undefined;
}

/**
 * A node:http server for `handler` with `limits`, whose every error answer is the API's JSON
 * `{"error": {"code", "message"}}`, including those Node's HTTP parser gives itself (malformed
 * requests, oversized headers, timeouts), which Node would send with an empty body.
 */
export function createHttpServer(handler: RequestListener, limits: HttpLimits = DEFAULT_HTTP_LIMITS): Server {
  const problem = checkLimits(limits);
  if (problem) throw new RangeError(problem);
  const shortest = Math.min(...[limits.headersTimeoutMs, limits.requestTimeoutMs].filter((ms) => ms > 0), 4000);
  const server = createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node looks for expired requests this often (30 s by default, which would let a slow client
    // keep its connection three times the headers timeout).
    connectionsCheckingInterval: Math.max(10, Math.floor(shortest / 4)),
    // Checked below, so the answer is JSON: Node's own is an empty 400.
    requireHostHeader: false,
  });

  // Counted here rather than with server.maxConnections, which closes a connection over the limit
  // without a word. One over the limit is answered 503 at its first request and closed; until
  // then it costs its socket and at most maxHeaderBytes, for at most the headers timeout.
  let open = 0;
  const over = new WeakSet<Duplex>();
  server.on('connection', (socket: Duplex) => {
    if (open >= limits.maxConnections) {
      over.add(socket);
      return;
    }
    open++;
    socket.once('close', () => open--);
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (over.has(req.socket)) {
      res.setHeader('Retry-After', '1');
      return answer(res, 503, 'TOO_MANY_CONNECTIONS', `this server serves at most ${limits.maxConnections} connections at once (--http-max-connections); try again shortly`);
    }
    // RFC 9112 3.2: a server must answer 400 to an HTTP/1.1 request without a Host header.
    if (req.httpVersion === '1.1' && req.headers.host === undefined) return answer(res, 400, 'MISSING_HOST', 'an HTTP/1.1 request needs a Host header');
    handler(req, res);
  });

  // Node answers any Expect but 100-continue with an empty 417 unless this event has a listener.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    answer(res, 417, 'EXPECTATION_FAILED', 'the only expectation this server meets is "Expect: 100-continue"');
  });

  // CONNECT is for proxies; without a listener Node drops the connection unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    answerRaw(socket, 405, 'METHOD_NOT_ALLOWED', 'this server is no proxy: it answers GET and POST, not CONNECT');
  });

  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) => {
    // A response under way on this socket (a pipelined request after it failed) must not be cut
    // into; a client that reset the connection hears nothing either.
    const inFlight = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, code, message } = describeClientError(err, limits);
    answerRaw(socket, status, code, message);
  });
  return server;
}

function describeClientError(err: NodeJS.ErrnoException & { reason?: string }, limits: HttpLimits): { status: number; code: string; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'HEADERS_TOO_LARGE', message: `the request line (its URL) and headers are larger than the ${limits.maxHeaderBytes} bytes this server reads (--http-max-header-size)` };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'REQUEST_TIMEOUT',
        message: `the request did not arrive in time: its headers must come within ${limits.headersTimeoutMs} ms (--http-headers-timeout), all of it within ${limits.requestTimeoutMs} ms (--http-request-timeout)`,
      };
    // 400 rather than 501: llhttp cannot tell an unknown method from bytes that are no HTTP at all,
    // and bad input is never answered 5xx.
    case 'HPE_INVALID_METHOD':
      return { status: 400, code: 'BAD_METHOD', message: 'the request method is not one of HTTP; this server answers GET and POST' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'BODY_TOO_LARGE', message: 'the chunk extensions of the body are larger than this server reads' };
    default:
      return { status: 400, code: 'BAD_REQUEST', message: `the request is not valid HTTP/1.1: ${err.reason ?? err.message}` };
  }
}

function answer(res: ServerResponse, status: number, code: string, message: string): void {
  const body = errorJson(code, message);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

/** Where Node has no response object (parser errors, CONNECT), the response is written to the socket, which then closes. */
function answerRaw(socket: Duplex, status: number, code: string, message: string): void {
  const body = errorJson(code, message);
  // Destroyed once the answer is written: the server's sockets stay open for reading after an end,
  // and what the client sends after a request that failed is of no use.
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
}
