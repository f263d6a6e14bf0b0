import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of one port, for a bad network between Duality and its broker:
 * every chunk, each way, is held `latencyMs` before it is passed on (in order), and `cut()` drops
 * every connection at once, as a failing switch or a NAT that forgets its table would. A broker
 * behind it must advertise the proxy's port (SuiteBroker's `advertisedPort`): kafka clients only
 * bootstrap on the address they are given, then connect to the advertised one.
 */
export class DelayProxy {
  /** Held before each chunk goes on; changed at any time, it applies to chunks that arrive after. */
  latencyMs: number;
  /** Connections dropped by `cut` so far. */
  cutConnections = 0;
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();

  private constructor(
    private readonly targetPort: number,
    latencyMs: number,
  ) {
    this.latencyMs = latencyMs;
    this.server = createServer((client) => this.accept(client));
  }

  /** A proxy to 127.0.0.1:`targetPort`, listening on `port` (0: a free one; see `port`). */
  static async start(targetPort: number, options: { port?: number; latencyMs?: number } = {}): Promise<DelayProxy> {
    const proxy = new DelayProxy(targetPort, options.latencyMs ?? 0);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy does not listen');
    return address.port;
  }

  /** Connections open now (client side). */
  get connections(): number {
    return this.pairs.size;
  }

  /** Drops every open connection (both sides reset); new ones are accepted as before. */
  cut(): number {
    const n = this.pairs.size;
    for (const [client, upstream] of this.pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.pairs.clear();
    this.cutConnections += n;
    return n;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    // One side gone (a refused connection while the broker is down, too): the other goes as well.
    const drop = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.setNoDelay(true);
      s.on('error', drop);
      s.on('close', drop);
    }
    this.relay(client, upstream);
    this.relay(upstream, client);
  }

  /** Passes `from`'s chunks to `to`, each `latencyMs` after it came, never out of order. */
  private relay(from: Socket, to: Socket): void {
    const queue: { due: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && queue[0]!.due <= now) {
        if (to.destroyed) return;
        to.write(queue.shift()!.chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0]!.due - now);
    };
    from.on('data', (chunk: Buffer) => {
      // A chunk never overtakes the one before it, even when the latency was lowered in between.
      const due = Math.max(Date.now() + this.latencyMs, queue.at(-1)?.due ?? 0);
      queue.push({ due, chunk });
      timer ??= setTimeout(pump, due - Date.now());
    });
    from.on('close', () => clearTimeout(timer));
  }
}
