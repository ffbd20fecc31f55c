/**
 * The gateway's logger: pino, one JSON object per line on stdout (or pino-pretty lines in development).
 *
 * Redaction happens twice. Known places for secrets (request headers, `Authorization`, cookies) are cut by
 * pino's `redact` paths; and every finished line passes a last filter that replaces the Codat API key, its
 * base64 form, anything that looks like a JWT and any `Basic`/`Bearer` credential, wherever they ended up
 * (an error message, a nested object). The filter runs on the serialised line, so nothing can slip past it.
 */
import { Buffer } from "node:buffer";
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import pretty from "pino-pretty";
import type { LogLevel } from "../config.js";

export type { Logger } from "pino";

export interface LoggerSettings {
  level: LogLevel;
  pretty: boolean;
  /** Secrets to cut from every line (the Codat API key; its base64 form is cut too). */
  secrets: readonly string[];
  /** Where the lines go; default stdout (tests pass a stream to read them). */
  destination?: DestinationStream | undefined;
}

const REDACTED = "[REDACTED]";

/** JWTs (three base64url parts, the first a JSON header) and HTTP credentials, wherever they appear in a line. */
const CREDENTIAL_PATTERNS = [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, /\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi];

/** The pino `redact` paths: headers as pino's and fastify's serialisers and our own lines carry them. */
const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers['x-router-secret']",
  "res.headers['set-cookie']",
  "headers.authorization",
  "headers.cookie",
  "authorization",
  "cookie",
];

export function createLogger(settings: LoggerSettings): Logger {
  const cut = lineFilter(settings.secrets);
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: "codat-gateway" },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    hooks: { streamWrite: cut },
  };
  if (settings.destination) return pino(options, settings.destination);
  if (settings.pretty) {
    // pino-pretty in this thread (development only, where a worker thread buys nothing).
    return pino(options, pretty({ colorize: true, singleLine: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service" }));
  }
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

/** Replaces every secret and credential-looking token in a serialised line. */
export function lineFilter(secrets: readonly string[]): (line: string) => string {
  const literals = [
    ...new Set(
      secrets.filter((s) => s.length >= 4).flatMap((s) => [s, JSON.stringify(s).slice(1, -1), Buffer.from(s, "utf8").toString("base64")]),
    ),
  ]
    // Longest first, so a secret that contains another is cut whole.
    .sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const literal of literals) if (out.includes(literal)) out = out.split(literal).join(REDACTED);
    for (const pattern of CREDENTIAL_PATTERNS) {
      pattern.lastIndex = 0;
      if (pattern.test(out)) out = out.replace(pattern, REDACTED);
    }
    return out;
  };
}

/** A silent logger (library use and tests that do not read logs). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
