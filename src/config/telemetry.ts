/** What the gateway tells operators: logs, metrics, and traces (OpenTelemetry, started by observability/tracing.ts). */
import { z } from "zod";
import { describe, flag, integer, isHttpUrl, oneOf, parseSection, ratio, type Env, type Section } from "./fields.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

const operations = z.object({
  LOG_LEVEL: describe(oneOf(LOG_LEVELS, { phrase: `one of ${LOG_LEVELS.join(", ")}`, lowercase: true }).default("info"), {
    description: "`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.",
  }),
  LOG_PRETTY: describe(flag().optional(), {
    default: "`true` with `NODE_ENV=development`, else `false`",
    description: "`true`: coloured one-line logs instead of JSON.",
  }),
  METRICS_ENABLED: describe(flag().default(true), { description: "`false` turns off `GET /metrics`." }),
  METRICS_PORT: describe(integer(0, 65535).optional(), {
    default: "unset (main port)",
    description: "Serve `/metrics` on this port of `HOST` instead of the main one (keep the scrape endpoint off the public listener).",
  }),
});

/** An OTLP/HTTP endpoint (the value is not echoed: it can carry credentials). */
const otlpEndpoint = () =>
  z.string().refine(isHttpUrl, { error: "must be an http(s) URL of an OTLP/HTTP collector, such as http://collector:4318" }).optional();

const DEFAULT_SERVICE_NAME = "codat-customers-gateway";

const tracing = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: describe(otlpEndpoint(), {
    default: "unset (no tracing, nothing loaded)",
    description: "Turns tracing on: OTLP/HTTP (JSON) collector base URL; `/v1/traces` is appended.",
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: describe(otlpEndpoint(), { description: "The full traces URL, instead of the base URL above." }),
  // OpenTelemetry's own spelling: only "true" (any case) disables, anything else does not.
  OTEL_SDK_DISABLED: describe(
    z
      .string()
      .transform((value) => value.toLowerCase() === "true")
      .optional(),
    { description: "`true`: tracing off even with an endpoint." },
  ),
  OTEL_TRACES_EXPORTER: describe(
    z
      .string()
      .transform((value) => value.split(",").some((name) => name.trim().toLowerCase() === "none"))
      .optional(),
    { description: "`none`: tracing off even with an endpoint." },
  ),
  OTEL_SERVICE_NAME: describe(z.string().default(DEFAULT_SERVICE_NAME), { description: "The traces' `service.name`." }),
  OTEL_RESOURCE_ATTRIBUTES: describe(z.string().optional(), {
    external: true,
    description: "Other resource attributes (`key=value,…`), read by OpenTelemetry's resource detector.",
  }),
  OTEL_EXPORTER_OTLP_HEADERS: describe(z.string().optional(), {
    external: true,
    description: "Headers sent with every export (`key=value,…`, e.g. a vendor's API key), read by the OTLP exporter.",
  }),
  OTEL_EXPORTER_OTLP_TIMEOUT: describe(z.string().optional(), {
    external: true,
    default: "the exporter's (10000)",
    description: "Export timeout, ms, read by the OTLP exporter.",
  }),
  OTEL_EXPORTER_OTLP_COMPRESSION: describe(z.string().optional(), {
    external: true,
    description: "`gzip` to compress exports, read by the OTLP exporter.",
  }),
});

