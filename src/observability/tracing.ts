/**
 * OpenTelemetry traces: one trace per request (the HTTP server span), the GraphQL operation under it (parse,
 * validate, execute; no resolver spans), a span per Codat call (`codat GET /companies/{companyId}/data/customers`)
 * under that, and each HTTP attempt to Codat as an undici client span under the call, carrying the W3C
 * `traceparent` to Codat.
 *
 * Off unless configured: `startTracing` returns undefined, imports nothing and registers nothing when neither
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) nor an exporter is given, or when
 * `OTEL_SDK_DISABLED=true` / `OTEL_TRACES_EXPORTER=none` (all read and checked by src/config/telemetry.ts). Every OpenTelemetry module is loaded by a dynamic import
 * below (only their types are imported statically, and erased), so the untraced gateway pays nothing.
 *
 * The SDK is assembled from its parts (tracer provider, context manager, propagator, resource) rather than with
 * @opentelemetry/sdk-node, which would bring gRPC and protobuf exporters, metrics and logs SDKs the gateway has no
 * use for (metrics are prom-client's, logs pino's). The variables that choose what happens (the endpoint, the
 * sampler, the batching) come parsed in the configuration (`config.tracing`); the exporter (`OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`,
 * `_COMPRESSION`) and the resource (`OTEL_RESOURCE_ATTRIBUTES`) read theirs from the process environment, as
 * OpenTelemetry's own components do.
 *
 * What is instrumented how:
 * - node:http (server spans): @opentelemetry/instrumentation-http patches `http.Server.prototype.emit`, which
 *   every server (fastify's included) shares, so it works in ESM without a loader hook, whenever the server
 *   module was imported: `startTracing` requires node:http once through the CJS loader to apply the patch.
 * - graphql (parse/validate/execute spans, `ignoreResolveSpans`): graphql 16 is CommonJS; Apollo's ESM build
 *   imports it, and Node loads it through the CJS loader, whose internal `require`s of `execution/execute.js`
 *   etc. require-in-the-middle sees. So no `--import`/`module.register` hook is needed either, but graphql must
 *   not have been loaded before `startTracing`: the entry point imports the app only after it.
 * - undici (client spans, `traceparent`): @opentelemetry/instrumentation-undici subscribes to undici's
 *   diagnostics channels (`undici:request:create` …), which npm undici's `Agent.request` publishes; nothing is
 *   patched. The `query` parameter (Codat filters, the by-id loader's `id=…||id=…`) is redacted from `url.full`
 *   and `url.query`; company and customer ids remain in `url.path`/`url.full` of these spans only.
 * - Codat calls: `codatObserver` (a CodatObserver for CodatClient), manual spans through @opentelemetry/api.
 *
 * What a client sends stays out of the server spans: a GraphQL GET's `query`, `variables` and `extensions`
 * parameters are redacted, and a download link's token (a capability) is replaced by `{token}` in `url.path`.
 */
import { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import type { Span } from "@opentelemetry/api";
import type { Sampler, SpanExporter } from "@opentelemetry/sdk-trace";
import type { CodatCallInfo, CodatObserver } from "../codat/observer.js";
import type { TracingConfig } from "../config.js";
import { DOWNLOAD_PATH_PREFIX } from "../paths.js";

export interface Tracing {
  /** Give this to the Codat client (`observers`): a span per Codat call, parent of its HTTP attempts. */
  readonly codatObserver: CodatObserver;
  /** Flushes pending spans, removes the instrumentations and unregisters the global tracer, context and propagator. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `config.tracing`: the OTEL_* settings. */
  config: TracingConfig;
  /** Export here instead of OTLP (tests: an InMemorySpanExporter); tracing is on whenever one is given. */
  exporter?: SpanExporter;
  /** `batch` (default; OTEL_BSP_* apply) or `simple` (each span exported as it ends: tests). */
  spanProcessor?: "simple" | "batch";
  /** Where the SDK's own warnings and errors go (a failed export, a dropped span); silent when not given. */
  warn?: (message: string) => void;
}

const TRACER_NAME = "codat-customers-gateway";
/** Probes and scrapes: a span every few seconds that says nothing. */
const UNTRACED_PATHS = /^\/(?:healthz|readyz|metrics)(?:[/?]|$)/;
/** Query parameters of a GraphQL GET: the operation text and its variables are the client's data. */
const REDACTED_SERVER_QUERY_PARAMS = ["query", "variables", "extensions"];
const DOWNLOAD_ROUTE = `${DOWNLOAD_PATH_PREFIX}{token}`;

let started = false;

/**
 * Starts tracing when an exporter is configured (OTLP from the environment, or the one given), else returns
 * undefined having loaded nothing. Must run before any module that imports graphql is loaded (see the header):
 * the entry point awaits it, then imports the app with a dynamic `import()`.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing | undefined> {
  const { config } = options;
  if (config.disabled) return undefined;
  const url = config.otlpTracesUrl;
  if (options.exporter === undefined && url === undefined) return undefined;
  if (started) throw new Error("startTracing: tracing is already started in this process");
  started = true;

  try {
    const [api, core, sdk, resources, { AsyncLocalStorageContextManager }, instrumentationModules] = await Promise.all([
      import("@opentelemetry/api"),
      import("@opentelemetry/core"),
      import("@opentelemetry/sdk-trace"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/context-async-hooks"),
      Promise.all([
        import("@opentelemetry/instrumentation-http"),
        import("@opentelemetry/instrumentation-undici"),
        import("@opentelemetry/instrumentation-graphql"),
      ]),
    ]);
    const [{ HttpInstrumentation }, { UndiciInstrumentation }, { GraphQLInstrumentation }] = instrumentationModules;
    const sampler = samplerOf(config.sampler, sdk);
    const exporter = options.exporter ?? (await otlpExporter(url));
    const spanProcessor =
      options.spanProcessor === "simple"
        ? new sdk.SimpleSpanProcessor({ exporter })
        : new sdk.BatchSpanProcessor({ exporter, ...config.batch });

    if (options.warn !== undefined) {
      const warn = options.warn;
      const toWarn = (message: string, ...args: unknown[]): void => warn([message, ...args.map(String)].join(" "));
      const ignore = (): void => undefined;
      api.diag.setLogger({ error: toWarn, warn: toWarn, info: ignore, debug: ignore, verbose: ignore }, api.DiagLogLevel.WARN);
    }
    const provider = new sdk.TracerProvider({
      resource: resources
        .defaultResource()
        .merge(
          resources.detectResources({
            detectors: [
              resources.hostDetector,
              resources.osDetector,
              resources.processDetector,
              resources.serviceInstanceIdDetector,
              resources.resourceAttributesEnvDetector,
            ],
          }),
        )
        .merge(resources.resourceFromAttributes({ "service.name": config.serviceName })),
      spanProcessors: [spanProcessor],
      ...(sampler !== undefined ? { sampler } : {}),
    });
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    // Trace context only: a client's `baggage` header is not passed on to Codat.
    api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
    api.trace.setGlobalTracerProvider(provider);

    // Each enables itself as it is constructed, with the global tracer provider set just above.
    const instrumentations = [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.test(request.url ?? ""),
        redactedQueryParamsServer: REDACTED_SERVER_QUERY_PARAMS,
        startIncomingSpanHook: (request) => (isDownload(request) ? { "url.path": DOWNLOAD_ROUTE } : {}),
        // Names the server span by its route, `POST /graphql` or `GET /downloads/{token}`, and sets `http.route`:
        // the instrumentation reads the route from the request's RPC metadata when the response ends.
        requestHook: (_span, request) => {
          if (!(request instanceof IncomingMessage)) return;
          const route = httpRoute(request);
          const metadata = core.getRPCMetadata(api.context.active());
          if (route !== undefined && metadata?.type === core.RPCType.HTTP) metadata.route = route;
        },
      }),
      new UndiciInstrumentation({ startSpanHook: (request) => redactedUrl(request.origin, request.path) }),
      new GraphQLInstrumentation({ ignoreResolveSpans: true }),
    ];
    // Applies the http instrumentation's patch (see the header): require-in-the-middle patches on require.
    createRequire(import.meta.url)("node:http");

    return {
      codatObserver: createCodatObserver(api),
      async shutdown() {
        try {
          await provider.shutdown();
        } finally {
          for (const instrumentation of instrumentations) instrumentation.disable();
          api.trace.disable();
          api.context.disable();
          api.propagation.disable();
          api.diag.disable();
          started = false;
        }
      },
    };
  } catch (error) {
    started = false;
    throw error;
  }
}

async function otlpExporter(url: string | undefined): Promise<SpanExporter> {
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  // Headers, timeout and compression come from the OTEL_EXPORTER_OTLP_* variables, read by the exporter.
  return new OTLPTraceExporter(url === undefined ? {} : { url });
}

type Sdk = typeof import("@opentelemetry/sdk-trace");

/** The sampler OTEL_TRACES_SAMPLER (+ OTEL_TRACES_SAMPLER_ARG) names; undefined: the SDK's parentbased_always_on. */
function samplerOf(sampler: TracingConfig["sampler"], sdk: Sdk): Sampler | undefined {
  if (sampler === undefined) return undefined;
  switch (sampler.name) {
    case "always_on":
      return new sdk.AlwaysOnSampler();
    case "always_off":
      return new sdk.AlwaysOffSampler();
    case "traceidratio":
      return new sdk.TraceIdRatioBasedSampler(sampler.ratio);
    case "parentbased_always_on":
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
    case "parentbased_always_off":
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(sampler.ratio) });
  }
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? "";
  const at = url.indexOf("?");
  return at === -1 ? url : url.slice(0, at);
}

