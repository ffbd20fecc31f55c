/**
 * CORS for the raw routes that opt in (the download route): a browser app served from one of `CORS_ORIGINS`
 * can `fetch()` a download link (GET or HEAD) and read its `Content-Disposition` (the file name). An allowed
 * origin is echoed in `Access-Control-Allow-Origin`, with `Vary: Origin` on every answer so caches never mix
 * origins. A preflight (`OPTIONS` with `Access-Control-Request-Method`, sent when the fetch carries an
 * `Authorization` header) is answered 204 for an allowed origin and 403 otherwise, as on /graphql. No
 * credentials mode: a download link is its own credential, and a bearer token goes in a header.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export interface RawCors {
  methods: readonly ("GET" | "HEAD" | "POST")[];
  /** Request headers a preflight may ask for. */
  allowedHeaders: readonly string[];
  /** Response headers the browser's script may read (beyond the CORS-safelisted ones). */
  exposedHeaders: readonly string[];
}

/** Preflight answers are cached by the browser this long (seconds), as on /graphql. */
const MAX_AGE_SECONDS = 600;

/** Adds the CORS headers for an allowed origin to a reply (before a raw route copies them onto its response). */
export function corsHeaders(request: FastifyRequest, reply: FastifyReply, origins: ReadonlySet<string>, cors: RawCors): void {
  void reply.header("vary", "Origin");
  const origin = request.headers.origin;
  if (typeof origin !== "string" || !origins.has(origin)) return;
  void reply.header("access-control-allow-origin", origin);
  void reply.header("access-control-expose-headers", cors.exposedHeaders.join(", "));
}

/** The preflight route for a raw route's URL. */
export function registerPreflight(app: FastifyInstance, url: string, origins: ReadonlySet<string>, cors: RawCors): void {
  app.route({
    method: "OPTIONS",
    url,
    handler: (request, reply) => {
      const origin = request.headers.origin;
      const asked = request.headers["access-control-request-method"];
      void reply.header("vary", "Origin").header("cache-control", "no-store");
      if (typeof origin !== "string" || !origins.has(origin) || typeof asked !== "string" || !cors.methods.includes(asked as "GET")) {
        return reply.code(403).header("content-length", "0").send();
      }
      return reply
        .code(204)
        .header("access-control-allow-origin", origin)
        .header("access-control-allow-methods", cors.methods.join(", "))
        .header("access-control-allow-headers", cors.allowedHeaders.join(", "))
        .header("access-control-max-age", String(MAX_AGE_SECONDS))
        .send();
    },
  });
}
