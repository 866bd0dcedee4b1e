import type { FastifyError, FastifyInstance } from 'fastify';
import type { StudyStore } from '../study/storage/store.js';
import { UserError } from '../util/errors.js';
import { BASIC_CHALLENGE, type TokenSet, tokenRefusal } from './auth.js';
import { HttpError, type SchemaIssue, validationError } from './errors.js';
import { type RouteSchemaInfo, openApiDocument } from './openapi.js';
import { sigoptRoutes } from './sigopt-routes.js';
import { StudyRegistry } from './studies.js';
import { tunelabRoutes } from './tunelab-routes.js';

export interface AppOptions {
  store: StudyStore;
  /** Without tokens every request is let in (a loopback server only: see serve.ts). */
  tokens?: TokenSet;
  /** Largest request body, bytes (default 1 MiB). */
  bodyLimit?: number;
  /** ms to receive a whole request (default 30 s): a slow or half-open client is cut off. */
  requestTimeout?: number;
  /** ms a connection may be idle, also mid-request (default 60 s). */
  connectionTimeout?: number;
  /** ms an idle keep-alive connection is kept (default 30 s). */
  keepAliveTimeout?: number;
  /** Told about server faults (500s), never about tokens. */
  log?: (line: string) => void;
  /** More routes on the same app (the dashboard's pages at /, added by the command that composes them). */
  extraRoutes?: (app: FastifyInstance, store: StudyStore) => Promise<void>;
}

/** Routes open without a token: the API's description holds no data. */
const PUBLIC = new Set(['/openapi.json']);

/**
 * The study server's fastify app (DESIGN.md §9): SigOpt's v1 resources and tunelab's own, every
 * request validated against its route's JSON schema, authenticated by token when the server has
 * tokens, and every error in SigOpt's body shape. fastify is loaded here, when a server is built,
 * never at the CLI's start-up.
 */
export async function buildApp(options: AppOptions): Promise<{ app: FastifyInstance; studies: StudyRegistry }> {
  const { default: Fastify } = await import('fastify');
  const requestTimeout = options.requestTimeout ?? 30_000;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    requestTimeout,
    connectionTimeout: options.connectionTimeout ?? 60_000,
    keepAliveTimeout: options.keepAliveTimeout ?? 30_000,
    // Node enforces only the request timeout it was created with, checked every 30 s by default: both given here
    http: { requestTimeout, connectionsCheckingInterval: Math.min(30_000, requestTimeout) },
    forceCloseConnections: true,
    return503OnClosing: true,
    ajv: { customOptions: { allErrors: true, verbose: true, removeAdditional: false, coerceTypes: false, useDefaults: true, allowUnionTypes: true } },
  });
  const routes: RouteSchemaInfo[] = [];
  app.addHook('onRoute', (r) => {
    routes.push({ method: r.method, url: r.url, schema: r.schema as RouteSchemaInfo['schema'] });
  });

  // before the body is read: a request without a valid token costs nothing and writes nothing.
  // The hooks take callbacks, not promises: they run for every request, and a promise each costs
  // more than the check itself
  const { tokens } = options;
  if (tokens) {
    app.addHook('onRequest', (req, _reply, done) => {
      const refusal = PUBLIC.has(req.routeOptions.url ?? '') ? undefined : tokenRefusal(tokens, req.headers.authorization);
      done(refusal ? new HttpError(401, refusal) : undefined);
    });
  }
  // a POST without a body is one with an empty object (SigOpt's clients send none to create a suggestion)
  app.addHook('preValidation', (req, _reply, done) => {
    if (req.body === undefined && req.method === 'POST') req.body = {};
    done();
  });

  app.setErrorHandler((err: FastifyError & { validation?: SchemaIssue[]; validationContext?: string }, _req, reply) => {
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err.validation) e = validationError(err.validation, err.validationContext ?? 'request');
    // exit code 1: the store failed (unreachable past --storage_timeout, full), not the request: a
    // 503, which clients retry, never a 400 that tells them their request was wrong
    else if (err instanceof UserError) e = new HttpError(err.exitCode === 1 ? 503 : 400, err.message);
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = new HttpError(413, `the request body is larger than the server's limit of ${options.bodyLimit ?? 1024 * 1024} bytes`);
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') e = new HttpError(415, 'send JSON bodies with Content-Type: application/json');
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) e = new HttpError(err.statusCode, err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the body is empty; send a JSON object ({} when there is nothing to say)' : /JSON/.test(err.message) ? `the body is not valid JSON: ${err.message}` : err.message);
    else {
      options.log?.(`internal error: ${err.stack ?? err.message}`);
      e = new HttpError(500, 'internal server error (the server logged it)');
    }
    // a browser (the dashboard's pages) asks its user for the token
    if (e.status === 401) void reply.header('www-authenticate', BASIC_CHALLENGE);
    void reply.code(e.status).type('application/json').send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new HttpError(404, `no route ${req.method} ${req.url.split('?')[0]}; the routes are listed at /openapi.json`);
    void reply.code(404).send(e.body());
  });

  const studies = new StudyRegistry(options.store);
  sigoptRoutes(app, studies);
  tunelabRoutes(app, studies);
  // built once, when every route is registered (the routes list is complete by the first request)
  let openapi: Record<string, unknown> | undefined;
  app.get('/openapi.json', async () => (openapi ??= openApiDocument(routes)));
  app.addHook('onClose', async () => studies.close());
  await options.extraRoutes?.(app, options.store);
  await app.ready();
  return { app, studies };
}
