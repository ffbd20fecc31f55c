/**
 * The HTTP layer, on fastify: /graphql through Apollo's fastify integration (graphql.ts adds the gateway's
 * guards in front of it), the health routes, /metrics, and raw routes (the attachment download streams through
 * Node's own request and response, see downloads/route.ts).
 *
 * Every error answer goes through one error handler and one code → status table (http/errors.ts): on every
 * route but /graphql one shape, `{ "error": { "code", "message" } }`; /graphql errors are GraphQL responses
 * (`{ "errors": [...] }`). Every request gets an id (a valid `x-request-id`, else the trace id of a
 * valid `traceparent`, else a new UUID), echoed back in `x-request-id` (raw routes included) and carried by every
 * log line of it, and one access line when it ends — also when its client went away before the end (see
 * accessLine).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { RequestFacts } from "../context.js";
import { RequestCode } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { httpDefaults } from "../config/http.js";
import { withRequestLog } from "../observability/request-log.js";
import { HttpError, endSocketWithError, httpErrorHandler, methodNotAllowed, notFound, replyError } from "./errors.js";
import { EXPLORER_PATH, registerExplorer, withExplorerLink, type ExplorerOptions } from "./explorer.js";
import { registerGraphQL, type GraphQLEndpointOptions } from "./graphql.js";
import { corsHeaders, registerPreflight, type RawCors } from "./raw-cors.js";

/**
 * A route that writes Node's response itself (streaming): fastify hands it the raw request and response, with
 * `x-request-id` already set on the response, and the facts of the request's access line.
 */
export interface RawRoute {
  method: ("GET" | "HEAD" | "POST")[];
  /** A fastify path pattern, e.g. `/downloads/:token`. */
  url: string;
  handle(req: IncomingMessage, res: ServerResponse, params: Record<string, string>, facts: RequestFacts): Promise<void>;
  /** Answer CORS for CORS_ORIGINS (raw-cors.ts): the route's methods, a preflight, the headers a script may read. */
  cors?: RawCors;
}

export interface Readiness {
  ready: boolean;
  /** Why not, for operators (never a secret). */
  reason?: string | undefined;
}

export interface MetricsEndpoint {
  contentType: string;
  metrics(): Promise<string>;
}

export interface HttpAppOptions extends GraphQLEndpointOptions {
  logger: Logger;
  routes?: RawRoute[];
  readiness: () => Readiness;
  /** Served on GET /metrics of this app when given. */
  metrics?: MetricsEndpoint | undefined;
  keepAliveTimeoutMs?: number;
  /** A request's headers must all arrive within this, else 408 (HTTP_HEADERS_TIMEOUT_MS); default 10 000 ms. */
  headersTimeoutMs?: number;
  /**
   * A whole request, body included, must arrive within this, else 408 (HTTP_REQUEST_TIMEOUT_MS); default
   * 30 000 ms. It bounds receiving the request only: a response (a long download) takes as long as it takes.
   */
  requestTimeoutMs?: number;
  /**
   * The bundled GraphiQL at /graphiql (http/explorer.ts), when given; `landingPage`: it is also what a browser
   * opening /graphql gets (EXPLORER=graphiql), instead of Apollo's landing page.
   */
  explorer?: (ExplorerOptions & { landingPage: boolean }) | undefined;
}