/** How traces are sampled and batched: read only when tracing is on. */
const tracingSettings = z.object({
  OTEL_TRACES_SAMPLER: describe(oneOf(SAMPLERS, { phrase: `one of ${SAMPLERS.join(", ")}`, lowercase: true }).optional(), {
    default: "`parentbased_always_on`",
    description: `${SAMPLERS.map((name) => `\`${name}\``).join(", ")}.`.replace(/, (?=[^,]*$)/, " or "),
  }),
  OTEL_TRACES_SAMPLER_ARG: describe(ratio().default(1), { default: "`1`", description: "The `traceidratio` samplers' ratio, 0 to 1." }),
  OTEL_BSP_SCHEDULE_DELAY: describe(integer().optional(), {
    default: "the SDK's (5000)",
    description: "Batch span processor: delay between exports, ms.",
  }),
  OTEL_BSP_EXPORT_TIMEOUT: describe(integer().optional(), {
    default: "the SDK's (30000)",
    description: "Batch span processor: export timeout, ms.",
  }),
  OTEL_BSP_MAX_QUEUE_SIZE: describe(integer().optional(), {
    default: "the SDK's (2048)",
    description: "Batch span processor: spans held before dropping.",
  }),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: describe(integer().optional(), {
    default: "the SDK's (512)",
    description: "Batch span processor: spans per export.",
  }),
});

export const telemetrySections: Section[] = [
  { title: "Logs and metrics", intro: "See [Operations](operations.md).", model: operations },
  {
    title: "Tracing (OpenTelemetry)",
    intro:
      "Off unless an endpoint is set: nothing of OpenTelemetry is loaded otherwise. Only W3C trace context is propagated (`OTEL_PROPAGATORS` is not read); gRPC and protobuf exporters are not included. The sampler and batch settings are read only when tracing is on. See [Traces](operations.md#traces).",
    model: tracing.extend(tracingSettings.shape),
  },
];

export function parseTelemetry(env: Env, problems: string[], http: { port: number; mode: string }) {
  const o = parseSection(operations, env, problems);
  // Port 0 asks the system for a free port: two of those never collide.
  if (o.METRICS_PORT !== undefined && o.METRICS_PORT !== 0 && o.METRICS_PORT === http.port) {
    problems.push(`METRICS_PORT (${o.METRICS_PORT}) must differ from PORT (${http.port}); unset it to serve /metrics on PORT`);
  }
  return {
    /** pino level (LOG_LEVEL). */
    logLevel: o.LOG_LEVEL,
    /** Human-readable log lines instead of JSON: LOG_PRETTY, default on with NODE_ENV=development. */
    logPretty: o.LOG_PRETTY ?? http.mode === "development",
    /** GET /metrics on the main port (METRICS_ENABLED, default true). */
    metricsEnabled: o.METRICS_ENABLED,
    /** When set, /metrics is served on this port of HOST instead of the main one (METRICS_PORT). */
    metricsPort: o.METRICS_PORT,
    /** OTEL_*: what observability/tracing.ts starts (nothing when `otlpTracesUrl` is undefined or `disabled`). */
    tracing: parseTracing(env, problems),
  };
}

function parseTracing(env: Env, problems: string[]) {
  const t = parseSection(tracing, env, problems);
  const base = t.OTEL_EXPORTER_OTLP_ENDPOINT;
  /** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else OTEL_EXPORTER_OTLP_ENDPOINT with the signal's path appended. */
  const otlpTracesUrl = t.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base === undefined ? undefined : `${base.replace(/\/+$/, "")}/v1/traces`);
  const disabled = t.OTEL_SDK_DISABLED === true || t.OTEL_TRACES_EXPORTER === true;
  const s = !disabled && otlpTracesUrl !== undefined ? parseSection(tracingSettings, env, problems) : undefined;
  const batch: { scheduledDelayMillis?: number; exportTimeoutMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number } = {};
  if (s?.OTEL_BSP_SCHEDULE_DELAY !== undefined) batch.scheduledDelayMillis = s.OTEL_BSP_SCHEDULE_DELAY;
  if (s?.OTEL_BSP_EXPORT_TIMEOUT !== undefined) batch.exportTimeoutMillis = s.OTEL_BSP_EXPORT_TIMEOUT;
  if (s?.OTEL_BSP_MAX_QUEUE_SIZE !== undefined) batch.maxQueueSize = s.OTEL_BSP_MAX_QUEUE_SIZE;
  if (s?.OTEL_BSP_MAX_EXPORT_BATCH_SIZE !== undefined) batch.maxExportBatchSize = s.OTEL_BSP_MAX_EXPORT_BATCH_SIZE;
  return {
    /** OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none: nothing is traced, not even to an exporter given in code. */
    disabled,
    /** Where spans are exported over OTLP/HTTP; undefined = no export (tracing stays off unless an exporter is given). */
    otlpTracesUrl,
    /** OTEL_SERVICE_NAME: the traces' `service.name`. */
    serviceName: t.OTEL_SERVICE_NAME,
    /** OTEL_TRACES_SAMPLER and its ratio (OTEL_TRACES_SAMPLER_ARG); undefined = parentbased_always_on. */
    sampler: s?.OTEL_TRACES_SAMPLER === undefined ? undefined : { name: s.OTEL_TRACES_SAMPLER, ratio: s.OTEL_TRACES_SAMPLER_ARG },
    /** The batch span processor's OTEL_BSP_* settings that are set; the SDK's defaults for the others. */
    batch,
  };
}

export type TracingConfig = ReturnType<typeof parseTracing>;
