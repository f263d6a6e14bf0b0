import kafkajs from './kafkajs.js';
import type { ISocketFactory, Kafka } from 'kafkajs';
import type { KafkaSecurity } from './security.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;

export interface KafkaOptions {
  /** `host:port` of one or more brokers; the rest of the cluster is found from them. */
  readonly brokers: readonly string[];
  /** Names this application in broker logs and quotas: the topology's name. */
  readonly clientId: string;
  /** Where kafkajs's warnings and errors go; its info chatter is dropped. */
  readonly logger?: (line: string) => void;
  /** TLS and SASL (security.ts). */
  readonly security?: KafkaSecurity;
  /** How connections to brokers are made: kafkajs's own (net, tls) unless given; a test cuts them. */
  readonly socketFactory?: ISocketFactory;
}

/**
 * Timeouts sized for a stream processor on a local network: a dead broker is noticed in seconds,
 * and a member that stops heartbeating leaves the group after SESSION_TIMEOUT_MS.
 */
export const SESSION_TIMEOUT_MS = 10_000;
export const HEARTBEAT_MS = 1000;

export function createKafka(o: KafkaOptions): Kafka {
  const say = o.logger ?? ((l: string) => process.stderr.write(`${l}\n`));
  return new KafkaClient({
    clientId: o.clientId,
    brokers: [...o.brokers],
    ...(o.security?.ssl && { ssl: o.security.ssl }),
    ...(o.security?.sasl && { sasl: o.security.sasl }),
    ...(o.socketFactory && { socketFactory: o.socketFactory }),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      if (entry.level > logLevel.WARN) return;
      // Said of every idempotent producer with bounded retries. Here a send that gives up fails
      // the flush (or aborts the transaction), so the engine stops before committing: at worst
      // records are processed again, never lost, which is what at-least-once promises anyway.
      if (entry.log.message.startsWith('Limiting retries for the idempotent producer')) return;
      // Every rebalance is reported by the connection and again by the consumer: once is enough.
      if (entry.namespace === 'Connection' && String(entry.log.error).includes('rebalancing')) return;
      const error = typeof entry.log.error === 'string' ? `: ${entry.log.error}` : '';
      say(`kafka: ${entry.namespace ? `${entry.namespace}: ` : ''}${entry.log.message}${error}`);
    },
  });
}

/** kafkajs wraps protocol errors in retry errors; the broker's error type is at the end of the chain. */
export function errorType(e: unknown): string | undefined {
  for (let cur = e as { type?: unknown; cause?: unknown } | undefined, depth = 0; cur && depth < 10; cur = cur.cause as typeof cur, depth++) {
    if (typeof cur.type === 'string') return cur.type;
  }
  return undefined;
}

/**
 * A failure of ours whose cause may pass: the engine treats it as it treats kafkajs's retriable
 * errors. Its message says what is going on while the broker answers (see explainFailure).
 */
export class RetriableError extends Error {
  readonly retriable = true;
}

