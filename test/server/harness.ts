import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileTopologyFile } from '../../engine/compiler/index.js';
import { EmbeddedLog } from '../../engine/log/embedded-log.js';
import { Engine } from '../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../engine/runtime/facade.js';
import { createApp, type AppOptions } from '../../server/app.js';
import { createHttpServer, DEFAULT_HTTP_LIMITS, type HttpLimits } from '../../server/http-server.js';

/**
 * The word count (with a sink), a table keyed by long (typed keys from URLs), a windowed and a session table, a
 * source table, and a table whose values grow by concatenation (for big entries).
 */
export const TOPOLOGY = `version: 1
name: apptest
streams:
  lines:
    topic: TextLinesTopic
    key: string
    value: string
  orders:
    topic: orders
    key: long
    value: json
  pieces:
    topic: pieces
    key: string
    value: string
tables:
  word-counts:
    from: lines
    steps:
      - flatMapValues: split(lower(value), "\\\\W+")
      - filter: value != ""
      - groupBy: value
      - count
    to:
      topic: WordsWithCountsTopic
      value: long
  orders-per-customer:
    from: orders
    steps:
      - groupByKey
      - count
  words-per-minute:
    from: lines
    steps:
      - flatMapValues: words(value)
      - groupBy: value
      - window: {type: tumbling, size: 1m}
      - count
  word-sessions:
    from: lines
    steps:
      - flatMapValues: words(value)
      - groupBy: value
      - window: {type: session, gap: 5m}
      - count
  prices:
    topic: prices
    key: string
    value: long
  joined:
    from: pieces
    steps:
      - groupByKey
      - reduce: agg + value
`;

export interface Running {
  readonly facade: LocalEngineFacade;
  readonly engineLog: string[];
  /** Serves an app over the running engine on 127.0.0.1 on a free port, as `duality run` does; returns its base URL. */
  serve(options?: AppOptions, limits?: Partial<HttpLimits>): Promise<string>;
  close(): Promise<void>;
}

/** A real engine on an in-memory embedded log, processing in the background as `duality run` does. */
export async function startEngine(topology = TOPOLOGY): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'duality-server-'));
  writeFileSync(join(dir, 'topology.yaml'), topology);
  const { graph, diagnostics } = compileTopologyFile(join(dir, 'topology.yaml'));
  if (!graph) throw new Error(`test topology is invalid: ${JSON.stringify(diagnostics)}`);
  const log = EmbeddedLog.inMemory();
  const engineLog: string[] = [];
  const engine = new Engine({ graph, log, stateDir: join(dir, 'state'), logger: (l) => engineLog.push(l), endpoint: 'apptest-instance:1' });
  await engine.start();
  const running = engine.run();
  const facade = new LocalEngineFacade(engine, log);
  const servers: Server[] = [];
  return {
    facade,
    engineLog,
    async serve(options = {}, limits = {}) {
      const server = createHttpServer(createApp(facade, { log: (l) => engineLog.push(l), ...options }), { ...DEFAULT_HTTP_LIMITS, ...limits });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
      try {
        await engine.stop();
        await running;
        await facade.close();
        await log.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Polls until `check` gives a value (processing and commits are asynchronous), for at most 20 s. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + 20_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