function isDownload(request: IncomingMessage): boolean {
  return pathOf(request).startsWith(DOWNLOAD_PATH_PREFIX);
}

/** The route template of a request the gateway serves (ids and tokens replaced), or undefined for any other path. */
function httpRoute(request: IncomingMessage): string | undefined {
  if (pathOf(request) === "/graphql") return "/graphql";
  return isDownload(request) ? DOWNLOAD_ROUTE : undefined;
}

/** `url.full` and `url.query` with the value of `query` (Codat filters, customer ids) replaced. */
function redactedUrl(origin: string | URL, path: string): Record<string, string> {
  const at = path.indexOf("?");
  if (at === -1) return {};
  const search = new URLSearchParams(path.slice(at + 1));
  if (!search.has("query")) return {};
  search.set("query", "REDACTED");
  const query = `?${search.toString()}`;
  return { "url.full": `${String(origin).replace(/\/+$/, "")}${path.slice(0, at)}${query}`, "url.query": query };
}

type Api = typeof import("@opentelemetry/api");

/**
 * The Codat-call span. INTERNAL, not CLIENT: it is the logical call (queueing for the company slot, every attempt,
 * the waits between them), while each attempt on the wire is an undici CLIENT span, its child. So a backend
 * counts one client span per request Codat received, each carrying the `traceparent` Codat saw, as the HTTP
 * semantic conventions want for retries, and a service map shows no phantom nested client hop.
 *
 * The client reports `ended` inside `run` with the same `info` (for a download: at the headers; the body streams
 * on in the undici span), so the span ends there with the outcome. Should a call fail before reporting, the span
 * ends when `run` settles, with the error's code.
 */
function createCodatObserver(api: Api): CodatObserver {
  const { trace, context, SpanKind, SpanStatusCode } = api;
  const tracer = trace.getTracer(TRACER_NAME);
  const open = new WeakMap<CodatCallInfo, Span>();
  /** The call's span, until it has ended. */
  const spanOf = (info: CodatCallInfo): Span | undefined => open.get(info);

  return {
    async around<T>(info: CodatCallInfo, run: () => Promise<T>): Promise<T> {
      const span = tracer.startSpan(`codat ${info.route}`, {
        kind: SpanKind.INTERNAL,
        attributes: { "codat.route": info.route, "http.request.method": info.method },
      });
      open.set(info, span);
      try {
        return await context.with(trace.setSpan(context.active(), span), run);
      } catch (error) {
        if (open.has(info)) {
          const type = errorType(error);
          span.setAttribute("error.type", type);
          span.setStatus({ code: SpanStatusCode.ERROR, message: type });
        }
        throw error;
      } finally {
        if (open.delete(info)) span.end();
      }
    },

    ended(info, outcome): void {
      const span = spanOf(info);
      if (span === undefined) return;
      open.delete(info);
      span.setAttribute("codat.attempts", outcome.attempts);
      if (outcome.status !== undefined) span.setAttribute("http.response.status_code", outcome.status);
      if (outcome.correlationId !== undefined) span.setAttribute("codat.correlation_id", outcome.correlationId);
      if (outcome.aborted === true) span.setAttribute("codat.aborted", true);
      if (outcome.errorCode !== undefined) {
        span.setAttribute("error.type", outcome.errorCode);
        // A caller that went away is not a failed call.
        if (outcome.aborted !== true) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.errorCode });
      }
      span.end();
    },

    retried(info, retry): void {
      spanOf(info)?.addEvent("codat.retry", {
        "codat.retry_number": retry.retryNumber,
        "codat.retry_delay_ms": retry.delayMs,
        ...(retry.status !== undefined ? { "http.response.status_code": retry.status } : {}),
      });
    },

    slotAcquired(info, waitMs, queued): void {
      // Only a wait worth seeing: an event per attempt otherwise.
      if (waitMs < 1) return;
      spanOf(info)?.addEvent("codat.slot_acquired", { "codat.slot_wait_ms": waitMs, "codat.slot_queued": queued });
    },
  };
}

/** The GraphQL error code a failed call carries (UPSTREAM_TIMEOUT, …), else the error's name. */
function errorType(error: unknown): string {
  const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  if (typeof code === "string") return code;
  return error instanceof Error ? error.name : "Error";
}
