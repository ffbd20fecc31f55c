/**
 * CORS for the GraphQL endpoint: an exact allow-list of origins (CORS_ORIGINS), nothing cross-origin by
 * default. Disallowed origins get no CORS headers at all, so the browser refuses to hand them the response.
 */
import type { IncomingMessage } from "node:http";

const ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "apollo-require-preflight",
  "x-apollo-operation-name",
  "apollographql-client-name",
  "apollographql-client-version",
].join(", ");

export class Cors {
  readonly #origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.#origins = new Set(origins);
  }

  /** Headers for a response to `req`; `Vary: Origin` always, so caches never mix origins. */
  headers(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (typeof origin !== "string" || !this.#origins.has(origin)) return { vary: "Origin" };
    return { "access-control-allow-origin": origin, vary: "Origin" };
  }

  /** The answer to a preflight: 204 with permissions for an allowed origin, 403 without any otherwise. */
  preflight(req: IncomingMessage): { status: number; headers: Record<string, string> } {
    const base = this.headers(req);
    if (!("access-control-allow-origin" in base)) return { status: 403, headers: base };
    return {
      status: 204,
      headers: {
        ...base,
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": ALLOWED_HEADERS,
        "access-control-max-age": "600",
      },
    };
  }
}
