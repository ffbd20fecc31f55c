/** The HTTP side: where the gateway listens, its mode, what it signs, request and operation bounds, operation limits. */
import { z } from "zod";
import type { OperationLimits } from "../security/limits.js";
import { defaultsOf, describe, flag, httpUrl, integer, oneOf, parseSection, type Env, type Section } from "./fields.js";

const MODES = ["production", "development", "test"] as const;
/** The browser explorers: Apollo Sandbox (a page from Apollo's CDN) or the bundled GraphiQL (offline, see http/explorer.ts). */
export const EXPLORERS = ["sandbox", "graphiql"] as const;
export type Explorer = (typeof EXPLORERS)[number];

const server = z.object({
  HOST: describe(
    z
      .string()
      .regex(/^[A-Za-z0-9.:\-[\]]+$/, { error: (issue) => `must be a host name or IP address (got "${String(issue.input)}")` })
      .default("127.0.0.1"),
    { description: "Interface to listen on." },
  ),
  PORT: describe(integer(0, 65535).default(4000), { description: "Port to listen on (`0` = any free port; the chosen URL is printed)." }),
  NODE_ENV: describe(oneOf(MODES, { phrase: "production, development or test" }).optional(), {
    default: "unset (safe: errors masked, no stack traces)",
    description:
      "`production`, `development` or `test`. `production` turns off the Sandbox landing page and introspection (unless `GRAPHQL_INTROSPECTION=true`) and refuses to start without an upstream; `development` alone shows stack traces and internal error details to clients. The startup line names the mode.",
  }),
  GRAPHQL_INTROSPECTION: describe(flag().optional(), {
    default: "on, except in production",
    description: "`true`/`false`: force introspection and the landing page on or off.",
  }),
  EXPLORER: describe(oneOf(EXPLORERS, { phrase: "sandbox or graphiql", lowercase: true }).optional(), {
    default: "`sandbox` (off in production)",
    description:
      "What a browser opening `/graphql` gets: `sandbox` (Apollo Sandbox, loaded from Apollo's CDN) or `graphiql` (the bundled GraphiQL, no internet needed). The bundled explorer is always at `/graphiql` when the landing page is on; in production both are off unless `GRAPHQL_INTROSPECTION=true`, or `EXPLORER=graphiql` (which turns on `/graphiql` and the `/graphql` landing page, not introspection).",
  }),
  PUBLIC_URL: describe(httpUrl().optional(), {
    default: "`http://<bound address>:<port>` (a wildcard bind becomes loopback)",
    description:
      "Absolute http(s) base URL the gateway is reached at (path prefix allowed, e.g. `https://api.example.com/codat-gateway`); `Attachment.downloadUrl` links are built on it. Set it behind a proxy or load balancer.",
  }),
  SIGNING_SECRET: describe(z.string().min(32, { error: "must be at least 32 characters" }).optional(), {
    default: "random per process",
    description:
      "32+ characters; signs connection cursors and download links. Set it when running several instances or to keep cursors and links valid across restarts.",
  }),
});

const limits = z.object({
  MAX_QUERY_DEPTH: describe(integer(2, 100).default(12), {
    description: "Operation depth limit (graphql-armor; `__schema` introspection is exempt).",
  }),
  MAX_ALIASES: describe(integer(0, 10_000).default(100), { description: "Aliases per operation (graphql-armor)." }),
  MAX_DIRECTIVES: describe(integer(0, 1_000).default(20), { description: "Directives per operation (graphql-armor)." }),
  MAX_TOKENS: describe(integer(100, 1_000_000).default(5_000), { description: "Parser token limit per document." }),
  MAX_QUERY_COST: describe(integer(1, 100_000_000).default(50_000), {
    description:
      "Estimated cost limit: 1 per field, × `first`/`last` for connections, × representations for `_entities`, × 5 for other lists.",
  }),
  MAX_CODAT_CALLS_PER_OPERATION: describe(integer(1, 100_000).default(60), {
    description:
      "Most Codat calls one operation is predicted to make (list pages, customers by id in batches of 49 per company, one per other `nodes` id or `_entities` representation, one per customer's `attachments`); beyond, `BAD_USER_INPUT` naming the estimate, before any call. The default serves a page of 50 customers with their attachments.",
  }),
  MAX_REQUEST_BYTES: describe(integer(1_024, 104_857_600).default(1_048_576), {
    description: "Largest GraphQL request body (413 beyond).",
  }),
});

