import type { SecurityOverrides } from '../kafka/security.js';
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { createApp } from '../../server/app.js';
import { createHttpServer, DEFAULT_HTTP_LIMITS, type HttpLimits } from '../../server/http-server.js';
import type { Serde, TopologyGraph } from '../api/topology-graph.js';
import type { ProcessingOverrides } from '../compiler/index.js';
import { formatDuration } from '../compiler/duration.js';
import { Engine } from './engine.js';
import { LocalEngineFacade } from './facade.js';
import { createLogger, type LogSettings } from './logger.js';
import { compileOrSay, openLog } from './open-log.js';
import { RegistryClient } from '../serde/registry-client.js';
import { registryConnection } from '../serde/registry-config.js';
import { RegistrySerdes, usesRegistry } from '../serde/registry-serdes.js';
import { isRegistrySerde } from '../serde/schema-format.js';
import { IncompatibleUpgradeError } from '../upgrades/recorded.js';

export interface RunOptions {
  readonly file: string;
  /** `--brokers`; with KAFKA_BROKERS or the topology's `kafka:` section, asks for Kafka. */
  readonly brokers?: string;
  /** `--tls-ca`, `--sasl-mechanism`, ... (docs/kafka.md). */
  readonly security?: SecurityOverrides;
  /** `--schema-registry`: the Schema Registry's URL, over SCHEMA_REGISTRY_URL and kafka.schemaRegistry.url. */
  readonly schemaRegistry?: string;
  readonly port: number;
  readonly host: string;
  /** `host:port` other instances reach this one's HTTP API at; default: the host and port it listens on. */
  readonly advertise?: string;
  readonly stateDir: string;
  /** `--no-create-topics`: missing source, sink and dead-letter topics are an error instead. */
  readonly noCreateTopics?: boolean;
  /** `--cache-max-bytes`: what every store cache and held table update of the engine hold together (EngineOptions.cacheMaxBytes). */
  readonly cacheMaxBytes?: number;
  /** `--http-*`: the HTTP server's limits. */
  readonly http?: HttpLimits;
  /**
   * `--shutdown-delay`: after SIGTERM, how long /readyz answers 503 while the instance goes on
   * processing and answering, before it stops: time for a load balancer (a Kubernetes Service) to
   * stop sending it requests. Default 0.
   */
  readonly shutdownDelayMs?: number;
  /** `--guarantee`, `--standby-replicas`: over the topology's `processing:` section. */
  readonly processing?: ProcessingOverrides;
  readonly env: NodeJS.ProcessEnv;
  readonly out: { stdout(line: string): void; stderr(line: string): void };
  /** How the log on stderr is written; human lines at info by default. */
  readonly log?: LogSettings;
}

/** How long a stop may take before the process gives up on a clean one (Kubernetes waits 30 s). */
const STOP_DEADLINE_MS = 10_000;
/** As Engine.run: bounds the output a commit holds. */
/** In-flight requests get this long to finish before their connections are cut. */
const DRAIN_MS = 2_000;

/**
 * `duality run`: compiles the topology, runs it on Kafka (when brokers are given) or on the
 * embedded log, with the HTTP API beside it, and stops cleanly on SIGTERM or SIGINT. Resolves with
 * the exit status: 0 after a clean stop, 1 for an invalid topology or a fatal error, 2 for a usage
 * error or a new version of the topology that would misread or drop its state (docs/upgrades.md).
 */
