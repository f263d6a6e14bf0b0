import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { RequestError } from '../engine/api/engine-facade.js';

/** A problem the server itself finds in a request (the facade throws RequestError for its own). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Every error answer has this one shape, so clients parse one thing. */
export const errorJson = (code: string, message: string): string => JSON.stringify({ error: { code, message } });

export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).type('application/json').send(errorJson(code, message));
}

// Errors raised by express' own layers (body reading, URL decoding) carry a `type` or only a status.
const BODY_ERRORS: Record<string, { code: string; message: string }> = {
  'entity.too.large': { code: 'BODY_TOO_LARGE', message: 'the body is larger than this server accepts' },
  'request.aborted': { code: 'REQUEST_ABORTED', message: 'the client stopped sending the body' },
  'request.size.invalid': { code: 'BAD_BODY', message: 'the body is shorter or longer than its Content-Length' },
  'encoding.unsupported': { code: 'UNSUPPORTED_ENCODING', message: 'the Content-Encoding is not one this server reads (identity, gzip, deflate, br)' },
  'charset.unsupported': { code: 'UNSUPPORTED_CHARSET', message: 'the body must be UTF-8' },
};

/** An answer ready to send: the routes served from node:http and the query router give these. */
export interface Reply {
  readonly status: number;
  readonly body: string | Buffer;
  readonly headers: Record<string, string>;
}

/**
 * A failure as an answer: known request problems keep their 4xx status; anything else is a bug on
 * our side, answered 500 without details and logged with its stack so it can be fixed.
 */
export function failure(err: unknown, log: (line: string) => void, req: { method?: string | undefined; url?: string | undefined }): Reply {
  if (err instanceof RequestError || err instanceof HttpError) return { status: err.status, body: errorJson(err.code, err.message), headers: {} };
  log(`duality: ${req.method} ${req.url} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return { status: 500, body: errorJson('INTERNAL', 'the server failed to answer this request; the error is in its log'), headers: {} };
}

/** The last handler: express's own 4xx (body reading, URL decoding) as JSON, the rest as `failure` says. */
export function errorHandler(log: (line: string) => void): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err); // express closes the connection
    const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
    const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
    if (!(err instanceof RequestError || err instanceof HttpError) && status >= 400 && status < 500) {
      const known = typeof e.type === 'string' ? BODY_ERRORS[e.type] : undefined;
      return sendError(res, status, known?.code ?? 'BAD_REQUEST', known?.message ?? String(e.message ?? 'bad request'));
    }
    const r = failure(err, log, { method: req.method, url: req.originalUrl });
    res.status(r.status).type('application/json').send(r.body);
  };
}

export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, 'NOT_FOUND', `no route ${req.method} ${req.path}; see GET /tables, GET /topology, POST /topics/{topic}/records`);
};

export function methodNotAllowed(allowed: string): RequestHandler {
  return (req, res) => {
    res.set('Allow', allowed);
    sendError(res, 405, 'METHOD_NOT_ALLOWED', `${req.path} answers ${allowed}, not ${req.method}`);
  };
}
