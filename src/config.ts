/**
 * Configuration, parsed once at startup from the environment. Nothing else in the gateway reads `process.env`.
 * Every problem is collected and reported together, one line per variable, so an operator fixes them in one go.
 */
import type { JwtAuthConfig } from "./auth/caller.js";
import type { OperationLimits } from "./security/limits.js";
import { TrustedDocuments } from "./security/trusted-documents.js";

export interface Config {
  /** Codat API key; sent upstream as `Authorization: Basic base64(key)`. Never logged. */
  codatApiKey: string | undefined;
  /** Upstream base URL, or undefined when the embedded simulator should be started and used. */
  codatBaseUrl: string | undefined;
  /** True when neither CODAT_API_KEY nor CODAT_BASE_URL is set: `npm start` runs the embedded simulator. */
  useSimulator: boolean;
  host: string;
  port: number;
  production: boolean;
  /** NODE_ENV=development: stack traces and internal error details reach clients. Nothing else turns them on. */
  development: boolean;
  /** The mode the startup line names: NODE_ENV, or "default" when unset (safe: no stack traces). */
  mode: "production" | "development" | "test" | "default";
  /** CODAT_SIMULATOR=true: serve the embedded simulator even with NODE_ENV=production. */
  simulatorRequested: boolean;
  /** Introspection and the Sandbox landing page; off in production unless GRAPHQL_INTROSPECTION=true. */
  introspection: boolean;
  /** Secret for signing cursors and download links; random per process when unset. */
  signingSecret: string | undefined;
  /**
   * OPERATION_TIMEOUT_MS (default 60 000): the longest a GraphQL operation may run. When it passes, the
   * operation's pending Codat reads are aborted and their fields fail with UPSTREAM_TIMEOUT; a write already
   * sent runs to completion (see src/http/graphql.ts).
   */
  operationTimeoutMs: number;
  codatAttemptTimeoutMs: number;
  codatDeadlineMs: number;
  codatMaxConcurrencyPerCompany: number;
  /** CODAT_STREAM_IDLE_TIMEOUT_MS: longest gap between two chunks of a download's body from Codat before it fails. */
  codatStreamIdleTimeoutMs: number;
  /** DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS: longest time a download client's socket may take no bytes before it is dropped. */
  downloadClientIdleTimeoutMs: number;
  /** HTTP_HEADERS_TIMEOUT_MS: a request's headers must all arrive within this (else 408). */
  httpHeadersTimeoutMs: number;
  /** HTTP_REQUEST_TIMEOUT_MS: a whole request, body included, must arrive within this (else 408); not the response. */
  httpRequestTimeoutMs: number;
  /** Of those slots, how many attachment downloads may hold at once (CODAT_DOWNLOAD_SLOTS_PER_COMPANY, default 4). */
  codatDownloadSlotsPerCompany: number;
  /** Calls that may wait for a company's slots before RATE_LIMITED (CODAT_MAX_QUEUE_PER_COMPANY, default 100). */
  codatMaxQueuePerCompany: number;
  /** Downloads that may wait for their share (CODAT_DOWNLOAD_QUEUE_PER_COMPANY, default 10); beyond, 429. */
  codatDownloadQueuePerCompany: number;
  /** Longest wait for a company slot before RATE_LIMITED (CODAT_QUEUE_TIMEOUT_MS, default 10 000). */
  codatQueueTimeoutMs: number;
  /**
   * Codat's per-IP request budget (CODAT_REQUESTS_PER_MINUTE): requests per minute from this gateway (all its
   * replicas with REDIS_URL). Default 1 000 (Codat's limit) with CODAT_API_KEY set, else 0 (off: the simulator
   * has no such limit). 0 turns it off.
   */
  codatRequestsPerMinute: number;
  /**
   * Federation hardening: when set, every GraphQL request must carry this header with this value, so only the
   * router (which adds it) can reach the subgraph, `_service` and `_entities` included.
   */
  routerSecret: { header: string; value: string } | undefined;
  /** Artificial latency for the embedded simulator (benchmarks and demos). */
  simulatorLatencyMs: number;
  /**
   * Public base URL of the gateway (scheme, host, optional path prefix; no trailing slash) used to build
   * absolute `Attachment.downloadUrl` links; undefined = derived from the listening address.
   */
  publicUrl: string | undefined;
  /** Lifetime of a signed download link. */
  downloadLinkTtlSeconds: number;
  /** Caller authentication: undefined for AUTH_MODE=none. */
  auth: JwtAuthConfig | undefined;
  /** Origins allowed to call the GraphQL endpoint from a browser (exact match); empty = none cross-origin. */
  corsOrigins: string[];
  limits: OperationLimits & { maxTokens: number; maxRequestBytes: number };
  /** The trusted-documents manifest (PERSISTED_OPERATIONS), read at startup; when set, only listed operations run. */
  trustedDocuments: TrustedDocuments | undefined;
  /** pino level (LOG_LEVEL). */
  logLevel: LogLevel;
  /** Human-readable log lines instead of JSON: LOG_PRETTY, default on with NODE_ENV=development. */
  logPretty: boolean;
  /** GET /metrics on the main port (METRICS_ENABLED, default true). */
  metricsEnabled: boolean;
  /** When set, /metrics is served on this port of HOST instead of the main one (METRICS_PORT). */
  metricsPort: number | undefined;
  /**
   * READY_CHECK_UPSTREAM: check Codat's acceptance of the credentials at startup (and at most once per
   * READY_CHECK_INTERVAL_SECONDS after a refusal) before /readyz says ready. Default on when a real key is set.
   */
  readyCheckUpstream: boolean;
  readyCheckIntervalSeconds: number;
  /** REDIS_URL and its settings: company slots shared by every replica. Undefined = per-process slots only. */
  redis: RedisConfig | undefined;
  /** `pushOperationUpdated` subscriptions: how the gateway polls Codat for a push operation (push-status/watcher.ts). */
  pushStatus: PushStatusConfig;
  /** CODAT_WEBHOOK_SECRET and friends: the receiver of Codat's webhooks (webhooks/route.ts). Undefined = no route. */
  codatWebhook: CodatWebhookConfig | undefined;
}

