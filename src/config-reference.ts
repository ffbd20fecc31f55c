/**
 * The reference of every environment variable the gateway reads: name, default and meaning, by group. It is the
 * one source of docs/configuration.md (`npm run docs` renders it) and is checked by test/unit/config-reference.test.ts
 * against the variables src/config.ts and src/observability/tracing.ts actually read, and against `.env.example`.
 * Nothing at run time imports it: parsing and validation stay in src/config.ts.
 *
 * Descriptions and defaults are Markdown (one line each; the renderer puts them in table cells).
 */

export type ConfigGroup =
  "upstream" | "server" | "access" | "limits" | "codat-calls" | "timeouts" | "replicas" | "subscriptions" | "observability" | "tracing";

export const CONFIG_GROUPS: readonly { id: ConfigGroup; title: string; intro: string }[] = [
  {
    id: "upstream",
    title: "Upstream: Codat or the embedded simulator",
    intro:
      "With neither `CODAT_API_KEY` nor `CODAT_BASE_URL`, the embedded simulator starts in the same process. With `CODAT_BASE_URL` and no key, the gateway calls that URL with no `Authorization` header.",
  },
  { id: "server", title: "Server", intro: "Where the gateway listens, what mode it runs in, and what it signs." },
  {
    id: "access",
    title: "Callers: authentication, browsers, router, trusted documents",
    intro: "See [Security](operations.md#security) for the threat model and a production checklist.",
  },
  {
    id: "limits",
    title: "Operation limits",
    intro: "Checked before anything runs; a refused operation is HTTP 400 `BAD_USER_INPUT` with no upstream call.",
  },
  {
    id: "codat-calls",
    title: "Codat calls: timeouts, concurrency, budget",
    intro: "See [Fairness and bounded waits](operations.md#fairness-and-bounded-waits).",
  },
  {
    id: "timeouts",
    title: "HTTP, downloads and links",
    intro:
      "Every wait has a bound; see [Fairness and bounded waits](operations.md#fairness-and-bounded-waits) and [Attachments and downloads](downloads.md).",
  },
  {
    id: "replicas",
    title: "Replicas and Redis",
    intro: "See [Running several replicas](replicas.md).",
  },
  {
    id: "subscriptions",
    title: "Subscriptions and webhooks",
    intro: "See [Push status in real time](writes.md#push-status-in-real-time) and [Webhooks](writes.md#webhooks).",
  },
  { id: "observability", title: "Logs, metrics, readiness", intro: "See [Operations](operations.md)." },
  {
    id: "tracing",
    title: "Tracing (OpenTelemetry)",
    intro:
      "Off unless an endpoint is set: nothing of OpenTelemetry is loaded otherwise. Only W3C trace context is propagated (`OTEL_PROPAGATORS` is not read); gRPC and protobuf exporters are not included. See [Traces](operations.md#traces).",
  },
];

export interface ConfigVariable {
  name: string;
  group: ConfigGroup;
  /** Markdown: the value used when the variable is unset (or empty). */
  default: string;
  /** Markdown, one line. */
  description: string;
  /**
   * Who reads it: `config` (src/config.ts), `tracing` (src/observability/tracing.ts), or `opentelemetry` (the
   * OpenTelemetry exporter and resource read it from the process environment themselves).
   */
  readBy: "config" | "tracing" | "opentelemetry";
}

const v = (
  group: ConfigGroup,
  name: string,
  defaultValue: string,
  description: string,
  readBy: ConfigVariable["readBy"] = "config",
): ConfigVariable => ({ name, group, default: defaultValue, description, readBy });