const bounds = z.object({
  OPERATION_TIMEOUT_MS: describe(integer(100, 3_600_000).default(60_000), {
    description:
      "Whole GraphQL operation: past it, its pending Codat reads are aborted and their fields fail with `UPSTREAM_TIMEOUT` (writes already sent complete).",
  }),
  HTTP_HEADERS_TIMEOUT_MS: describe(integer(100, 3_600_000).default(10_000), {
    description: "A request's headers must all arrive within this (408 otherwise); not above `HTTP_REQUEST_TIMEOUT_MS`.",
  }),
  HTTP_REQUEST_TIMEOUT_MS: describe(integer(100, 3_600_000).default(30_000), {
    description: "The whole request, body included, must arrive within this (408 otherwise); responses (long downloads) are not cut.",
  }),
  DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS: describe(integer(100, 600_000).default(30_000), {
    description: "A download client whose socket accepts no bytes for this long is dropped and its Codat request aborted.",
  }),
  // Links are bearer credentials: keep them short-lived (at most a day).
  DOWNLOAD_LINK_TTL_SECONDS: describe(integer(10, 86_400).default(300), {
    description: "Lifetime of a signed download link, 10 to 86400.",
  }),
});

export const httpSections: Section[] = [
  { title: "Server", intro: "Where the gateway listens, what mode it runs in, and what it signs.", model: server },
  {
    title: "Operation limits",
    intro: "Checked before anything runs; a refused operation is HTTP 400 `BAD_USER_INPUT` with no upstream call.",
    model: limits,
  },
  {
    title: "HTTP, downloads and links",
    intro:
      "Every wait has a bound; see [Fairness and bounded waits](operations.md#fairness-and-bounded-waits) and [Attachments and downloads](downloads.md).",
    model: bounds,
  },
];

/** The defaults other modules fall back on when built without a configuration (tests). */
export const httpDefaults = { ...defaultsOf(server), ...defaultsOf(bounds) };

export function parseHttp(env: Env, problems: string[]) {
  const s = parseSection(server, env, problems);
  const l = parseSection(limits, env, problems);
  const b = parseSection(bounds, env, problems);
  // Node refuses a headers timeout longer than the request timeout (the headers are part of the request).
  if (b.HTTP_HEADERS_TIMEOUT_MS > b.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS (${b.HTTP_HEADERS_TIMEOUT_MS}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${b.HTTP_REQUEST_TIMEOUT_MS})`,
    );
  }
  const mode: "production" | "development" | "test" | "default" = s.NODE_ENV ?? "default";
  const production = mode === "production";
  const operationLimits: OperationLimits & { maxTokens: number; maxRequestBytes: number } = {
    maxDepth: l.MAX_QUERY_DEPTH,
    maxAliases: l.MAX_ALIASES,
    maxDirectives: l.MAX_DIRECTIVES,
    maxCost: l.MAX_QUERY_COST,
    maxCodatCalls: l.MAX_CODAT_CALLS_PER_OPERATION,
    maxTokens: l.MAX_TOKENS,
    maxRequestBytes: l.MAX_REQUEST_BYTES,
  };
  return {
    host: s.HOST,
    port: s.PORT,
    production,
    /** NODE_ENV=development: stack traces and internal error details reach clients. Nothing else turns them on. */
    development: mode === "development",
    /** The mode the startup line names: NODE_ENV, or "default" when unset (safe: no stack traces). */
    mode,
    /** Introspection and the Sandbox landing page; off in production unless GRAPHQL_INTROSPECTION=true. */
    introspection: s.GRAPHQL_INTROSPECTION ?? !production,
    /**
     * The browser explorer: which one `GET /graphql` shows (EXPLORER), and whether the bundled GraphiQL is served at
     * `/graphiql` — with the landing page (introspection on), or whenever EXPLORER=graphiql is asked for by name.
     */
    explorer: {
      landingPage: s.EXPLORER ?? "sandbox",
      graphiql: (s.GRAPHQL_INTROSPECTION ?? !production) || s.EXPLORER === "graphiql",
    } satisfies { landingPage: Explorer; graphiql: boolean },
    /** Secret for signing cursors and download links; random per process when unset. */
    signingSecret: s.SIGNING_SECRET,
    /**
     * Public base URL of the gateway (scheme, host, optional path prefix; no trailing slash) used to build
     * absolute `Attachment.downloadUrl` links; undefined = derived from the listening address.
     */
    publicUrl: s.PUBLIC_URL,
    /**
     * OPERATION_TIMEOUT_MS: the longest a GraphQL operation may run. When it passes, the operation's pending Codat
     * reads are aborted and their fields fail with UPSTREAM_TIMEOUT; a write already sent runs to completion
     * (see src/http/graphql.ts).
     */
    operationTimeoutMs: b.OPERATION_TIMEOUT_MS,
    /** HTTP_HEADERS_TIMEOUT_MS: a request's headers must all arrive within this (else 408). */
    httpHeadersTimeoutMs: b.HTTP_HEADERS_TIMEOUT_MS,
    /** HTTP_REQUEST_TIMEOUT_MS: a whole request, body included, must arrive within this (else 408); not the response. */
    httpRequestTimeoutMs: b.HTTP_REQUEST_TIMEOUT_MS,
    /** DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS: longest time a download client's socket may take no bytes before it is dropped. */
    downloadClientIdleTimeoutMs: b.DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS,
    /** Lifetime of a signed download link. */
    downloadLinkTtlSeconds: b.DOWNLOAD_LINK_TTL_SECONDS,
    limits: operationLimits,
  };
}
