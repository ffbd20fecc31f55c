/**
 * Configuration, parsed once at startup from the environment: one zod model per concern (./codat.ts, ./http.ts,
 * ./auth.ts, ./redis.ts, ./push.ts, ./webhooks.ts, ./telemetry.ts), each variable with its description and
 * default, read there and nowhere else in the gateway. Every problem is collected and reported together, one line
 * per variable, so an operator fixes them in one go. docs/configuration.md and `.env.example` are generated from
 * the same models (`npm run docs`).
 */
import { parseAuth, authSections } from "./auth.js";
import { cacheSections, parseCache } from "./cache.js";
import { codatSections, parseCodat } from "./codat.js";
import { ConfigError, read, type Env, type Section } from "./fields.js";
import { httpSections, parseHttp } from "./http.js";
import { parsePush, pushSections } from "./push.js";
import { parseRedis, redisSections } from "./redis.js";
import { parseTelemetry, telemetrySections } from "./telemetry.js";
import { parseWebhooks, webhookSections } from "./webhooks.js";

export { ConfigError, isLoopbackHost, type Env } from "./fields.js";
export { LOG_LEVELS, type LogLevel, type TracingConfig } from "./telemetry.js";
export type { RedisConfig } from "./redis.js";
export type { PushStatusConfig } from "./push.js";
export type { CodatWebhookConfig } from "./webhooks.js";
export type { CacheConfig } from "./cache.js";

/** Every variable, by concern and section, in the order docs/configuration.md and `.env.example` show them. */
export const CONFIG_SECTIONS: readonly Section[] = [
  ...codatSections,
  ...httpSections,
  ...authSections,
  ...redisSections,
  ...pushSections,
  ...cacheSections,
  ...webhookSections,
  ...telemetrySections,
];

export type Config = ReturnType<typeof buildConfig>;

/** The configuration `env` describes; a ConfigError listing every problem when it has any. */
export function parseConfig(env: Env): Config {
  const problems: string[] = [];
  const config = buildConfig(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function buildConfig(env: Env, problems: string[]) {
  const http = parseHttp(env, problems);
  const codat = parseCodat(env, problems, http);
  const auth = parseAuth(env, problems, {
    codatApiKey: codat.codatApiKey,
    host: http.host,
    useSimulator: codat.useSimulator,
    production: http.production,
  });
  const redis = parseRedis(env, problems, { signingSecretSet: read(env, "SIGNING_SECRET") !== undefined });
  const webhooks = parseWebhooks(env, problems);
  const push = parsePush(env, problems, { webhooks: read(env, "CODAT_WEBHOOK_SECRET") !== undefined });
  const telemetry = parseTelemetry(env, problems, http);
  const cache = parseCache(env, problems);
  return { ...codat, ...http, ...auth, ...redis, ...push, ...webhooks, ...telemetry, ...cache };
}

/** The configured secrets a log line must never carry (the logger cuts them out of every line). */
export function logSecrets(config: Pick<Config, "codatApiKey" | "codatWebhook">): string[] {
  const secrets: string[] = [];
  if (config.codatApiKey !== undefined) secrets.push(config.codatApiKey);
  const webhook = config.codatWebhook?.secret;
  if (webhook !== undefined) secrets.push(webhook, webhook.replace(/^whsec_/, ""));
  return secrets;
}
