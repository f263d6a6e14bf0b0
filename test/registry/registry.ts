import { RegistryClient } from '../../engine/serde/registry-client.js';

/**
 * The Schema Registry the tests under test/registry/ talk to: a real one (kafka/registry.sh starts
 * Apicurio Registry with its Confluent-compatible API), at SCHEMA_REGISTRY_URL when set.
 */
export const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL || `http://127.0.0.1:${process.env.REGISTRY_PORT || '8081'}/apis/ccompat/v7`;

/** The registry's own root, for clients that add their API's path (Apicurio's Java serdes). */
export const REGISTRY_ROOT = REGISTRY_URL.replace(/\/apis\/ccompat\/v7\/?$/, '');

export const registryClient = (): RegistryClient => new RegistryClient({ url: REGISTRY_URL });

/** Subjects of this run: the registry keeps every run's schemas (and may be shared while it runs). */
export const RUN = `serdes-${process.pid}-${Date.now().toString(36)}`;