declare module "fastify" {
  interface FastifyRequest {
    facts: RequestFacts | null;
    /** What the access line still waits for: the response's `close`, and a raw route's handler (see holdAccessLine). */
    accessHolds: number;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The id of a request: the caller's (when it is a plain token), the W3C trace id, or a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  if (typeof given === "string" && REQUEST_ID.test(given)) return given;
  const traceparent = req.headers["traceparent"];
  const trace = typeof traceparent === "string" ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
  if (trace !== undefined && trace !== "0".repeat(32)) return trace;
  return randomUUID();
}

/**
 * Node's own request timers (http.Server `headersTimeout` and `requestTimeout`): a connection whose request
 * is not complete in time is answered 408 by clientErrorHandler and closed. A connection that sends nothing
 * at all counts as one whose headers are late. They bound the request only: once it has arrived, Node stops
 * timing it, so a response may stream for as long as the download route allows. Node checks them every
 * `connectionsCheckingInterval` (its default, 30 s, would let a 10 s limit run to 40 s), here a quarter of the
 * shorter one, at most a second.
 */
function requestTimers(options: HttpAppOptions): {
  requestTimeout: number;
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  const requestTimeout = options.requestTimeoutMs ?? httpDefaults.HTTP_REQUEST_TIMEOUT_MS;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? httpDefaults.HTTP_HEADERS_TIMEOUT_MS, requestTimeout);
  const connectionsCheckingInterval = Math.max(10, Math.min(1_000, Math.floor(headersTimeout / 4)));
  return { requestTimeout, http: { headersTimeout, requestTimeout, connectionsCheckingInterval } };
}

export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  // Typed as fastify's logger interface so the app gets fastify's default generics (pino's Logger is wider).
  const loggerInstance: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance,
    // fastify sets server.requestTimeout itself (its default, 0, turns Node's off), the rest go to createServer.
    ...requestTimers(options),
    // One access line of our own per request (onResponse below) instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "requestId" }),
    genReqId: requestIdOf,
    bodyLimit: options.maxBodyBytes,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    // Paths are matched as they are: `/graphql/` is not `/graphql`.
    // A download link's token is one long path segment.
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 4096 },
    // A malformed request never reaches a handler: answered in the one error shape, or the socket dropped.
    clientErrorHandler: (error, socket) => {
      const code = (error as NodeJS.ErrnoException).code;
      const refusal =
        code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? new HttpError(RequestCode.RequestTimeout, "Request Timeout.")
          : code === "HPE_HEADER_OVERFLOW"
            ? new HttpError(RequestCode.HeaderFieldsTooLarge, "Request Header Fields Too Large.")
            : new HttpError(RequestCode.BadRequest, "Bad Request.");
      endSocketWithError(socket, refusal);
    },
  });

  app.setErrorHandler(httpErrorHandler);
  app.decorateRequest("facts", null);
  app.decorateRequest("accessHolds", 0);
  app.addHook("onRequest", (request, reply, done) => {
    request.facts = {};
    request.accessHolds = 1;
    void reply.header("x-request-id", request.id);
    // The access line is written on the response's `close`, which Node emits for every response, finished or
    // not: fastify's onResponse runs on `finish` only, so a client that went away got no line at all (and a
    // hijacked reply got one from onResponse besides its route's own: two per download).
    reply.raw.once("close", () => releaseAccessLine(request, reply));
    done();
  });

  app.get("/healthz", (_request, reply) => reply.header("cache-control", "no-store").send({ status: "ok" }));
  app.get("/readyz", (_request, reply) => {
    const readiness = options.readiness();
    void reply.header("cache-control", "no-store");
    if (readiness.ready) return reply.send({ status: "ready" });
    return reply.code(503).send({ status: "not ready", ...(readiness.reason ? { reason: readiness.reason } : {}) });
  });
  if (options.metrics) serveMetrics(app, options.metrics);

  const origins = new Set(options.corsOrigins);
  for (const route of options.routes ?? []) {
    const cors = route.cors;
    if (cors) registerPreflight(app, route.url, origins, cors);
    app.route({
      method: route.method,
      url: route.url,
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        if (cors) corsHeaders(request, reply, origins, cors);
        // The route writes the response itself, at the client's pace; fastify steps aside, and with it the
        // headers set on the reply (x-request-id): they go on Node's response first.
        reply.hijack();
        for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value);
        const facts = (request.facts ??= {});
        // The line waits for the handler too, so it carries the reason the route gives for an unfinished response.
        const held = holdAccessLine(request);
        try {
          await withRequestLog(request.log, () => route.handle(request.raw, reply.raw, request.params as Record<string, string>, facts));
        } finally {
          if (held) releaseAccessLine(request, reply);
        }
      },
    });
  }

  const explorerPage = options.explorer ? registerExplorer(app, options.explorer) : undefined;
  // GraphiQL as the landing page (EXPLORER=graphiql), or a link to it on Apollo's.
  registerGraphQL(
    app,
    !explorerPage
      ? options
      : options.explorer?.landingPage
        ? { ...options, landingPageHandler: explorerPage }
        : { ...options, landingPageRewrite: withExplorerLink },
  );

  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(request.url.split("?", 1)[0] ?? "", options.routes ?? [], options.metrics !== undefined, !!explorerPage);
    return replyError(request, reply, allowed !== undefined ? methodNotAllowed(allowed) : notFound());
  });

  return app;
}

