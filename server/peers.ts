import { Agent, request, type IncomingHttpHeaders } from 'node:http';

/** What another instance answered. */
export interface PeerAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** The other instance could not be asked: refused, reset, or silent past the timeout. */
export class PeerUnreachable extends Error {
  constructor(
    readonly endpoint: string,
    reason: string,
  ) {
    super(`instance ${endpoint} did not answer: ${reason}`);
    this.name = 'PeerUnreachable';
  }
}

/**
 * How long a forwarded call may take: a lookup answers in a millisecond, so a peer this slow is
 * frozen or overloaded, and the client is better served by a 503 it can retry.
 */
export const FORWARD_TIMEOUT_MS = 3000;
/** An answer bigger than this is refused: a scan page is bounded at 1 MiB, 1,000 keys' values rarely reach it. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * Calls to the other instances of the group, over kept-alive connections (a pooled agent): a
 * forwarded lookup costs one round-trip, not a TCP handshake too.
 */
export class Peers {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, scheduling: 'lifo' });

  constructor(private readonly timeoutMs = FORWARD_TIMEOUT_MS) {}

  call(endpoint: string, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: Buffer): Promise<PeerAnswer> {
    const { host, port } = splitEndpoint(endpoint);
    return new Promise((resolve, reject) => {
      const req = request({ host, port, method, path, headers: body ? { ...headers, 'content-length': String(body.length) } : headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`its answer is larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (e) => reject(new PeerUnreachable(endpoint, e.message)));
      });
      // From the call, not from when a pooled connection frees up: a frozen peer holds every
      // connection to it, and calls queued behind them must not wait longer than the timeout.
      const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new PeerUnreachable(endpoint, e.code === 'ECONNRESET' || e.code === undefined ? e.message : e.code)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `host:port`, `[v6]:port`. */
function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(endpoint.slice(i + 1)) };
}