/** A transactional producer's failure, naming its transactional id (a task's: `<application>-<task>`). */
export class TransactionError extends Error {
  constructor(
    readonly transactionalId: string,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** Broker error types that say a transactional producer was fenced by a newer one of its id. */
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
/** kafkajs 2.2 predates PRODUCER_FENCED (code 90) and reports it as an unknown code. */
const PRODUCER_FENCED_CODE = 90;
const COORDINATOR_TYPES = new Set(['GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR_FOR_GROUP', 'GROUP_LOAD_IN_PROGRESS', 'COORDINATOR_LOAD_IN_PROGRESS']);

/**
 * What a retriable failure means when the broker answers, for the log and /readyz; undefined when
 * the broker cannot be reached or the cause is not one of these (the engine then says it lost
 * Kafka). Reporting a fenced producer as a lost broker sends people to look at a healthy cluster.
 */
export function explainFailure(e: unknown): string | undefined {
  const chain = causes(e);
  const txn = chain.find((c): c is TransactionError => c instanceof TransactionError)?.transactionalId;
  const type = errorType(e);
  const fenced = (type !== undefined && FENCED_TYPES.has(type)) || chain.some((c) => (c as { code?: unknown }).code === PRODUCER_FENCED_CODE && /unknown error code/i.test(String((c as Error).message)));
  if (fenced) {
    return `the producer of ${txn !== undefined ? `task ${JSON.stringify(txn)}` : 'a task'} was fenced by a newer producer of its transactional id: another instance took the task over (or a restart of this one raced it); the tasks close without committing and the group is joined again`;
  }
  if (type === 'CONCURRENT_TRANSACTIONS') {
    return `the broker is still completing the last transaction of ${txn !== undefined ? JSON.stringify(txn) : 'a task'} (it aborts a stopped instance's open transaction when the task starts elsewhere)`;
  }
  if (isRebalanceError(e)) return 'the consumer group is rebalancing (a member joined or left, or its assignment changed)';
  if (type !== undefined && COORDINATOR_TYPES.has(type)) return "the group's coordinator on the broker is moving or loading; waiting for it";
  const ours = chain.find((c): c is RetriableError => c instanceof RetriableError);
  return ours?.message.replace(/^kafka: /, '');
}

/** Broker error types that waiting (and a new producer, or a rejoin) can cure. */
const RETRIABLE_TYPES = new Set([
  'INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING', 'CONCURRENT_TRANSACTIONS', 'INVALID_TXN_STATE',
  'GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR_FOR_GROUP', 'GROUP_LOAD_IN_PROGRESS',
  'REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE',
  'NETWORK_EXCEPTION', 'REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'KAFKA_STORAGE_ERROR',
]);
/** kafkajs's errors of the network, of timeouts and of retries given up on. */
const RETRIABLE_NAMES = new Set([
  'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound', 'KafkaJSNoBrokerAvailableError', 'KafkaJSLockTimeout', 'KafkaJSTimeout', 'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSMetadataNotLoaded', 'KafkaJSTopicMetadataNotLoaded', 'KafkaJSStaleTopicMetadataAssignment', 'KafkaJSFetcherRebalanceError',
]);

/**
 * Whether a failure may pass by waiting and trying again with new clients: a broker that cannot be
 * reached, a producer fenced by a newer one of its id, a commit whose outcome is unknown. Walks
 * the chain of causes, since kafkajs and this module wrap errors.
 */
export function isRetriable(e: unknown): boolean {
  // Waiting does not make an untrusted certificate trusted, nor a wrong password right.
  if (securityProblem(e) !== undefined) return false;
  return causes(e).some((c) => {
    const cur = c as { name?: unknown; type?: unknown; retriable?: unknown };
    if (cur instanceof RetriableError) return true;
    if (typeof cur.name === 'string' && RETRIABLE_NAMES.has(cur.name)) return true;
    if (typeof cur.type === 'string' && RETRIABLE_TYPES.has(cur.type)) return true;
    // kafkajs's own verdict on a broker's error code (its table follows Kafka's).
    return cur.retriable === true && typeof cur.name === 'string' && cur.name.startsWith('KafkaJS');
  });
}

/** Node's codes for a certificate that does not verify. */
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const AUTHORIZATION: Record<string, string> = {
  TOPIC_AUTHORIZATION_FAILED: 'a topic it reads or writes',
  GROUP_AUTHORIZATION_FAILED: 'its consumer group (the topology name)',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "its transactional ids (the topology name's prefix, exactly_once)",
  CLUSTER_AUTHORIZATION_FAILED: 'the cluster (creating topics, or idempotent writes)',
};

/**
 * A failure of TLS, authentication or authorization, in words a person can act on (no secret is
 * in them: kafkajs's messages name the mechanism, never the password); undefined for any other.
 */
export function securityProblem(e: unknown): string | undefined {
  for (const c of causes(e)) {
    const cur = c as { name?: unknown; code?: unknown; type?: unknown; message?: unknown };
    const message = String(cur.message ?? '').replace(/^Connection error: /, '');
    if (typeof cur.code === 'string' && TLS_CODES.has(cur.code)) {
      return `TLS: the broker's certificate does not verify (${message}); give the CA that signed it (kafka.tls.ca, --tls-ca or KAFKA_TLS_CA), or the name it carries (kafka.tls.servername)`;
    }
    if (cur.name === 'KafkaJSSASLAuthenticationError') return `authentication failed: ${message}; check the SASL mechanism, username and password (or token)`;
    if (typeof cur.type === 'string' && AUTHORIZATION[cur.type] !== undefined) {
      const which = typeof (cur as { topic?: unknown }).topic === 'string' ? `, "${(cur as { topic: string }).topic}"` : '';
      return `not authorized: the broker refused access to ${AUTHORIZATION[cur.type]}${which} (${cur.type}); grant the user the ACLs docs/kafka.md lists`;
    }
  }
  return undefined;
}

/** An error and its causes, outermost first: this module's and kafkajs's wrappers (`cause`, kafkajs's `originalError`), ten deep at most. */
function causes(e: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let cur = e as { cause?: unknown; originalError?: unknown; errors?: unknown } | undefined, depth = 0; cur && depth < 10; depth++) {
    chain.push(cur);
    // kafkajs's aggregate (CreateTopics: one error per topic) holds its causes in a list.
    if (Array.isArray(cur.errors)) chain.push(...cur.errors.slice(0, 10));
    cur = (cur.cause ?? cur.originalError) as typeof cur;
  }
  return chain;
}

/** The errors that mean "the group moved on to a new generation": rejoin, then try again. */
export const isRebalanceError = (e: unknown): boolean =>
  ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP'].includes(errorType(e) ?? '');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
