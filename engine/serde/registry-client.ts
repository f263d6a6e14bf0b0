import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { DualityError } from '../api/diagnostics.js';

/*
 * A client of the Schema Registry REST API (Confluent's, which Apicurio and Karapace also serve):
 * the four calls a serde needs, on node's http and https, with basic auth or a bearer token and TLS.
 * A dependency such as @confluentinc/schemaregistry would bring an HTTP library, caches and rule
 * engines for these four requests.
 */

export type SchemaType = 'AVRO' | 'PROTOBUF' | 'JSON';

export interface RegistrySchema {
  readonly schemaType: SchemaType;
  readonly schema: string;
  readonly references?: readonly unknown[];
}

export interface RegistryConnection {
  /** Base URL, with a path when the API is under one (Apicurio's /apis/ccompat/v7). */
  readonly url: string;
  readonly basicAuth?: { readonly username: string; readonly password: string };
  readonly bearerToken?: string;
  readonly tls?: ConnectionOptions;
}

/** The registry answered with a refusal (4xx): the request, not the registry, is wrong. */
export class RegistryError extends DualityError {
  constructor(
    readonly status: number,
    /** The registry's own code: 40401 subject not found, 40403 schema not found, 409 incompatible... */
    readonly errorCode: number | undefined,
    message: string,
  ) {
    super('REGISTRY', message);
    this.name = 'RegistryError';
  }
}

/** The registry could not be reached, or failed (5xx, 429): worth trying again later. */
export class RegistryUnavailableError extends DualityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REGISTRY_UNAVAILABLE', message, options);
    this.name = 'RegistryUnavailableError';
  }
}

const TIMEOUT_MS = 10_000;
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class RegistryClient {
  private readonly base: URL;

  constructor(private readonly connection: RegistryConnection) {
    this.base = new URL(connection.url.endsWith('/') ? connection.url : `${connection.url}/`);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new RegistryError(0, undefined, `the schema registry URL must start with http:// or https://, not "${connection.url}"`);
  }

  /** The registry's URL without credentials, for messages. */
  get description(): string {
    return `the schema registry at ${this.base.origin}${this.base.pathname.replace(/\/$/, '')}`;
  }

  /** GET /schemas/ids/{id}. */
  async schemaById(id: number): Promise<RegistrySchema> {
    return asSchema(await this.call('GET', `schemas/ids/${id}`));
  }

  /** GET /subjects/{subject}/versions/latest. */
  async latest(subject: string): Promise<RegistrySchema & { id: number }> {
    const body = await this.call('GET', `subjects/${encodeURIComponent(subject)}/versions/latest`);
    return { ...asSchema(body), id: idOf(body) };
  }

  /** POST /subjects/{subject}/versions: the id of the schema, registered unless it already was. */
  async register(subject: string, schema: RegistrySchema): Promise<number> {
    return idOf(await this.call('POST', `subjects/${encodeURIComponent(subject)}/versions`, bodyOf(schema)));
  }

  /** POST /subjects/{subject}: the id of a schema registered under the subject; RegistryError 404 when it is not. */
  async lookup(subject: string, schema: RegistrySchema): Promise<number> {
    return idOf(await this.call('POST', `subjects/${encodeURIComponent(subject)}`, bodyOf(schema)));
  }

  private call(method: 'GET' | 'POST', path: string, body?: string): Promise<unknown> {
    const url = new URL(path, this.base);
    const { basicAuth, bearerToken, tls } = this.connection;
    const headers: Record<string, string> = { accept: `${CONTENT_TYPE}, application/json` };
    if (body !== undefined) headers['content-type'] = CONTENT_TYPE;
    if (basicAuth) headers.authorization = `Basic ${Buffer.from(`${basicAuth.username}:${basicAuth.password}`).toString('base64')}`;
    else if (bearerToken !== undefined) headers.authorization = `Bearer ${bearerToken}`;
    const what = `${method} ${url.pathname}`;
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method, headers, timeout: TIMEOUT_MS, ...(url.protocol === 'https:' && tls) }, (res) => {
        readBody(res).then((text) => {
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300) {
            if (parsed === undefined) reject(new RegistryUnavailableError(`${this.description} answered ${what} with no JSON`));
            else resolve(parsed);
            return;
          }
          const p = parsed as { error_code?: unknown; message?: unknown } | undefined;
          const message = typeof p?.message === 'string' ? p.message : text.slice(0, 200);
          const said = `${this.description} answered ${what} with ${status}: ${message}`;
          if (status >= 500 || status === 429 || status === 408) reject(new RegistryUnavailableError(said));
          else reject(new RegistryError(status, typeof p?.error_code === 'number' ? p.error_code : undefined, said));
        }, reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new RegistryUnavailableError(`cannot reach ${this.description}: ${e.code ?? e.message}`, { cause: e })));
      req.end(body);
    });
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function bodyOf(s: RegistrySchema): string {
  // AVRO is the registry's default type; Confluent's serializers leave it out.
  return JSON.stringify(s.schemaType === 'AVRO' ? { schema: s.schema } : { schema: s.schema, schemaType: s.schemaType });
}

function asSchema(body: unknown): RegistrySchema {
  const b = body as { schema?: unknown; schemaType?: unknown; references?: unknown };
  if (typeof b?.schema !== 'string') throw new RegistryUnavailableError('the schema registry answered without a schema');
  const type = b.schemaType ?? 'AVRO';
  if (type !== 'AVRO' && type !== 'PROTOBUF' && type !== 'JSON') throw new RegistryError(200, undefined, `the schema registry holds a schema of type ${String(type)}, which Duality cannot read`);
  return { schemaType: type, schema: b.schema, ...(Array.isArray(b.references) && b.references.length > 0 && { references: b.references }) };
}

function idOf(body: unknown): number {
  const id = (body as { id?: unknown })?.id;
  if (typeof id !== 'number') throw new RegistryUnavailableError('the schema registry answered without a schema id');
  return id;
}
