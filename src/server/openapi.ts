import { tunelabVersion } from '../util/package-info.js';

/** A route as fastify registers it (its onRoute hook), with the JSON schemas it validates and answers with. */
export interface RouteSchemaInfo {
  method: string | string[];
  url: string;
  schema?: {
    summary?: string;
    params?: { properties?: Record<string, unknown>; required?: string[] };
    querystring?: { properties?: Record<string, unknown>; required?: string[] };
    headers?: { properties?: Record<string, unknown>; required?: string[] };
    body?: unknown;
    response?: Record<string, unknown>;
  };
}

const parameters = (where: 'path' | 'query' | 'header', s: { properties?: Record<string, unknown>; required?: string[] } | undefined) =>
  Object.entries(s?.properties ?? {}).map(([name, schema]) => ({ name, in: where, required: where === 'path' || (s?.required ?? []).includes(name), schema }));

/**
 * The OpenAPI 3.1 document of the routes as registered: built from the very schemas fastify
 * validates and serialises with (OpenAPI 3.1 takes JSON Schema as is), so it cannot drift from them.
 */
export function openApiDocument(routes: readonly RouteSchemaInfo[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (!r.schema) continue;
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    for (const method of [r.method].flat()) {
      if (method === 'HEAD') continue;
      const s = r.schema;
      const responses = Object.fromEntries(
        Object.entries(s.response ?? {}).map(([code, schema]) => [
          code,
          code === '204' ? { description: 'no content' } : { description: Number(code) < 300 ? 'success' : "SigOpt's error body", content: { 'application/json': { schema } } },
        ]),
      );
      paths[path] = {
        ...paths[path],
        [method.toLowerCase()]: {
          summary: s.summary,
          parameters: [...parameters('path', s.params), ...parameters('query', s.querystring), ...parameters('header', s.headers)],
          ...(s.body !== undefined && { requestBody: { required: true, content: { 'application/json': { schema: s.body } } } }),
          responses,
          security: [{ basic: [] }, { bearer: [] }],
        },
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'tunelab study server', version: tunelabVersion, description: "SigOpt's v1 resources for parallel tuning, on a tunelab study store, and tunelab's own routes (reports, heartbeats, logs, stop)" },
    paths,
    components: {
      securitySchemes: {
        basic: { type: 'http', scheme: 'basic', description: 'the API token as the user name (as SigOpt clients send it), empty password' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
  };
}

declare module 'fastify' {
  interface FastifySchema {
    /** One line on what the route does (the OpenAPI document's summary). */
    summary?: string;
  }
}