export interface CodatWebhookConfig {
  /** CODAT_WEBHOOK_SECRET: the endpoint's signing secret from Codat's portal (`whsec_<base64>` or the base64 alone). Never logged. */
  secret: string;
  /** CODAT_WEBHOOK_PATH (default `/webhooks/codat`): where Codat POSTs. */
  path: string;
  /** CODAT_WEBHOOK_MAX_BODY_BYTES (default 262 144): a larger body is answered 413 unread. */
  maxBodyBytes: number;
}

export interface PushStatusConfig {
  /**
   * PUSH_STATUS_POLL_INTERVAL_MS: the first poll's wait, doubling after each unchanged one. Default 500, or
   * 30 000 with CODAT_WEBHOOK_SECRET set (webhooks announce the change; polling is only a safety net).
   */
  pollIntervalMs: number;
  /** PUSH_STATUS_POLL_MAX_INTERVAL_MS: the longest wait between polls. Default 10 000, or 60 000 with webhooks. */
  maxPollIntervalMs: number;
  /** PUSH_STATUS_MAX_WAIT_MS (default 1 800 000, 30 min): the longest a subscription waits for a final status. */
  maxWaitMs: number;
  /** WS_MAX_CONNECTIONS (default 10 000): WebSocket connections this process holds at once; beyond, 503. */
  maxConnections: number;
}

