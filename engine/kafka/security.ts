import { readFileSync, statSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { KafkaSection, SaslMechanism } from '../api/topology-graph.js';

/** TLS and SASL as kafkajs takes them. */
export interface KafkaSecurity {
  readonly ssl?: ConnectionOptions;
  readonly sasl?: SASLOptions;
}

/** Settings from the command line and the environment, which win over the topology's. */
export interface SecurityOverrides {
  readonly tls?: boolean;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly saslMechanism?: string;
  readonly saslUsername?: string;
  readonly saslPassword?: string;
  readonly saslTokenFile?: string;
}

const MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'];

/** A problem with the settings, said before any connection is tried. */
export class SecurityConfigError extends Error {
  readonly code = 'KAFKA_CONFIG';
}

/** `KAFKA_TLS_CA`, `KAFKA_SASL_PASSWORD`, ...: the environment's settings (docs/kafka.md). */
export function overridesFromEnv(env: NodeJS.ProcessEnv): SecurityOverrides {
  const v = (name: string): string | undefined => env[name] || undefined;
  const tls = v('KAFKA_TLS');
  return {
    ...(tls !== undefined && { tls: tls === 'true' || tls === '1' }),
    ...(v('KAFKA_TLS_CA') && { tlsCa: v('KAFKA_TLS_CA') }),
    ...(v('KAFKA_TLS_CERT') && { tlsCert: v('KAFKA_TLS_CERT') }),
    ...(v('KAFKA_TLS_KEY') && { tlsKey: v('KAFKA_TLS_KEY') }),
    ...(v('KAFKA_SASL_MECHANISM') && { saslMechanism: v('KAFKA_SASL_MECHANISM') }),
    ...(v('KAFKA_SASL_USERNAME') && { saslUsername: v('KAFKA_SASL_USERNAME') }),
    ...(v('KAFKA_SASL_PASSWORD') && { saslPassword: v('KAFKA_SASL_PASSWORD') }),
    ...(v('KAFKA_SASL_TOKEN_FILE') && { saslTokenFile: v('KAFKA_SASL_TOKEN_FILE') }),
  };
}

/**
 * The TLS and SASL settings kafkajs gets: the topology's `kafka:` section, with what the command
 * line and environment give on top. PEM values are the text itself or a file's path, read now,
 * so that a missing file is said at start, naming the setting. SecurityConfigError otherwise.
 */
export function resolveSecurity(section: KafkaSection | undefined, o: SecurityOverrides = {}): KafkaSecurity {
  const fromFile = typeof section?.tls === 'object' ? section.tls : {};
  const ca = o.tlsCa ?? fromFile.ca;
  const cert = o.tlsCert ?? fromFile.cert;
  const key = o.tlsKey ?? fromFile.key;
  const tlsOn = o.tls ?? (section?.tls !== undefined && section.tls !== false);
  const useTls = tlsOn || ca !== undefined || cert !== undefined;
  if ((cert === undefined) !== (key === undefined)) throw new SecurityConfigError('a TLS client certificate needs its key, and a key its certificate (kafka.tls.cert and kafka.tls.key, --tls-cert and --tls-key)');
  const ssl: ConnectionOptions | undefined = useTls
    ? {
        rejectUnauthorized: true,
        ...(ca !== undefined && { ca: pem(ca, 'the TLS CA (kafka.tls.ca, --tls-ca, KAFKA_TLS_CA)') }),
        ...(cert !== undefined && { cert: pem(cert, 'the TLS client certificate (kafka.tls.cert, --tls-cert, KAFKA_TLS_CERT)') }),
        ...(key !== undefined && { key: pem(key, 'the TLS client key (kafka.tls.key, --tls-key, KAFKA_TLS_KEY)') }),
        ...(fromFile.servername !== undefined && { servername: fromFile.servername }),
      }
    : undefined;
  const sasl = saslOf(section?.sasl, o);
  return { ...(ssl && { ssl }), ...(sasl && { sasl }) };
}

function saslOf(section: KafkaSection['sasl'], o: SecurityOverrides): SASLOptions | undefined {
  const mechanism = (o.saslMechanism?.toLowerCase() ?? section?.mechanism) as SaslMechanism | undefined;
  if (mechanism === undefined) return undefined;
  if (!MECHANISMS.includes(mechanism)) throw new SecurityConfigError(`the SASL mechanism must be one of ${MECHANISMS.join(', ')}, not "${o.saslMechanism}"`);
  if (mechanism === 'oauthbearer') {
    const file = o.saslTokenFile ?? section?.tokenFile;
    if (file === undefined) throw new SecurityConfigError('oauthbearer needs a token file (kafka.sasl.tokenFile, --sasl-token-file, KAFKA_SASL_TOKEN_FILE)');
    return { mechanism: 'oauthbearer', oauthBearerProvider: tokenReader(file) };
  }
  const username = o.saslUsername ?? section?.username;
  const password = o.saslPassword ?? section?.password;
  if (username === undefined || password === undefined) throw new SecurityConfigError(`${mechanism} needs a username and a password (kafka.sasl.username and .password, --sasl-username and KAFKA_SASL_PASSWORD)`);
  return { mechanism, username, password } as SASLOptions;
}

/** PEM text as it is; anything else is a file's path. */
export function pem(value: string, what: string): string {
  if (value.trimStart().startsWith('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (e) {
    throw new SecurityConfigError(`cannot read ${what} from ${value}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * A token file as mounted secrets are: replaced when the token is renewed. Read when kafkajs
 * authenticates a connection, again only once the file changed (its modification time or size).
 */
export function tokenReader(file: string): () => Promise<{ value: string }> {
  let seen: { stamp: string; value: string } | undefined;
  return async () => {
    let stamp: string;
    try {
      const st = statSync(file);
      stamp = `${st.mtimeMs}:${st.size}`;
    } catch (e) {
      throw new SecurityConfigError(`cannot read the OAUTHBEARER token file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (seen?.stamp !== stamp) seen = { stamp, value: readFileSync(file, 'utf8').trim() };
    if (seen.value === '') throw new SecurityConfigError(`the OAUTHBEARER token file ${file} is empty`);
    return { value: seen.value };
  };
}
