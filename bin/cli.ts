import type { SecurityOverrides } from '../engine/kafka/security.js';
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { formatDiagnostic, type Diagnostic } from '../engine/api/diagnostics.js';
import { compileTopology, compileTopologyFile, PASSES, type ProcessingOverrides } from '../engine/compiler/index.js';
import { loadTestFile, looksLikeTestFile } from '../engine/test-file/validate.js';
import { FORMATS, renderGraph, type Format } from '../engine/describe/index.js';
import { formatDuration, parseDuration } from '../engine/compiler/duration.js';
import { DEFAULT_CACHE_MAX_BYTES } from '../engine/state/cache-budget.js';
import { checkLimits, DEFAULT_HTTP_LIMITS, type HttpLimits } from '../server/http-server.js';
import { logLevelFrom } from '../engine/runtime/log-level.js';

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Flags that are gone, each with what to use instead: given, they are a usage error that says so. */
  readonly removed?: Readonly<Record<string, string>>;
  run(args: { values: Record<string, unknown>; positionals: string[] }, out: Output): number | Promise<number>;
}

/** Where the CLI writes; colour only on a terminal, and never when NO_COLOR is set. */
export interface Output {
  stdout(line: string): void;
  stderr(line: string): void;
  readonly color: boolean;
  /** Whether stderr is a terminal: `run` then logs human lines, else JSON lines. */
  readonly terminal?: boolean;
}

const MiB = 1024 * 1024;

const paint = (on: boolean, code: string, s: string): string => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

function printDiagnostics(list: readonly Diagnostic[], out: Output): void {
  for (const d of list) {
    const line = formatDiagnostic(d);
    if (!out.color) out.stderr(line);
    else {
      const where = `${d.file}:${d.line}:${d.col}:`;
      out.stderr(paint(true, '1', where) + paint(true, '31', line.slice(where.length)));
    }
  }
}

