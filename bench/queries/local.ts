/**
 * Part a of the queries bench: one engine on the embedded log holding the dataset's count table,
 * served by Duality's HTTP server (createApp + createHttpServer, as `duality run` wires them) and
 * by a bare node:http server answering the same lookups from the same facade.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { compileTopology } from '../../engine/compiler/index.js';
import { EmbeddedLog } from '../../engine/log/embedded-log.js';
import { Engine } from '../../engine/runtime/engine.js';
import { LocalEngineFacade } from '../../engine/runtime/facade.js';
import { createApp } from '../../server/app.js';
import { createHttpServer, DEFAULT_HTTP_LIMITS } from '../../server/http-server.js';
import { produceLines } from '../embedded.js';
import { ROOT } from '../kafka/contenders.js';
import { countOf, keyOf, makeLines, sample, wordsOf } from './dataset.js';

export interface Served {
  readonly facade: LocalEngineFacade;
  readonly duality: string;
  readonly bare: string;
  close(): Promise<void>;
}

/** WordCount over the dataset's `keys` words on the embedded log in `dir`, until all is counted. */
async function filledEngine(keys: number, dir: string): Promise<{ engine: Engine; log: EmbeddedLog }> {
  const { graph } = compileTopology('wordcount.yaml', readFileSync(join(ROOT, 'topologies/wordcount.yaml'), 'utf8'));
  if (!graph) throw new Error('wordcount.yaml does not compile');
  const log = await EmbeddedLog.open(join(dir, 'log'));
  const lines = makeLines(keys);
  await produceLines(log, lines);
  const engine = new Engine({ graph, log, stateDir: join(dir, 'state'), logger: () => undefined });
  await engine.start();
  const running = engine.run();
  let failure: unknown;
  running.catch((e: unknown) => (failure = e));
  // Sub-topology 0 reads every line, sub-topology 1 every word.
  while (engine.processed < lines.length + wordsOf(keys)) {
    if (failure) throw failure;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { engine, log };
}

function listen(handler: RequestListener, server: Server = createServer(handler)): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

/** The two servers over one filled engine, its answers checked for a sample of keys first. */
export async function serveLocal(keys: number, dir: string): Promise<Served> {
  const { engine, log } = await filledEngine(keys, dir);
  const facade = new LocalEngineFacade(engine, log);
  for (const i of sample(keys, 1000, 3)) {
    const found = await facade.get('word-counts', keyOf(i));
    if (!found || !('value' in found) || found.value !== countOf(i)) throw new Error(`the engine counted ${keyOf(i)} ${JSON.stringify(found)}, expected ${countOf(i)}`);
  }
  const app = createApp(facade, { log: (l) => console.error(l) });
  const duality = await listen(app, createHttpServer(app, DEFAULT_HTTP_LIMITS));
  // What an application would write by hand: the route, the facade, JSON.
  const bare = await listen((req, res) => {
    const [, tables, table, keysPart, key] = (req.url ?? '').split('/');
    if (tables !== 'tables' || keysPart !== 'keys' || table === undefined || key === undefined) {
      res.writeHead(404).end();
      return;
    }
    facade.get(decodeURIComponent(table), decodeURIComponent(key)).then(
      (found) => {
        res.writeHead(found === undefined ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(found ?? { error: { code: 'KEY_NOT_FOUND' } }));
      },
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  return {
    facade,
    duality: duality.url,
    bare: bare.url,
    async close() {
      for (const s of [duality.server, bare.server]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
      await engine.stop();
      await facade.close();
      await log.close();
    },
  };
}