export interface RedisConfig {
  /** redis:// or rediss:// URL (may carry a password: never logged or echoed). */
  url: string;
  /** REDIS_FAILURE_MODE: "fail" (default) refuses to start without Redis; "local" starts on the fallback cap. */
  failureMode: "fail" | "local";
  /**
   * REDIS_EXPECTED_REPLICAS (default REPLICAS when that is above 1, else 3): without Redis each replica takes
   * floor(cap / this) (at least 1) of a company's slots.
   */
  expectedReplicas: number;
  /**
   * REDIS_LEASE_MS (default 10 000): a permit of a replica that died returns after this; held ones are renewed.
   * Also how long commands must fail in a row before Redis counts as down, and how long the fallback waits.
   */
  leaseMs: number;
  /** REDIS_COMMAND_TIMEOUT_MS (default 500): the longest a Redis command may take before it is asked again. */
  commandTimeoutMs: number;
  /** REDIS_CONNECT_TIMEOUT_MS (default 5 000): how long startup waits for Redis. */
  connectTimeoutMs: number;
  /** REDIS_RETRY_INTERVAL_MS (default 20): how often a replica asks again for a company's permits while all are taken. */
  retryIntervalMs: number;
  /** REDIS_KEY_PREFIX (default "codat-gateway:"). */
  keyPrefix: string;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const DEFAULT_CODAT_BASE_URL = "https://api.codat.io";

/** Loopback names and addresses: only the local machine can reach a gateway listening there. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function parseConfig(env: Env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  };

  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["true", "1", "yes"].includes(raw)) return true;
    if (["false", "0", "no"].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  /** An absolute http(s) URL without credentials, query or fragment, trailing slashes removed. */
  const httpUrl = (name: string): string | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password || url.search || url.hash) {
      // The value itself is not echoed: a mistyped URL can carry credentials.
      problems.push(`${name} must be an absolute http(s) URL without credentials, query or fragment`);
      return undefined;
    }
    return url.href.replace(/\/+$/, "");
  };

  const codatApiKey = read("CODAT_API_KEY");
  if (codatApiKey !== undefined && /^basic\s/i.test(codatApiKey)) {
    problems.push(
      'CODAT_API_KEY must be the API key itself, not an Authorization header value: remove the "Basic " prefix and the base64 encoding (the gateway encodes the key)',
    );
  }
  const codatBaseUrl = httpUrl("CODAT_BASE_URL") ?? (codatApiKey !== undefined ? DEFAULT_CODAT_BASE_URL : undefined);
  const noUpstream = codatApiKey === undefined && read("CODAT_BASE_URL") === undefined;
  const simulatorRequested = boolean("CODAT_SIMULATOR", false);
  if (simulatorRequested && !noUpstream) problems.push("CODAT_SIMULATOR=true cannot be combined with CODAT_API_KEY or CODAT_BASE_URL");
  const useSimulator = noUpstream;

  const host = read("HOST") ?? "127.0.0.1";
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) problems.push(`HOST must be a host name or IP address (got "${host}")`);
  const nodeEnv = read("NODE_ENV");
  const modes = ["production", "development", "test"] as const;
  const mode = nodeEnv === undefined ? "default" : (modes as readonly string[]).includes(nodeEnv) ? (nodeEnv as Config["mode"]) : undefined;
  if (mode === undefined) problems.push(`NODE_ENV must be production, development or test (got "${nodeEnv ?? ""}")`);
  const production = mode === "production";
  if (production && noUpstream && !simulatorRequested) {
    problems.push(
      "NODE_ENV=production needs CODAT_API_KEY (or CODAT_BASE_URL): refusing to serve the embedded simulator's demo data as if it were a real deploy; set CODAT_SIMULATOR=true to serve it on purpose",
    );
  }

  const routerSecret = read("ROUTER_SECRET");
  const routerSecretHeader = (read("ROUTER_SECRET_HEADER") ?? "x-router-secret").toLowerCase();
  if (!/^[a-z0-9-]+$/.test(routerSecretHeader)) problems.push("ROUTER_SECRET_HEADER must be an HTTP header name");
  if (routerSecret !== undefined && routerSecret.length < 16) problems.push("ROUTER_SECRET must be at least 16 characters");

  const signingSecret = read("SIGNING_SECRET");
  if (signingSecret !== undefined && signingSecret.length < 32) problems.push("SIGNING_SECRET must be at least 32 characters");
  // REPLICAS: how many copies of this gateway run behind one address (1 unless said).
  const replicas = integer("REPLICAS", 1, 1, 1_000);
  const redis = parseRedis(read, integer, problems, replicas);
  if ((redis !== undefined || replicas > 1) && signingSecret === undefined) {
    problems.push(
      `${redis !== undefined ? "REDIS_URL" : "REPLICAS > 1"} (several replicas) needs SIGNING_SECRET, the same on every replica, so cursors and download links verify on any of them`,
    );
  }

  const corsOrigins = (read("CORS_ORIGINS") ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    let valid: boolean;
    try {
      valid = new URL(origin).origin === origin;
    } catch {
      valid = false;
    }
    if (!valid) problems.push(`CORS_ORIGINS entries must be origins like https://app.example.com (got "${origin}")`);
  }

  const httpRequestTimeoutMs = integer("HTTP_REQUEST_TIMEOUT_MS", 30_000, 100, 3_600_000);
  const httpHeadersTimeoutMs = integer("HTTP_HEADERS_TIMEOUT_MS", 10_000, 100, 3_600_000);
  // Node refuses a headers timeout longer than the request timeout (the headers are part of the request).
  if (httpHeadersTimeoutMs > httpRequestTimeoutMs) {
    problems.push(`HTTP_HEADERS_TIMEOUT_MS (${httpHeadersTimeoutMs}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${httpRequestTimeoutMs})`);
  }

  const port = integer("PORT", 4000, 0, 65535);
  const metricsPort = read("METRICS_PORT") === undefined ? undefined : integer("METRICS_PORT", 0, 0, 65535);
  // Port 0 asks the system for a free port: two of those never collide.
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) {
    problems.push(`METRICS_PORT (${metricsPort}) must differ from PORT (${port}); unset it to serve /metrics on PORT`);
  }

  // OpenTelemetry's exporter reads these itself (observability/tracing.ts); a value it cannot use is caught here.
  for (const name of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) {
    const raw = read(name);
    if (raw !== undefined && !isHttpUrl(raw)) {
      // The value is not echoed: an endpoint URL can carry credentials.
      problems.push(`${name} must be an http(s) URL of an OTLP/HTTP collector, such as http://collector:4318`);
    }
  }

  const rawLevel = (read("LOG_LEVEL") ?? "info").toLowerCase();
  const logLevel = (LOG_LEVELS as readonly string[]).includes(rawLevel) ? (rawLevel as LogLevel) : "info";
  if (logLevel !== rawLevel) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got "${rawLevel}")`);

  return finish(problems, {
    codatApiKey,
    codatBaseUrl,
    useSimulator,
    host,
    port,
    production,
    development: mode === "development",
    mode: mode ?? "default",
    simulatorRequested,
    introspection: boolean("GRAPHQL_INTROSPECTION", !production),
    signingSecret,
    operationTimeoutMs: integer("OPERATION_TIMEOUT_MS", 60_000, 100, 3_600_000),
    codatAttemptTimeoutMs: integer("CODAT_TIMEOUT_MS", 10_000, 100, 600_000),
    codatDeadlineMs: integer("CODAT_DEADLINE_MS", 30_000, 100, 3_600_000),
    codatMaxConcurrencyPerCompany: integer("CODAT_MAX_CONCURRENCY_PER_COMPANY", 10, 1, 100),
    codatStreamIdleTimeoutMs: integer("CODAT_STREAM_IDLE_TIMEOUT_MS", 30_000, 100, 600_000),
    downloadClientIdleTimeoutMs: integer("DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS", 30_000, 100, 600_000),
    httpHeadersTimeoutMs,
    httpRequestTimeoutMs,
    codatDownloadSlotsPerCompany: integer("CODAT_DOWNLOAD_SLOTS_PER_COMPANY", 4, 1, 100),
    codatMaxQueuePerCompany: integer("CODAT_MAX_QUEUE_PER_COMPANY", 100, 0, 100_000),
    codatDownloadQueuePerCompany: integer("CODAT_DOWNLOAD_QUEUE_PER_COMPANY", 10, 0, 10_000),
    codatQueueTimeoutMs: integer("CODAT_QUEUE_TIMEOUT_MS", 10_000, 1, 3_600_000),
    codatRequestsPerMinute: integer("CODAT_REQUESTS_PER_MINUTE", codatApiKey !== undefined ? 1_000 : 0, 0, 1_000_000),
    routerSecret: routerSecret !== undefined ? { header: routerSecretHeader, value: routerSecret } : undefined,
    simulatorLatencyMs: integer("SIMULATOR_LATENCY_MS", 0, 0, 60_000),
    publicUrl: httpUrl("PUBLIC_URL"),
    // Links are bearer credentials: keep them short-lived (at most a day).
    downloadLinkTtlSeconds: integer("DOWNLOAD_LINK_TTL_SECONDS", 300, 10, 86_400),
    auth: parseAuth(read, httpUrl, boolean, problems, { codatApiKey, host, useSimulator }),
    corsOrigins,
    limits: {
      maxDepth: integer("MAX_QUERY_DEPTH", 12, 2, 100),
      maxAliases: integer("MAX_ALIASES", 100, 0, 10_000),
      maxDirectives: integer("MAX_DIRECTIVES", 20, 0, 1_000),
      maxCost: integer("MAX_QUERY_COST", 50_000, 1, 100_000_000),
      maxTokens: integer("MAX_TOKENS", 5_000, 100, 1_000_000),
      maxRequestBytes: integer("MAX_REQUEST_BYTES", 1_048_576, 1_024, 104_857_600),
    },
    trustedDocuments: trustedDocumentsFile(read("PERSISTED_OPERATIONS"), problems),
    logLevel,
    logPretty: boolean("LOG_PRETTY", mode === "development"),
    metricsEnabled: boolean("METRICS_ENABLED", true),
    metricsPort,
    readyCheckUpstream: boolean("READY_CHECK_UPSTREAM", codatApiKey !== undefined),
    readyCheckIntervalSeconds: integer("READY_CHECK_INTERVAL_SECONDS", 30, 1, 3600),
    redis,
    pushStatus: parsePushStatus(read, integer, problems),
    codatWebhook: parseCodatWebhook(read, integer, problems),
  });
}

/** The configured secrets a log line must never carry (the logger cuts them out of every line). */
export function logSecrets(config: Pick<Config, "codatApiKey" | "codatWebhook">): string[] {
  const secrets: string[] = [];
  if (config.codatApiKey !== undefined) secrets.push(config.codatApiKey);
  const webhook = config.codatWebhook?.secret;
  if (webhook !== undefined) secrets.push(webhook, webhook.replace(/^whsec_/, ""));
  return secrets;
}

/** An absolute http: or https: URL with a host. */
function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** Paths the gateway serves itself, which the webhook route must not shadow. */
const RESERVED_PATHS = ["/graphql", "/healthz", "/readyz", "/metrics"];

function parseCodatWebhook(
  read: (name: string) => string | undefined,
  integer: (name: string, fallback: number, min: number, max: number) => number,
  problems: string[],
): CodatWebhookConfig | undefined {
  const secret = read("CODAT_WEBHOOK_SECRET");
  if (secret === undefined) {
    for (const name of ["CODAT_WEBHOOK_PATH", "CODAT_WEBHOOK_MAX_BODY_BYTES"]) {
      if (read(name) !== undefined) problems.push(`${name} has no effect without CODAT_WEBHOOK_SECRET`);
    }
    return undefined;
  }
  // Standard Webhooks secrets are base64 (Codat's portal shows them with a `whsec_` prefix). Never echoed.
  const key = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(key) && key.length % 4 === 0 ? Buffer.from(key, "base64") : undefined;
  if (bytes === undefined || bytes.length < 16) {
    problems.push("CODAT_WEBHOOK_SECRET must be the endpoint's signing secret from Codat: whsec_ followed by base64 (16+ bytes)");
  }
  const path = read("CODAT_WEBHOOK_PATH") ?? "/webhooks/codat";
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(path) || path.includes("//")) {
    problems.push(`CODAT_WEBHOOK_PATH must be a path starting with / (letters, digits, . _ ~ - /), got "${path}"`);
  } else if (RESERVED_PATHS.includes(path) || path.startsWith("/downloads/")) {
    problems.push(`CODAT_WEBHOOK_PATH must not be one of the gateway's own routes (got "${path}")`);
  }
  return { secret, path, maxBodyBytes: integer("CODAT_WEBHOOK_MAX_BODY_BYTES", 262_144, 1_024, 10_485_760) };
}