/** TLS and SASL to the brokers, for `run` and `reset` (docs/kafka.md). */
const SECURITY_OPTIONS = {
  tls: { type: 'boolean' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'sasl-mechanism': { type: 'string' },
  'sasl-username': { type: 'string' },
  'sasl-token-file': { type: 'string' },
} as const;

const COMMANDS: Record<string, Command> = {
  validate: {
    summary: 'check topology files; print `ok` per valid file, else one `file:line:col: path: message` line per problem',
    usage: 'duality validate FILE...',
    options: {},
    run({ positionals }, out) {
      if (positionals.length === 0) return usage(out, 'validate needs at least one FILE');
      let failed = false;
      for (const file of positionals) {
        const { diagnostics } = validateFile(file);
        if (diagnostics.length === 0) out.stdout(`${file}: ${paint(out.color, '32', 'ok')}`);
        else {
          failed = true;
          printDiagnostics(diagnostics, out);
        }
      }
      return failed ? 1 : 0;
    },
  },
  test: {
    summary: 'run topology test files (docs/testing.md) on the in-memory log; report pass/fail per case',
    usage: 'duality test FILE...',
    options: {},
    async run({ positionals }, out) {
      if (positionals.length === 0) return usage(out, 'test needs at least one FILE');
      const { runTestFile } = await import('../engine/test-runner/run-tests.js');
      const total = { passed: 0, failed: 0 };
      for (const file of positionals) {
        const s = await runTestFile(file, { line: (l) => out.stdout(l), color: out.color });
        total.passed += s.passed;
        total.failed += s.failed;
      }
      out.stdout(`${total.passed} passed, ${total.failed} failed`);
      return total.failed > 0 ? 1 : 0;
    },
  },
  run: {
    summary: 'run a topology (on the embedded log when no brokers are given) with its HTTP API: queries, writes, metrics',
    usage: 'duality run FILE [--brokers LIST] [--schema-registry URL] [--tls] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--sasl-mechanism M --sasl-username U | --sasl-token-file FILE] [--port N] [--host HOST] [--advertise HOST:PORT] [--state-dir DIR] [--no-create-topics] [--cache-max-bytes SIZE] [--guarantee G] [--standby-replicas N] [--max-task-idle D|disabled] [--shutdown-delay D] [--http-... LIMIT]',
    options: {
      brokers: { type: 'string' },
      'schema-registry': { type: 'string' },
      ...SECURITY_OPTIONS,
      port: { type: 'string', short: 'p', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      advertise: { type: 'string' },
      'no-create-topics': { type: 'boolean' },
      'state-dir': { type: 'string', default: './state' },
      'cache-max-bytes': { type: 'string', default: `${DEFAULT_CACHE_MAX_BYTES / MiB}MiB` },
      guarantee: { type: 'string' },
      'standby-replicas': { type: 'string' },
      'max-task-idle': { type: 'string' },
      'shutdown-delay': { type: 'string', default: '0s' },
      'http-max-connections': { type: 'string', default: String(DEFAULT_HTTP_LIMITS.maxConnections) },
      'http-max-header-size': { type: 'string', default: `${DEFAULT_HTTP_LIMITS.maxHeaderBytes / 1024}KiB` },
      'http-headers-timeout': { type: 'string', default: formatDuration(DEFAULT_HTTP_LIMITS.headersTimeoutMs) },
      'http-request-timeout': { type: 'string', default: formatDuration(DEFAULT_HTTP_LIMITS.requestTimeoutMs) },
      'http-keep-alive-timeout': { type: 'string', default: formatDuration(DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs) },
    },
    removed: { 'cache-entries': 'the caches are bounded by bytes now; use --cache-max-bytes SIZE (default 10MiB; 0 forwards every table update)' },
    async run({ values, positionals }, out) {
      if (positionals.length !== 1) return usage(out, 'run takes exactly one FILE');
      const cacheMaxBytes = parseBytes(values['cache-max-bytes'] as string);
      if (cacheMaxBytes === undefined) return usage(out, `--cache-max-bytes must be a size such as 10MiB, 512KiB or 0 (0 forwards every table update), not "${values['cache-max-bytes'] as string}"`);
      const http = httpLimits(values);
      if (typeof http === 'string') return usage(out, http);
      const port = values.port as string;
      const advertise = values.advertise as string | undefined;
      if (advertise !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):[0-9]{1,5}$/.test(advertise)) return usage(out, `--advertise must be HOST:PORT (how other instances reach this one), not "${advertise}"`);
      if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) return usage(out, `--port must be a number from 0 to 65535 (0 picks a free port), not "${port}"`);
      const processing = processingFlags(values);
      if (typeof processing === 'string') return usage(out, processing);
      const level = logLevelFrom(process.env);
      if (typeof level !== 'string') return usage(out, level.error);
      const shutdownDelayMs = parseDuration(values['shutdown-delay'] as string);
      if (shutdownDelayMs === undefined || shutdownDelayMs > 600_000) return usage(out, `--shutdown-delay must be a duration from 0s to 10m such as 5s, not "${values['shutdown-delay'] as string}"`);
      // Loaded only here: express and prom-client have no business in validate or describe.
      const { runTopology } = await import('../engine/runtime/run.js');
      return runTopology({
        file: positionals[0]!,
        ...(values.brokers !== undefined && { brokers: values.brokers as string }),
        security: securityFlags(values),
        ...(values['schema-registry'] !== undefined && { schemaRegistry: values['schema-registry'] as string }),
        port: Number(port),
        host: values.host as string,
        ...(values.advertise !== undefined && { advertise: values.advertise as string }),
        noCreateTopics: values['no-create-topics'] === true,
        cacheMaxBytes,
        http,
        processing,
        shutdownDelayMs,
        stateDir: values['state-dir'] as string,
        env: process.env,
        out,
        log: { level, format: out.terminal ? 'human' : 'json', color: out.color },
      });
    },
  },
  reset: {
    summary: 'reprocess from scratch: rewind the source offsets to the start, delete the internal topics and the local state',
    usage: 'duality reset FILE [--brokers LIST] [--tls] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--sasl-mechanism M --sasl-username U | --sasl-token-file FILE] [--state-dir DIR]',
    options: {
      brokers: { type: 'string' },
      ...SECURITY_OPTIONS,
      'state-dir': { type: 'string', default: './state' },
    },
    async run({ values, positionals }, out) {
      if (positionals.length !== 1) return usage(out, 'reset takes exactly one FILE');
      const { resetTopology } = await import('../engine/runtime/reset.js');
      return resetTopology({
        file: positionals[0]!,
        ...(values.brokers !== undefined && { brokers: values.brokers as string }),
        security: securityFlags(values),
        stateDir: values['state-dir'] as string,
        env: process.env,
        out,
      });
    },
  },
  diff: {
    summary: 'say whether a new version of a topology can run over the state the old one left, and what changes (docs/upgrades.md)',
    usage: 'duality diff OLD NEW [--json]',
    options: { json: { type: 'boolean' } },
    async run({ values, positionals }, out) {
      if (positionals.length !== 2) return usage(out, 'diff takes two FILEs: the topology running now, and its new version');
      const { diffTopologies } = await import('../engine/upgrades/diff-command.js');
      return diffTopologies({ oldFile: positionals[0]!, newFile: positionals[1]!, json: values.json === true, env: process.env, out });
    },
  },
  describe: {
    summary: 'show the compiled topology: sub-topologies, nodes, topics, stores and repartition points',
    usage: `duality describe FILE [--format ${FORMATS.join('|')}] [--pass NAME]`,
    options: { format: { type: 'string', short: 'f', default: 'text' }, pass: { type: 'string' } },
    run({ values, positionals }, out) {
      if (positionals.length !== 1) return usage(out, 'describe takes exactly one FILE');
      const format = values.format as string;
      if (!(FORMATS as readonly string[]).includes(format)) return usage(out, `--format must be one of ${FORMATS.join(', ')}`);
      const pass = values.pass as string | undefined;
      if (pass !== undefined && !PASSES.some((p) => p.name === pass)) {
        return usage(out, `--pass must be one of ${PASSES.map((p) => p.name).join(', ')}`);
      }
      const result = compileTopologyFile(positionals[0]!, pass ? { stopAfter: pass } : {});
      if (result.diagnostics.length > 0) {
        printDiagnostics(result.diagnostics, out);
        return 1;
      }
      if (pass) {
        const { raw: _raw, ...state } = result.state!;
        out.stdout(JSON.stringify(state, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v), 2));
        return 0;
      }
      out.stdout(renderGraph(result.graph!, format as Format).trimEnd());
      return 0;
    },
  },
};