/** A second app that serves only /metrics (METRICS_PORT). */
export function createMetricsApp(metrics: MetricsEndpoint, logger: Logger): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }) });
  serveMetrics(app, metrics);
  app.setErrorHandler(httpErrorHandler);
  app.setNotFoundHandler((request, reply) => replyError(request, reply, notFound()));
  return app;
}

function serveMetrics(app: FastifyInstance, metrics: MetricsEndpoint): void {
  app.get("/metrics", async (_request, reply) =>
    reply
      .header("content-type", metrics.contentType)
      .header("cache-control", "no-store")
      .send(await metrics.metrics()),
  );
}

/** Delays the access line until a matching releaseAccessLine; false when it is written already (nothing to release). */
function holdAccessLine(request: FastifyRequest): boolean {
  if (request.accessHolds === 0) return false;
  request.accessHolds += 1;
  return true;
}

function releaseAccessLine(request: FastifyRequest, reply: FastifyReply): void {
  if (request.accessHolds === 0) return;
  request.accessHolds -= 1;
  if (request.accessHolds === 0) accessLine(request, reply);
}

/** The status a response that never got its headers is logged with: the client closed the request (nginx's 499). */
const CLIENT_CLOSED_REQUEST = 499;

/**
 * The request's one access line, at info. A response that did not finish says why in `incomplete`: the route's
 * reason, else `client_gone` (routine: a closed tab, a cancelled fetch; never an error). Its status is the one
 * sent, or 499 when the client went away before any was.
 */
function accessLine(request: FastifyRequest, reply: FastifyReply): void {
  const facts = request.facts ?? {};
  const res = reply.raw;
  const finished = res.writableFinished;
  request.log.info(
    {
      method: request.method,
      route: routeOf(request),
      status: finished || res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      ...(facts.operation !== undefined ? { operation: facts.operation } : {}),
      ...(facts.caller !== undefined ? { caller: facts.caller } : {}),
      ...(finished ? {} : { incomplete: facts.incomplete ?? "client_gone" }),
    },
    "request",
  );
}

/** The matched route's pattern (never the raw URL: a download link's token is a credential). */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? "(no route)";
}

/** The methods of a route this app serves, for a 405; undefined when it serves no such path (a 404). */
function allowedMethods(pathname: string, routes: RawRoute[], metrics: boolean, explorer: boolean): string[] | undefined {
  if (pathname === "/graphql") return ["GET", "POST", "OPTIONS"];
  if (pathname === "/healthz" || pathname === "/readyz" || (metrics && pathname === "/metrics")) return ["GET", "HEAD"];
  if (explorer && pathname === EXPLORER_PATH) return ["GET", "HEAD"];
  for (const route of routes) {
    const prefix = route.url.slice(0, route.url.indexOf(":"));
    if (prefix.length > 0 && pathname.startsWith(prefix) && !pathname.slice(prefix.length).includes("/") && pathname.length > prefix.length)
      return route.method;
  }
  return undefined;
}