export async function runTopology(o: RunOptions): Promise<number> {
  // Everything on stderr is the log; secrets are hidden once the topology says which they are.
  let redact = (l: string): string => l;
  const say = createLogger({ ...(o.log ?? { level: 'info', format: 'human' }), write: (l) => o.out.stderr(l), redact: (l) => redact(l) });
  const compiled = compileOrSay(o.file, o.env, { stdout: (l) => o.out.stdout(l), stderr: (l) => say.error(l) }, o.processing);
  if (!compiled) return 1;
  const { graph } = compiled;
  redact = compiled.redact;
  const out = { stdout: compiled.out.stdout, stderr: (l: string) => say.error(l) };
  const registry = registrySerdes(graph, o, out.stderr);
  if (typeof registry === 'number') return registry;
  const opened = await openLog(graph, { ...(o.brokers !== undefined && { brokers: o.brokers }), ...(o.security !== undefined && { security: o.security }), stateDir: o.stateDir, env: o.env, stderr: (l) => say.error(l), warn: (l) => say.warn(l), connectLater: true });
  if ('exit' in opened) return opened.exit;
  const { log, where } = opened;
  // Listening first: the port (0 picks one) is part of the endpoint the engine advertises. No
  // request is read before the app is set, in the same tick as the listen resolves.
  let app: RequestListener | undefined;
  const server = createHttpServer((req, res) => app!(req, res), o.http ?? DEFAULT_HTTP_LIMITS);
  try {
    await listen(server, o.port, o.host);
  } catch (e) {
    out.stderr(`duality: cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
    await log.close().catch(() => undefined);
    return 1;
  }
  const port = (server.address() as AddressInfo).port;
  const endpoint = o.advertise || o.env.DUALITY_ADVERTISE || `${o.host === '0.0.0.0' || o.host === '::' ? hostname() : o.host}:${port}`;
  const engine = new Engine({ graph, log, stateDir: o.stateDir, createTopics: !o.noCreateTopics, checkUpgrade: true, ...(o.cacheMaxBytes !== undefined && { cacheMaxBytes: o.cacheMaxBytes }), logger: say, endpoint, ...(registry && { registry }) });
  const facade = new LocalEngineFacade(engine, log);
  const token = o.env.DUALITY_API_TOKEN || undefined;
  app = createApp(facade, { ...(token && { token }), log: (l) => say.error(l) });

  // Set by the first signal: ends the processing loop, and a stop that hangs must not keep a
  // container from restarting.
  let deadline: NodeJS.Timeout | undefined;
  /** Exits with `code` unless cleared: `afterMs` is the stop's deadline, plus any delay before the stop begins. */
  const giveUpAfter = (afterMs: number, code: number): NodeJS.Timeout =>
    setTimeout(() => {
      say.error(`duality: did not stop within ${STOP_DEADLINE_MS / 1000} s; exiting`);
      process.exit(code);
    }, afterMs).unref();
  const onSignal = (name: NodeJS.Signals): void => {
    if (deadline) {
      say.warn(`duality: ${name} again; exiting without a clean stop`);
      process.exit(1);
    }
    const delay = o.shutdownDelayMs ?? 0;
    if (delay > 0) {
      say.info(`duality: ${name}: /readyz answers 503 from now; stopping in ${formatDuration(delay)} (finishing the batch, committing, closing stores)`);
      facade.announceStop(`stopping: ${name} received`);
      setTimeout(() => engine.requestStop(), delay).unref();
    } else {
      say.info(`duality: ${name}: stopping (finishing the batch, committing, closing stores)`);
      engine.requestStop();
    }
    deadline = giveUpAfter(delay + STOP_DEADLINE_MS, 1);
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  const done = async (code: number, stopEngine: boolean): Promise<number> => {
    // A stop that hangs (a broker gone mid-close) must not keep the process alive, signal or not.
    deadline ??= giveUpAfter(STOP_DEADLINE_MS, code || 1);
    await closeServer(server);
    if (stopEngine) await engine.stop().catch((e: unknown) => (code = fail(out, 'stopping failed', e)));
    await facade.close().catch(() => undefined);
    await log.close().catch(() => undefined);
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    clearTimeout(deadline);
    return code;
  };

  const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  out.stdout(`duality: ${graph.name} running on ${where}, ${url}`);
  for (const line of tryLines(graph, url, token !== undefined)) out.stdout(line);

  try {
    // Restoring stores can take a while; a signal meanwhile stops right after (or the deadline hits).
    await engine.start();
  } catch (e) {
    if (e instanceof IncompatibleUpgradeError) {
      for (const l of e.lines) out.stderr(`duality: ${l}`);
      return done(2, false);
    }
    return done(fail(out, 'the engine did not start', e), false);
  }
  try {
    await engine.run();
  } catch (e) {
    return done(fail(out, 'processing stopped', e), true);
  }
  return done(0, true);
}

/**
 * The serdes of a topology with avro, protobuf or json-schema topics, on the registry the options
 * name; undefined for a topology without any; 2 (a usage error, said) when no registry is given,
 * 1 when its settings are wrong. Pinned schemas need a registry too: the records carry the id the
 * registry gave their schema, which is what makes them readable by any other consumer.
 */
function registrySerdes(graph: TopologyGraph, o: RunOptions, stderr: (line: string) => void): RegistrySerdes | undefined | number {
  if (!usesRegistry(graph)) return undefined;
  let connection;
  try {
    connection = registryConnection(graph.kafka?.schemaRegistry, o.schemaRegistry, o.env);
    if (connection === undefined) {
      stderr('duality: the topology reads or writes avro, protobuf or json-schema, which need a Schema Registry: give its URL with --schema-registry, SCHEMA_REGISTRY_URL or kafka.schemaRegistry.url');
      return 2;
    }
    return new RegistrySerdes(graph, new RegistryClient(connection));
  } catch (e) {
    stderr(`duality: ${(e as Error).message}`);
    return 1;
  }
}

function fail(out: RunOptions['out'], what: string, e: unknown): number {
  out.stderr(`duality: ${what}: ${e instanceof Error ? e.message : String(e)}`);
  return 1;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting; requests in flight may finish (a POST answered is durable), then the rest are cut. */
function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS).unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Ready-to-paste commands for the first source topic and the first table, so a new user sees data flow. */
function tryLines(graph: TopologyGraph, url: string, token: boolean): string[] {
  const auth = token ? ` -H "Authorization: Bearer $DUALITY_API_TOKEN"` : '';
  const lines: string[] = [];
  const source = graph.nodes.find((n) => n.type === 'source' || n.type === 'table-source');
  // A record for an avro, protobuf or json-schema topic is no one-liner.
  if (source?.topic !== undefined && !isRegistrySerde(source.keySerde) && !isRegistrySerde(source.valueSerde)) {
    // The key is left out only where it cannot matter: the records are re-keyed (repartitioned) first.
    const sub = graph.subtopologies.find((s) => s.nodes.includes(source.id));
    const rekeyed = sub?.nodes.some((id) => graph.nodes.find((n) => n.id === id)?.type === 'repartition-sink') ?? false;
    const withKey = source.type === 'table-source' || !rekeyed;
    const record = `{${withKey ? `"key": ${sample(source.keySerde, 'key')}, ` : ''}"value": ${sample(source.valueSerde, 'value')}}`;
    lines.push(`curl -X POST ${url}/topics/${encodeURIComponent(source.topic)}/records -H 'content-type: application/json'${auth} -d '${record}'`);
  }
  const table = graph.definitions.find((d) => d.kind === 'table' && d.store !== undefined && !d.windowed);
  if (table) lines.push(`curl${auth} ${url}/tables/${encodeURIComponent(table.name)}/keys/${encodeURIComponent(String(JSON.parse(sample(table.keySerde, 'key'))))}`);
  return lines.map((l, i) => `${i === 0 ? '  try: ' : '       '}${l}`);
}

/** A JSON sample of a serde's values: for the word count, a line whose words become the keys. */
function sample(serde: Serde, role: 'key' | 'value'): string {
  switch (serde) {
    case 'long':
    case 'int':
      return '1';
    case 'double':
      return '1.5';
    case 'bytes':
      return '"aGVsbG8="';
    case 'json':
      return role === 'key' ? '"hello"' : '{"hello": "world"}';
    default:
      return role === 'key' ? '"hello"' : '"hello world"';
  }
}