const UNITS: Record<string, number> = { '': 1, KiB: 1024, MiB, GiB: 1024 * MiB };

/** Bytes in "10MiB", "512KiB", "1GiB" or a plain number of bytes; undefined if it is not one. */
function parseBytes(text: string): number | undefined {
  const m = /^([0-9]{1,12})(KiB|MiB|GiB)?$/.exec(text);
  return m ? Number(m[1]) * UNITS[m[2] ?? '']! : undefined;
}

/**
 * `duality run --guarantee G --standby-replicas N --max-task-idle D` (what a deployment decides, as
 * Kafka Streams' processing.guarantee, num.standby.replicas and max.task.idle.ms are configuration), or what is wrong with them.
 */
function processingFlags(values: Record<string, unknown>): ProcessingOverrides | string {
  const guarantee = values.guarantee as string | undefined;
  const standby = values['standby-replicas'] as string | undefined;
  const idle = values['max-task-idle'] as string | undefined;
  if (guarantee !== undefined && guarantee !== 'at_least_once' && guarantee !== 'exactly_once') return `--guarantee must be at_least_once or exactly_once, not "${guarantee}"`;
  if (standby !== undefined && !/^[0-9]{1,3}$/.test(standby)) return `--standby-replicas must be a whole number from 0 to 999, not "${standby}"`;
  if (idle !== undefined && idle !== 'disabled' && parseDuration(idle) === undefined) return `--max-task-idle must be a duration such as 0s or 500ms, or "disabled", not "${idle}"`;
  return { ...(guarantee !== undefined && { guarantee }), ...(standby !== undefined && { standbyReplicas: Number(standby) }), ...(idle !== undefined && { maxTaskIdle: idle }) };
}