function parsePushStatus(
  read: (name: string) => string | undefined,
  integer: (name: string, fallback: number, min: number, max: number) => number,
  problems: string[],
): PushStatusConfig {
  // Webhooks configured (the receiver's secret): they are expected to announce each change, so poll slowly.
  const webhooks = read("CODAT_WEBHOOK_SECRET") !== undefined;
  const pollIntervalMs = integer("PUSH_STATUS_POLL_INTERVAL_MS", webhooks ? 30_000 : 500, 10, 3_600_000);
  const maxPollIntervalMs = integer(
    "PUSH_STATUS_POLL_MAX_INTERVAL_MS",
    Math.max(pollIntervalMs, webhooks ? 60_000 : 10_000),
    10,
    3_600_000,
  );
  if (maxPollIntervalMs < pollIntervalMs) {
    problems.push(
      `PUSH_STATUS_POLL_MAX_INTERVAL_MS (${maxPollIntervalMs}) must not be less than PUSH_STATUS_POLL_INTERVAL_MS (${pollIntervalMs})`,
    );
  }
  return {
    pollIntervalMs,
    maxPollIntervalMs,
    maxWaitMs: integer("PUSH_STATUS_MAX_WAIT_MS", 1_800_000, 1_000, 86_400_000),
    maxConnections: integer("WS_MAX_CONNECTIONS", 10_000, 1, 1_000_000),
  };
}

