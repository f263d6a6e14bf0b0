/**
 * Java's side of the Schema Registry interop tests: Apicurio's Kafka serdes writing and reading
 * the Confluent wire format (test/serdes-interop/src/main/java), built once with Maven (cached
 * while target/serdes-interop.jar is newer than its sources) and run as a CLI.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureMavenJar } from '../../bench/kafka/maven.js';
import { ROOT } from '../root.js';

export const MODULE = join(ROOT, 'test/serdes-interop');
/** The pinned schemas: order-v1/v2 .avsc, .proto and .schema.json. */
export const SCHEMAS = join(MODULE, 'schemas');
const JAR = join(MODULE, 'target/serdes-interop.jar');

export type Format = 'avro' | 'protobuf' | 'json-schema';

export interface Order {
  id: string;
  product: string;
  quantity: number;
  price: number;
  currency?: string;
}

/** One record as the CLI prints it; consume adds the value's schema id and first wire bytes (hex). */
export interface JavaRecord {
  key: string;
  value: Order;
  schemaId?: number;
  wire?: string;
}

export interface Endpoints {
  brokers: string;
  registry: string;
}

let built: string | undefined;
/** Builds the module if needed (once per process); returns what it did, for the log. */
export function ensureJavaSerdes(): string {
  built ??= ensureMavenJar(MODULE, JAR);
  return built;
}

/** Writes `count` orders (schema v1 or v2) to `topic` with Java's serializer; returns them as sent. */
export function javaProduce(at: Endpoints, format: Format, topic: string, schema: 'v1' | 'v2', count: number): JavaRecord[] {
  return run(['produce', '--format', format, '--brokers', at.brokers, '--registry', at.registry, '--topic', topic, '--schema', schema, '--count', String(count), '--schemas', SCHEMAS]);
}

/** Reads `count` records from the start of `topic` with Java's deserializer. */
export function javaConsume(at: Endpoints, format: Format, topic: string, count: number, timeoutMs = 30_000): JavaRecord[] {
  return run(['consume', '--format', format, '--brokers', at.brokers, '--registry', at.registry, '--topic', topic, '--count', String(count), '--timeout-ms', String(timeoutMs)], timeoutMs + 60_000);
}

function run(args: string[], timeout = 120_000): JavaRecord[] {
  ensureJavaSerdes();
  const java = spawnSync('java', ['-cp', `${JAR}:${join(MODULE, 'target/lib/*')}`, 'dev.duality.serdes.Main', ...args], { encoding: 'utf8', maxBuffer: 64 << 20, timeout });
  if (java.error || java.status !== 0) {
    const err = (java.stderr ?? '').split('\n').filter((l) => !l.startsWith('SLF4J')).slice(-30).join('\n');
    throw new Error(`serdes-interop ${args[0]} --format ${args[2]} failed (${java.error?.message ?? `status ${java.status}`}):\n${err}`);
  }
  return java.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as JavaRecord);
}