export const CONFIG_REFERENCE: readonly ConfigVariable[] = [
  v(
    "upstream",
    "CODAT_API_KEY",
    "unset",
    "Codat API key; sent upstream as `Authorization: Basic base64(key)` (give the key itself, not a `Basic …` header value). Never logged, never returned.",
  ),
  v(
    "upstream",
    "CODAT_BASE_URL",
    "`https://api.codat.io` when `CODAT_API_KEY` is set; otherwise the embedded simulator",
    "Upstream base URL.",
  ),
  v(
    "upstream",
    "CODAT_SIMULATOR",
    "unset",
    "`true` serves the embedded simulator even with `NODE_ENV=production` (cannot be combined with `CODAT_API_KEY`/`CODAT_BASE_URL`).",
  ),
  v("upstream", "SIMULATOR_LATENCY_MS", "`0`", "Artificial latency of the embedded simulator (demos and benchmarks)."),

  v("server", "HOST", "`127.0.0.1`", "Interface to listen on."),
  v("server", "PORT", "`4000`", "Port to listen on (`0` = any free port; the chosen URL is printed)."),
  v(
    "server",
    "NODE_ENV",
    "unset (safe: errors masked, no stack traces)",
    "`production`, `development` or `test`. `production` turns off the Sandbox landing page and introspection (unless `GRAPHQL_INTROSPECTION=true`) and refuses to start without an upstream; `development` alone shows stack traces and internal error details to clients. The startup line names the mode.",
  ),
  v("server", "GRAPHQL_INTROSPECTION", "on, except in production", "`true`/`false`: force introspection and the landing page on or off."),
  v(
    "server",
    "PUBLIC_URL",
    "`http://<bound address>:<port>` (a wildcard bind becomes loopback)",
    "Absolute http(s) base URL the gateway is reached at (path prefix allowed, e.g. `https://api.example.com/codat-gateway`); `Attachment.downloadUrl` links are built on it. Set it behind a proxy or load balancer.",
  ),
  v(
    "server",
    "SIGNING_SECRET",
    "random per process",
    "32+ characters; signs connection cursors and download links. Set it when running several instances or to keep cursors and links valid across restarts.",
  ),

  v(
    "access",
    "AUTH_MODE",
    "`none`",
    "`jwt`: every GraphQL request needs a bearer JWT; `none`: no caller authentication (refused at startup with a real `CODAT_API_KEY` on a non-loopback `HOST` unless `ALLOW_UNAUTHENTICATED=true`).",
  ),
  v(
    "access",
    "AUTH_JWKS_URL",
    "unset",
    "JWKS endpoint of your identity provider (keys cached 10 min, refetched on an unknown `kid`); RS/PS/ES/EdDSA tokens.",
  ),
  v("access", "AUTH_JWT_SECRET", "unset", "Shared secret (32+ characters) for HS256/384/512 tokens, instead of `AUTH_JWKS_URL`."),
  v("access", "AUTH_ISSUER", "unset", "Required `iss` of accepted tokens (required with `AUTH_MODE=jwt`)."),
  v("access", "AUTH_AUDIENCE", "unset", "Required `aud` of accepted tokens (required with `AUTH_MODE=jwt`)."),
  v(
    "access",
    "AUTH_COMPANIES_CLAIM",
    "`codat_company_ids`",
    'Claim listing the Codat company ids the caller may use (array, or a space/comma-separated string); `"*"` means all.',
  ),
  v(
    "access",
    "ALLOW_UNAUTHENTICATED",
    "`false`",
    "`true` permits `AUTH_MODE=none` with a real key off loopback (only behind a proxy that authenticates).",
  ),
  v(
    "access",
    "CORS_ORIGINS",
    "none (no cross-origin access)",
    "Comma-separated browser origins allowed to call `/graphql` (exact match, e.g. `https://app.example.com`).",
  ),
  v(
    "access",
    "ROUTER_SECRET",
    "unset (open)",
    "16+ characters. When set, every GraphQL request must carry it in `ROUTER_SECRET_HEADER` (401 otherwise): only your router reaches the subgraph, `_service` and `_entities` included.",
  ),
  v("access", "ROUTER_SECRET_HEADER", "`x-router-secret`", "Header name for `ROUTER_SECRET`."),
  v(
    "access",
    "PERSISTED_OPERATIONS",
    "unset",
    "Path of a trusted-documents manifest (graphql-codegen client preset's `persisted-documents.json`); when set, only listed operations run.",
  ),

  v("limits", "MAX_QUERY_DEPTH", "`12`", "Operation depth limit (graphql-armor; `__schema` introspection is exempt)."),
  v("limits", "MAX_ALIASES", "`100`", "Aliases per operation (graphql-armor)."),
  v("limits", "MAX_DIRECTIVES", "`20`", "Directives per operation (graphql-armor)."),
  v("limits", "MAX_TOKENS", "`5000`", "Parser token limit per document."),
  v(
    "limits",
    "MAX_QUERY_COST",
    "`50000`",
    "Estimated cost limit: 1 per field, × `first`/`last` for connections, × representations for `_entities`, × 5 for other lists.",
  ),
  v("limits", "MAX_REQUEST_BYTES", "`1048576`", "Largest GraphQL request body (413 beyond)."),

  v("codat-calls", "CODAT_TIMEOUT_MS", "`10000`", "Timeout of one upstream attempt."),
  v("codat-calls", "CODAT_DEADLINE_MS", "`30000`", "Overall deadline of one upstream call, retries and waits included."),
  v(
    "codat-calls",
    "OPERATION_TIMEOUT_MS",
    "`60000`",
    "Whole GraphQL operation: past it, its pending Codat reads are aborted and their fields fail with `UPSTREAM_TIMEOUT` (writes already sent complete).",
  ),
  v("codat-calls", "CODAT_MAX_CONCURRENCY_PER_COMPANY", "`10`", "Upstream requests in flight per company (Codat allows 10)."),
  v(
    "codat-calls",
    "CODAT_DOWNLOAD_SLOTS_PER_COMPANY",
    "`4`",
    "Of a company's slots, how many attachment downloads may hold at once; queries and writes always keep the rest.",
  ),
  v(
    "codat-calls",
    "CODAT_MAX_QUEUE_PER_COMPANY",
    "`100`",
    "Calls that may wait for a company's slots; one more is refused at once with `RATE_LIMITED` (`retryAfterSeconds: 1`).",
  ),
  v(
    "codat-calls",
    "CODAT_DOWNLOAD_QUEUE_PER_COMPANY",
    "`10`",
    "Downloads that may wait for their share of the slots; one more is answered 429 with `Retry-After: 1`.",
  ),
  v(
    "codat-calls",
    "CODAT_QUEUE_TIMEOUT_MS",
    "`10000`",
    "Longest wait for a company slot (within `CODAT_DEADLINE_MS`) before `RATE_LIMITED`; nothing was sent to Codat.",
  ),
  v(
    "codat-calls",
    "CODAT_REQUESTS_PER_MINUTE",
    "`1000` with `CODAT_API_KEY`, else `0`",
    "Codat's per-IP request budget: attempts per minute from this gateway (all replicas with `REDIS_URL`); beyond it a call waits up to `CODAT_QUEUE_TIMEOUT_MS` for the next minute, else `RATE_LIMITED` with `retryAfterSeconds`. `0` = off.",
  ),

  v(
    "timeouts",
    "CODAT_STREAM_IDLE_TIMEOUT_MS",
    "`30000`",
    "A download whose Codat body sends nothing for this long fails: the client's connection is cut mid-body (a failed download, never a short file), the slot freed.",
  ),
  v(
    "timeouts",
    "DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS",
    "`30000`",
    "A download client whose socket accepts no bytes for this long is dropped and its Codat request aborted.",
  ),
  v(
    "timeouts",
    "HTTP_HEADERS_TIMEOUT_MS",
    "`10000`",
    "A request's headers must all arrive within this (408 otherwise); not above `HTTP_REQUEST_TIMEOUT_MS`.",
  ),
  v(
    "timeouts",
    "HTTP_REQUEST_TIMEOUT_MS",
    "`30000`",
    "The whole request, body included, must arrive within this (408 otherwise); responses (long downloads) are not cut.",
  ),
  v("timeouts", "DOWNLOAD_LINK_TTL_SECONDS", "`300`", "Lifetime of a signed download link, 10 to 86400."),

  v(
    "replicas",
    "REPLICAS",
    "`1`",
    "How many copies of the gateway run behind one address; above 1 it requires `SIGNING_SECRET` and is the default of `REDIS_EXPECTED_REPLICAS`. Without `REDIS_URL` each copy keeps its own limits.",
  ),
  v(
    "replicas",
    "REDIS_URL",
    "unset (limits per process)",
    "Share the per-company Codat limits, the request budget, APQ and push-status events across replicas through this Redis (`redis://` or `rediss://`); requires `SIGNING_SECRET`. Never logged with its password.",
  ),
  v(
    "replicas",
    "REDIS_FAILURE_MODE",
    "`fail`",
    "`fail`: a replica that cannot reach Redis at startup exits; `local`: it starts on the fallback cap. Only with `REDIS_URL`.",
  ),
  v(
    "replicas",
    "REDIS_EXPECTED_REPLICAS",
    "`REPLICAS` when above 1, else `3`",
    "While Redis is unreachable each replica takes floor(cap / this) (at least 1) of a company's slots and floor(budget / this) of the request budget. Only with `REDIS_URL`.",
  ),
  v(
    "replicas",
    "REDIS_LEASE_MS",
    "`10000`",
    "A permit's lease: a crashed replica's permits return after this; held ones are renewed. Redis counts as down when its connection closes or commands fail for this long; the fallback then grants from a lease after Redis last answered. Only with `REDIS_URL`.",
  ),
  v(
    "replicas",
    "REDIS_COMMAND_TIMEOUT_MS",
    "`500`",
    "The longest a Redis command may take; one that does not answer in time is asked again (slow is not down). At most half of `REDIS_LEASE_MS`. Only with `REDIS_URL`.",
  ),
  v("replicas", "REDIS_CONNECT_TIMEOUT_MS", "`5000`", "How long startup waits for Redis. Only with `REDIS_URL`."),
  v(
    "replicas",
    "REDIS_RETRY_INTERVAL_MS",
    "`20`",
    "How often a replica asks again while a company's permits are all taken. Only with `REDIS_URL`.",
  ),
  v(
    "replicas",
    "REDIS_KEY_PREFIX",
    "`codat-gateway:`",
    "Prefix of every Redis key, to share one Redis between deployments. Only with `REDIS_URL`.",
  ),

  v(
    "subscriptions",
    "PUSH_STATUS_POLL_INTERVAL_MS",
    "`500`; `30000` with `CODAT_WEBHOOK_SECRET`",
    "`pushOperationUpdated`: the first poll of Codat for an operation, doubling after each unchanged answer.",
  ),
  v(
    "subscriptions",
    "PUSH_STATUS_POLL_MAX_INTERVAL_MS",
    "`10000`; `60000` with `CODAT_WEBHOOK_SECRET`",
    "The longest wait between two polls of one operation.",
  ),
  v(
    "subscriptions",
    "PUSH_STATUS_MAX_WAIT_MS",
    "`1800000` (30 min)",
    "The longest a subscription waits for a final status (less when the operation's `timeoutInMinutes` plus a minute ends sooner), then `UPSTREAM_TIMEOUT`.",
  ),
  v(
    "subscriptions",
    "WS_MAX_CONNECTIONS",
    "`10000`",
    "WebSocket (subscription) connections one process holds at once; an upgrade beyond is answered 503.",
  ),
  v(
    "subscriptions",
    "CODAT_WEBHOOK_SECRET",
    "unset (no webhook route; push status is polled)",
    "The signing secret of your Codat webhook endpoint (`whsec_…`, from the Portal). When set, `POST /webhooks/codat` receives Codat's webhooks; never logged.",
  ),
  v(
    "subscriptions",
    "CODAT_WEBHOOK_PATH",
    "`/webhooks/codat`",
    "Path of the webhook route (must start with `/`; not one of the gateway's own routes). Only with `CODAT_WEBHOOK_SECRET`.",
  ),
  v(
    "subscriptions",
    "CODAT_WEBHOOK_MAX_BODY_BYTES",
    "`262144` (256 KiB)",
    "Largest webhook body; beyond it 413, the rest unread. Only with `CODAT_WEBHOOK_SECRET`.",
  ),

  v("observability", "LOG_LEVEL", "`info`", "`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`."),
  v("observability", "LOG_PRETTY", "`true` with `NODE_ENV=development`, else `false`", "`true`: coloured one-line logs instead of JSON."),
  v("observability", "METRICS_ENABLED", "`true`", "`false` turns off `GET /metrics`."),
  v(
    "observability",
    "METRICS_PORT",
    "unset (main port)",
    "Serve `/metrics` on this port of `HOST` instead of the main one (keep the scrape endpoint off the public listener).",
  ),
  v(
    "observability",
    "READY_CHECK_UPSTREAM",
    "`true` when `CODAT_API_KEY` is set",
    "`true`: `/readyz` answers 503 until Codat has accepted the credentials once (one cheap call at startup).",
  ),
  v(
    "observability",
    "READY_CHECK_INTERVAL_SECONDS",
    "`30`",
    "After a refusal, at most one more check per this many seconds (only while `/readyz` is asked).",
  ),

  v(
    "tracing",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "unset (no tracing, nothing loaded)",
    "Turns tracing on: OTLP/HTTP (JSON) collector base URL; `/v1/traces` is appended.",
    "tracing",
  ),
  v("tracing", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "unset", "The full traces URL, instead of the base URL above.", "tracing"),
  v("tracing", "OTEL_SDK_DISABLED", "unset", "`true`: tracing off even with an endpoint.", "tracing"),
  v("tracing", "OTEL_TRACES_EXPORTER", "unset", "`none`: tracing off even with an endpoint.", "tracing"),
  v("tracing", "OTEL_SERVICE_NAME", "`codat-customers-gateway`", "The traces' `service.name`.", "tracing"),
  v(
    "tracing",
    "OTEL_RESOURCE_ATTRIBUTES",
    "unset",
    "Other resource attributes (`key=value,…`), read by OpenTelemetry's resource detector.",
    "opentelemetry",
  ),
  v(
    "tracing",
    "OTEL_TRACES_SAMPLER",
    "`parentbased_always_on`",
    "`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off` or `parentbased_traceidratio`.",
    "tracing",
  ),
  v("tracing", "OTEL_TRACES_SAMPLER_ARG", "unset", "The `traceidratio` samplers' ratio, 0 to 1.", "tracing"),
  v("tracing", "OTEL_BSP_SCHEDULE_DELAY", "the SDK's (5000)", "Batch span processor: delay between exports, ms.", "tracing"),
  v("tracing", "OTEL_BSP_EXPORT_TIMEOUT", "the SDK's (30000)", "Batch span processor: export timeout, ms.", "tracing"),
  v("tracing", "OTEL_BSP_MAX_QUEUE_SIZE", "the SDK's (2048)", "Batch span processor: spans held before dropping.", "tracing"),
  v("tracing", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "the SDK's (512)", "Batch span processor: spans per export.", "tracing"),
  v(
    "tracing",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "unset",
    "Headers sent with every export (`key=value,…`, e.g. a vendor's API key), read by the OTLP exporter.",
    "opentelemetry",
  ),
  v("tracing", "OTEL_EXPORTER_OTLP_TIMEOUT", "the exporter's (10000)", "Export timeout, ms, read by the OTLP exporter.", "opentelemetry"),
  v("tracing", "OTEL_EXPORTER_OTLP_COMPRESSION", "unset", "`gzip` to compress exports, read by the OTLP exporter.", "opentelemetry"),
];