/** `duality run`'s --http-* flags, or what is wrong with them. */
function httpLimits(values: Record<string, unknown>): HttpLimits | string {
  const text = (flag: string): string => values[flag] as string;
  const duration = (flag: string): number | string => parseDuration(text(flag)) ?? `--${flag} must be a duration such as 10s or 500ms (0s: no limit), not "${text(flag)}"`;
  const limits = {
    maxConnections: /^[0-9]{1,9}$/.test(text('http-max-connections')) ? Number(text('http-max-connections')) : `--http-max-connections must be a whole number from 1, not "${text('http-max-connections')}"`,
    maxHeaderBytes: parseBytes(text('http-max-header-size')) ?? `--http-max-header-size must be a size such as 16KiB, not "${text('http-max-header-size')}"`,
    headersTimeoutMs: duration('http-headers-timeout'),
    requestTimeoutMs: duration('http-request-timeout'),
    keepAliveTimeoutMs: duration('http-keep-alive-timeout'),
  };
  const wrong = Object.values(limits).find((v) => typeof v === 'string');
  return wrong ?? checkLimits(limits as HttpLimits) ?? (limits as HttpLimits);
}

/** A topology, or a topology test file (which names its topology): both are checked. */
function validateFile(file: string): { diagnostics: readonly Diagnostic[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return compileTopologyFile(file); // reports the unreadable file
  }
  return looksLikeTestFile(text) ? loadTestFile(file, text) : compileTopology(file, text);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'duality: declarative stream processing with Kafka Streams semantics',
    '',
    'Usage: duality COMMAND [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show help (also after a command: duality validate --help)',
    '  -v, --version  print the version',
    '',
    'Exit status: 0 on success, 1 when a topology is invalid, 2 on a usage error.',
  ].join('\n');
}

function commandHelp(name: string, c: Command): string {
  const opts = Object.entries(c.options).map(([k, o]) => `  ${o.short ? `-${o.short}, ` : '    '}--${k}${o.type === 'string' ? ' VALUE' : ''}${o.default !== undefined ? `  (default ${String(o.default)})` : ''}`);
  return [`Usage: ${c.usage}`, '', `${name}: ${c.summary}`, '', 'Options:', ...opts, '  -h, --help  show this help'].join('\n');
}

function usage(out: Output, message: string): number {
  out.stderr(`duality: ${message}`);
  out.stderr('Run `duality --help` for usage.');
  return 2;
}

function defaultOutput(): Output {
  const terminal = process.stderr.isTTY === true;
  return { stdout: (l) => process.stdout.write(l + '\n'), stderr: (l) => process.stderr.write(l + '\n'), color: terminal && !process.env.NO_COLOR, terminal };
}

/** Runs the command line; returns the exit status. */
export async function main(argv: string[], out: Output = defaultOutput()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    out.stdout(mainHelp());
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    out.stdout(version());
    return 0;
  }
  const command = COMMANDS[first];
  if (!command) return usage(out, `unknown command "${first}"`);
  let parsed;
  try {
    const removed = Object.fromEntries(Object.keys(command.removed ?? {}).map((flag) => [flag, { type: 'string' as const }]));
    parsed = parseArgs({ args: rest, options: { ...removed, ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    return usage(out, (e as Error).message);
  }
  const gone = Object.keys(command.removed ?? {}).find((flag) => (parsed.values as Record<string, unknown>)[flag] !== undefined);
  if (gone) return usage(out, `--${gone} is gone: ${command.removed![gone]}`);
  if (parsed.values.help) {
    out.stdout(commandHelp(first, command));
    return 0;
  }
  return command.run(parsed as { values: Record<string, unknown>; positionals: string[] }, out);
}


/**
 * `--tls`, `--tls-ca`, ... as security overrides. There is no flag for the password: a command
 * line is visible to every user of the machine (ps); it comes from KAFKA_SASL_PASSWORD or the topology.
 */
function securityFlags(values: Record<string, unknown>): SecurityOverrides {
  const text = (name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const pairs: [keyof SecurityOverrides, string][] = [['tlsCa', 'tls-ca'], ['tlsCert', 'tls-cert'], ['tlsKey', 'tls-key'], ['saslMechanism', 'sasl-mechanism'], ['saslUsername', 'sasl-username'], ['saslTokenFile', 'sasl-token-file']];
  const out: Record<string, unknown> = values.tls === true ? { tls: true } : {};
  for (const [key, flag] of pairs) if (text(flag) !== undefined) out[key] = text(flag);
  return out as SecurityOverrides;
}
