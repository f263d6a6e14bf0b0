import { join } from 'node:path';
import { formatDiagnostic } from '../api/diagnostics.js';
import type { Log } from '../api/log.js';
import type { TopologyGraph } from '../api/topology-graph.js';
import { compileTopologyFile, type ProcessingOverrides } from '../compiler/index.js';
import { KafkaLog } from '../kafka/kafka-log.js';
import { overridesFromEnv, resolveSecurity, SecurityConfigError, type KafkaSecurity, type SecurityOverrides } from '../kafka/security.js';
import { EmbeddedLog } from '../log/embedded-log.js';

export interface LogOptions {
  /** `--brokers`; with KAFKA_BROKERS or the topology's `kafka:` section, asks for Kafka. */
  readonly brokers?: string;
  readonly stateDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stderr: (line: string) => void;
  /** Where the Kafka client's warnings go; `stderr` by default. */
  readonly warn?: (line: string) => void;
  /**
   * `run`: Kafka is connected by the engine's start, which keeps trying (and says so in its log and
   * /readyz) while no broker answers, as Kafka Streams does. Otherwise an unreachable broker is an error.
   */
  readonly connectLater?: boolean;
  /** `--tls-ca`, `--sasl-mechanism`, ...: over the environment's (KAFKA_TLS_CA, ...) and the topology's. */
  readonly security?: SecurityOverrides;
}

/**
 * The log a command works on, as `duality run` and `duality reset` choose it: Kafka when brokers
 * come from `--brokers`, KAFKA_BROKERS or the topology's `kafka:` section (the first given wins),
 * else the embedded log in `<stateDir>/log`. Resolves with the open log and a phrase naming it, or,
 * having said why not, with the exit status: 2 for an empty broker list or a `kafka:` section
 * without brokers from any of the three, 1 when it does not open.
 */
export async function openLog(graph: TopologyGraph, o: LogOptions): Promise<{ log: Log; where: string } | { exit: number }> {
  const brokers = o.brokers ?? (o.env.KAFKA_BROKERS || undefined) ?? graph.kafka?.brokers?.join(',');
  // Its TLS, SASL or codec are for Kafka: running on the embedded log instead would hide that. The
  // schema registry is not Kafka's: the embedded log uses it too.
  const forKafka = graph.kafka !== undefined && Object.keys(graph.kafka).some((k) => k !== 'schemaRegistry');
  if (brokers === undefined && forKafka) {
    o.stderr('duality: the topology\'s kafka: section names no brokers, and neither --brokers nor KAFKA_BROKERS gives them; give one of the three, or remove the kafka: section to run on the embedded log');
    return { exit: 2 };
  }
  if (brokers !== undefined) {
    const list = brokers.split(',').map((b) => b.trim()).filter((b) => b !== '');
    if (list.length === 0) {
      o.stderr(`duality: no brokers in "${brokers}" (--brokers, KAFKA_BROKERS or the topology's kafka: section); give host:port[,host:port...], or leave all three out to run on the embedded log`);
      return { exit: 2 };
    }
    let security: KafkaSecurity;
    try {
      security = resolveSecurity(graph.kafka, { ...overridesFromEnv(o.env), ...o.security });
    } catch (e) {
      if (!(e instanceof SecurityConfigError)) throw e;
      o.stderr(`duality: ${e.message}`);
      return { exit: 2 };
    }
    const kafka = { brokers: list, clientId: graph.kafka?.clientId ?? graph.name, compression: graph.kafka?.compression ?? 'none', logger: (l: string) => (o.warn ?? o.stderr)(`duality: ${l}`), security };
    if (o.connectLater) {
      const log = KafkaLog.create(kafka);
      return { log, where: log.description };
    }
    try {
      const log = await KafkaLog.connect(kafka);
      return { log, where: log.description };
    } catch (e) {
      o.stderr(`duality: ${(e as Error).message} (brokers from --brokers, KAFKA_BROKERS or the topology's kafka: section)`);
      return { exit: 1 };
    }
  }
  const logDir = join(o.stateDir, 'log');
  try {
    return { log: await EmbeddedLog.open(logDir), where: `the embedded log (${logDir})` };
  } catch (e) {
    o.stderr(`duality: cannot open the embedded log in ${logDir}: ${(e as Error).message}`);
    return { exit: 1 };
  }
}

/** A command's output: its lines to standard output and standard error. */
export interface CommandOutput {
  stdout(line: string): void;
  stderr(line: string): void;
}

/**
 * The compiled topology of `file`, and the command's output from then on, which shows the values
 * of the topology's environment variables (secrets among them) as `${NAME}`; undefined, having
 * printed each problem as `file:line:col: ...`, when it does not compile.
 */
export function compileOrSay(
  file: string,
  env: NodeJS.ProcessEnv,
  out: CommandOutput,
  processing?: ProcessingOverrides,
): { graph: TopologyGraph; out: CommandOutput; redact: (line: string) => string } | undefined {
  const { graph, diagnostics, redact } = compileTopologyFile(file, { env, ...(processing && { processing }) });
  if (!graph) {
    for (const d of diagnostics) out.stderr(formatDiagnostic(d));
    return undefined;
  }
  return { graph, redact, out: { stdout: (l) => out.stdout(redact(l)), stderr: (l) => out.stderr(redact(l)) } };
}
