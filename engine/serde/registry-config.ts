import type { SchemaRegistrySection } from '../api/topology-graph.js';
import { pem } from '../kafka/security.js';
import type { RegistryConnection } from './registry-client.js';

/**
 * How to reach the Schema Registry: the topology's `kafka.schemaRegistry`, with the URL from
 * `--schema-registry` or SCHEMA_REGISTRY_URL over it (the first given wins, as for the brokers).
 * Undefined when no URL is given anywhere. PEM files are read now, so a missing one is said at
 * start (SecurityConfigError, naming the setting).
 */
export function registryConnection(section: SchemaRegistrySection | undefined, flag: string | undefined, env: NodeJS.ProcessEnv): RegistryConnection | undefined {
  const url = flag ?? (env.SCHEMA_REGISTRY_URL || undefined) ?? section?.url;
  if (url === undefined) return undefined;
  const t = section?.tls;
  const tls = t && {
    ...(t.ca !== undefined && { ca: pem(t.ca, 'the schema registry\'s CA (kafka.schemaRegistry.tls.ca)') }),
    ...(t.cert !== undefined && { cert: pem(t.cert, 'the schema registry client certificate (kafka.schemaRegistry.tls.cert)') }),
    ...(t.key !== undefined && { key: pem(t.key, 'the schema registry client key (kafka.schemaRegistry.tls.key)') }),
    ...(t.servername !== undefined && { servername: t.servername }),
  };
  return {
    url,
    ...(section?.basicAuth && { basicAuth: section.basicAuth }),
    ...(section?.bearerToken !== undefined && { bearerToken: section.bearerToken }),
    ...(tls && { tls }),
  };
}