/** The settings that only mean something with REDIS_URL. */
const REDIS_SETTINGS = [
  "REDIS_FAILURE_MODE",
  "REDIS_EXPECTED_REPLICAS",
  "REDIS_LEASE_MS",
  "REDIS_COMMAND_TIMEOUT_MS",
  "REDIS_CONNECT_TIMEOUT_MS",
  "REDIS_RETRY_INTERVAL_MS",
  "REDIS_KEY_PREFIX",
];

function parseRedis(
  read: (name: string) => string | undefined,
  integer: (name: string, fallback: number, min: number, max: number) => number,
  problems: string[],
  replicas: number,
): RedisConfig | undefined {
  const url = read("REDIS_URL");
  if (url === undefined) {
    for (const name of REDIS_SETTINGS) {
      if (read(name) !== undefined) problems.push(`${name} has no effect without REDIS_URL`);
    }
    return undefined;
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  // The value is never echoed: it may carry a password.
  if (!parsed || (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") || !parsed.hostname) {
    problems.push("REDIS_URL must be a redis:// or rediss:// URL (redis://[:password@]host[:port][/db])");
  }
  const failureMode = (read("REDIS_FAILURE_MODE") ?? "fail").toLowerCase();
  if (failureMode !== "fail" && failureMode !== "local") problems.push(`REDIS_FAILURE_MODE must be fail or local (got "${failureMode}")`);
  const leaseMs = integer("REDIS_LEASE_MS", 10_000, 300, 600_000);
  const commandTimeoutMs = integer("REDIS_COMMAND_TIMEOUT_MS", 500, 10, 60_000);
  if (commandTimeoutMs * 2 > leaseMs)
    problems.push(`REDIS_COMMAND_TIMEOUT_MS (${commandTimeoutMs}) must be at most half of REDIS_LEASE_MS (${leaseMs})`);
  const keyPrefix = read("REDIS_KEY_PREFIX") ?? "codat-gateway:";
  if (!/^[\x21-\x7e]{1,100}$/.test(keyPrefix)) problems.push("REDIS_KEY_PREFIX must be 1 to 100 visible ASCII characters");
  return {
    url,
    failureMode: failureMode === "local" ? "local" : "fail",
    expectedReplicas: integer("REDIS_EXPECTED_REPLICAS", replicas > 1 ? replicas : 3, 1, 1_000),
    leaseMs,
    commandTimeoutMs,
    connectTimeoutMs: integer("REDIS_CONNECT_TIMEOUT_MS", 5_000, 100, 120_000),
    retryIntervalMs: integer("REDIS_RETRY_INTERVAL_MS", 20, 1, 10_000),
    keyPrefix,
  };
}

/** The trusted-documents manifest, read once at startup: a missing or malformed one stops startup here. */
function trustedDocumentsFile(file: string | undefined, problems: string[]): TrustedDocuments | undefined {
  if (file === undefined) return undefined;
  try {
    return TrustedDocuments.fromFile(file);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : error instanceof Error ? error.message : String(error);
    problems.push(`PERSISTED_OPERATIONS must name a JSON manifest of hash → document (${file}: ${reason})`);
    return undefined;
  }
}

function finish(problems: string[], config: Config): Config {
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function parseAuth(
  read: (name: string) => string | undefined,
  httpUrl: (name: string) => string | undefined,
  boolean: (name: string, fallback: boolean) => boolean,
  problems: string[],
  context: { codatApiKey: string | undefined; host: string; useSimulator: boolean },
): JwtAuthConfig | undefined {
  const mode = (read("AUTH_MODE") ?? "none").toLowerCase();
  if (mode === "none") {
    // A real key reaches every company of the account: never serve it unauthenticated to a network.
    const exposed = context.codatApiKey !== undefined && !context.useSimulator && !isLoopbackHost(context.host);
    if (exposed && !boolean("ALLOW_UNAUTHENTICATED", false)) {
      problems.push(
        `AUTH_MODE=none would let anyone reaching HOST=${context.host} use every company of the Codat account: set AUTH_MODE=jwt, or ALLOW_UNAUTHENTICATED=true if a proxy in front authenticates callers`,
      );
    }
    return undefined;
  }
  if (mode !== "jwt") {
    problems.push(`AUTH_MODE must be none or jwt (got "${mode}")`);
    return undefined;
  }
  const jwksUrl = httpUrl("AUTH_JWKS_URL");
  const jwtSecret = read("AUTH_JWT_SECRET");
  const issuer = read("AUTH_ISSUER");
  const audience = read("AUTH_AUDIENCE");
  const jwksGiven = read("AUTH_JWKS_URL") !== undefined;
  if (!jwksGiven && jwtSecret === undefined) problems.push("AUTH_MODE=jwt needs AUTH_JWKS_URL or AUTH_JWT_SECRET");
  if (jwksGiven && jwtSecret !== undefined) problems.push("AUTH_MODE=jwt takes only one of AUTH_JWKS_URL and AUTH_JWT_SECRET");
  if (jwtSecret !== undefined && jwtSecret.length < 32) problems.push("AUTH_JWT_SECRET must be at least 32 characters");
  if (issuer === undefined) problems.push("AUTH_MODE=jwt needs AUTH_ISSUER (the token issuer to accept)");
  if (audience === undefined) problems.push("AUTH_MODE=jwt needs AUTH_AUDIENCE (the token audience to accept)");
  return {
    jwksUrl,
    jwtSecret: jwksUrl === undefined ? jwtSecret : undefined,
    issuer: issuer ?? "",
    audience: audience ?? "",
    companiesClaim: read("AUTH_COMPANIES_CLAIM") ?? "codat_company_ids",
  };
}
