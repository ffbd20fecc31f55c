/**
 * Configuration, parsed once at startup from the environment. Nothing else in the gateway reads `process.env`.
 * Every problem is collected and reported together, one line per variable, so an operator fixes them in one go.
 */
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
  /** Introspection and the Sandbox landing page; off in production unless GRAPHQL_INTROSPECTION=true. */
  introspection: boolean;
  /** Secret for signing cursors (and download links); random per process when unset. */
  signingSecret: string | undefined;
  codatAttemptTimeoutMs: number;
  codatDeadlineMs: number;
  codatMaxConcurrencyPerCompany: number;
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
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const DEFAULT_CODAT_BASE_URL = "https://api.codat.io";

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

  const codatApiKey = read("CODAT_API_KEY");
  let codatBaseUrl = read("CODAT_BASE_URL");
  if (codatBaseUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(codatBaseUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password || url.search || url.hash) {
      // The value itself is not echoed: a mistyped URL can carry credentials.
      problems.push("CODAT_BASE_URL must be an absolute http(s) URL without credentials, query or fragment");
    } else {
      codatBaseUrl = url.href.replace(/\/+$/, "");
    }
  } else if (codatApiKey !== undefined) {
    codatBaseUrl = DEFAULT_CODAT_BASE_URL;
  }

  let publicUrl = read("PUBLIC_URL");
  if (publicUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(publicUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password || url.search || url.hash) {
      problems.push("PUBLIC_URL must be an absolute http(s) URL without credentials, query or fragment");
      publicUrl = undefined;
    } else {
      publicUrl = url.href.replace(/\/+$/, "");
    }
  }

  const host = read("HOST") ?? "127.0.0.1";
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) problems.push(`HOST must be a host name or IP address (got "${host}")`);

  const production = read("NODE_ENV") === "production";
  const config: Config = {
    codatApiKey,
    codatBaseUrl,
    useSimulator: codatApiKey === undefined && codatBaseUrl === undefined,
    host,
    port: integer("PORT", 4000, 0, 65535),
    production,
    introspection: boolean("GRAPHQL_INTROSPECTION", !production),
    signingSecret: read("SIGNING_SECRET"),
    codatAttemptTimeoutMs: integer("CODAT_TIMEOUT_MS", 10_000, 100, 600_000),
    codatDeadlineMs: integer("CODAT_DEADLINE_MS", 30_000, 100, 3_600_000),
    codatMaxConcurrencyPerCompany: integer("CODAT_MAX_CONCURRENCY_PER_COMPANY", 10, 1, 100),
    simulatorLatencyMs: integer("SIMULATOR_LATENCY_MS", 0, 0, 60_000),
    routerSecret: undefined,
    publicUrl,
    // Links are bearer credentials: keep them short-lived (at most a day).
    downloadLinkTtlSeconds: integer("DOWNLOAD_LINK_TTL_SECONDS", 300, 10, 86_400),
  };
  const routerSecret = read("ROUTER_SECRET");
  const routerSecretHeader = (read("ROUTER_SECRET_HEADER") ?? "x-router-secret").toLowerCase();
  if (!/^[a-z0-9-]+$/.test(routerSecretHeader)) problems.push("ROUTER_SECRET_HEADER must be an HTTP header name");
  if (routerSecret !== undefined && routerSecret.length < 16) problems.push("ROUTER_SECRET must be at least 16 characters");
  config.routerSecret = routerSecret !== undefined ? { header: routerSecretHeader, value: routerSecret } : undefined;

  if (config.signingSecret !== undefined && config.signingSecret.length < 32) {
    problems.push("SIGNING_SECRET must be at least 32 characters");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
