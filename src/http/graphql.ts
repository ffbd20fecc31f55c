/**
 * The /graphql endpoint: the gateway's HTTP-level guards, in order, then Apollo Server through its fastify
 * integration (`@as-integrations/fastify`).
 *
 *   CORS (preflight answered here) → router secret (ROUTER_SECRET) → caller authentication (401) → body size
 *   (413, fastify's body limit) → trusted documents (PERSISTED_OPERATIONS) → Apollo (CSRF prevention, then the
 *   rest of the GraphQL admission configured from graphql/admission.ts: parse with a token limit, validation,
 *   operation limits, cost; execution with the caller's scoped context)
 *
 * Every refusal happens before any upstream call, and every refusal is a GraphQL error response: the guards'
 * through the app's one error handler (http/errors.ts), Apollo's through the admission's formatError.
 *
 * Every operation gets a signal (the context's `signal`, carried by all its Codat reads): aborted when its client
 * goes away before the response is finished, or when it has run for OPERATION_TIMEOUT_MS (its pending fields
 * then fail with UPSTREAM_TIMEOUT). Writes never carry it (see writes/customers.ts).
 */
import { setMaxListeners } from "node:events";
import type { ServerResponse } from "node:http";
import type { ApolloServer } from "@apollo/server";
import { fastifyApolloHandler } from "@as-integrations/fastify";
import cors from "@fastify/cors";
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import { GraphQLError } from "graphql";
import { AuthenticationError, type Caller } from "../auth/caller.js";
import type { GatewayContext, RequestScope } from "../context.js";
import { httpDefaults } from "../config/http.js";
import { ErrorCode, gatewayError } from "../errors.js";
import type { Admission, OperationRequest } from "../graphql/admission.js";
import { withRequestLog } from "../observability/request-log.js";
import { HttpError, httpErrorFrom } from "./errors.js";

export interface GraphQLEndpointOptions {
  /** A getter: Apollo's drain plugin needs the HTTP server before Apollo exists. */
  apollo: () => ApolloServer<GatewayContext>;
  context: (caller: Caller, scope: RequestScope) => Promise<GatewayContext>;
  /** Resolves the caller from the request's Authorization header, or throws AuthenticationError. */
  authenticate: (authorization: string | undefined) => Promise<Caller>;
  /** Origins allowed to call from a browser (exact match); empty = none. */
  corsOrigins: readonly string[];
  maxBodyBytes: number;
  /** The GraphQL admission pipeline: its router secret and trusted documents run here, the rest in Apollo. */
  admission: Admission;
  /** Whether the landing page is served (outside production, GRAPHQL_INTROSPECTION=true, or EXPLORER=graphiql). */
  landingPage: boolean;
  /** Answers a landing page request itself (the bundled GraphiQL, EXPLORER=graphiql); else Apollo's landing page plugin does. */
  landingPageHandler?: ((request: FastifyRequest, reply: FastifyReply) => FastifyReply) | undefined;
  /** Rewrites Apollo's landing page HTML (a link to the bundled GraphiQL, see http/explorer.ts). */
  landingPageRewrite?: ((html: string) => string) | undefined;
  /** OPERATION_TIMEOUT_MS: an operation's deadline, from its context's creation; default 60 000 ms. */
  operationTimeoutMs?: number | undefined;
}

/**
 * The reason an operation is cancelled with when its client went away before the response was finished. Its
 * pending fields fail with it; nobody reads that response, and the operation log reports them at debug only.
 */
export class ClientWentAway extends Error {
  override readonly name = "ClientWentAway";
  constructor() {
    super("The client went away before the response.");
  }
}

/**
 * The cancellation of one operation: one AbortController and one timer for its deadline, cleared when the
 * response closes (finished or not). A plain timer rather than AbortSignal.timeout + AbortSignal.any: that
 * pair costs more per request and would abort with a TimeoutError instead of the coded error the fields show.
 */
function operationSignal(res: ServerResponse, timeoutMs: number, timeoutMessage: string): AbortSignal {
  const controller = new AbortController();
  // Each Codat call in flight listens to it (and unlinks when done): a wide operation has many at once.
  setMaxListeners(0, controller.signal);
  if (res.closed) {
    // Gone already (a disconnect while the body was arriving): nothing to wait for.
    controller.abort(new ClientWentAway());
    return controller.signal;
  }
  // Arguments instead of a closure; the close listener below is the request's one closure.
  const timer = setTimeout(expire, timeoutMs, controller, timeoutMessage);
  res.on("close", () => {
    clearTimeout(timer);
    if (!res.writableFinished) controller.abort(new ClientWentAway());
  });
  return controller.signal;
}

function expire(controller: AbortController, message: string): void {
  controller.abort(gatewayError(ErrorCode.UpstreamTimeout, message));
}

const ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "apollo-require-preflight",
  "x-apollo-operation-name",
  "apollographql-client-name",
  "apollographql-client-version",
  "x-request-id",
  "traceparent",
  // Tracing and error-reporting SDKs (Sentry, OpenTelemetry) add these to every fetch of the browser app.
  "baggage",
  "sentry-trace",
];

declare module "fastify" {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

/**
 * A browser asking for the landing page: static HTML, served without credentials. Only a bare GET qualifies —
 * any query string could name an operation (`query`, `documentId`, or an automatic persisted query hash in
 * `extensions`), and operations always need a caller.
 */
function wantsLandingPage(request: FastifyRequest, enabled: boolean): boolean {
  return enabled && request.method === "GET" && !request.url.includes("?") && (request.headers.accept ?? "").includes("text/html");
}

export function registerGraphQL(app: FastifyInstance, options: GraphQLEndpointOptions): void {
  void app.register(async (scope) => {
    const origins = new Set(options.corsOrigins);
    // A preflight from an origin that is not allowed is refused outright (no permissions, 403).
    scope.addHook("onRequest", (request, reply, done) => {
      if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
        const origin = request.headers.origin;
        if (typeof origin !== "string" || !origins.has(origin)) {
          void reply.code(403).header("vary", "Origin").header("content-length", "0").send();
          return;
        }
      }
      done();
    });
    await scope.register(cors, {
      origin: options.corsOrigins.length > 0 ? [...options.corsOrigins] : false,
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: ALLOWED_HEADERS,
      exposedHeaders: ["x-request-id"],
      maxAge: 600,
      // Caches must never mix origins.
      hook: "onRequest",
    });
    scope.addHook("onSend", (_request, reply, payload, done) => {
      if (!reply.hasHeader("vary")) void reply.header("vary", "Origin");
      done(null, payload);
    });
    const rewrite = options.landingPageRewrite;
    if (rewrite) {
      scope.addHook("onSend", (request, reply, payload, done) => {
        const type = reply.getHeader("content-type");
        const html = typeof payload === "string" && typeof type === "string" && type.startsWith("text/html");
        done(null, html && wantsLandingPage(request, options.landingPage) ? rewrite(payload) : payload);
      });
    }

    // Apollo decides what a body means: JSON (two media types) parsed here, anything else handed over as text
    // (so CSRF prevention and Apollo's own 400s answer it, as they would on any integration).
    scope.addContentTypeParser("application/graphql-response+json", { parseAs: "string" }, scope.getDefaultJsonParser("error", "error"));
    scope.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));

    scope.decorateRequest("caller", null);
    const timeoutMs = options.operationTimeoutMs ?? httpDefaults.OPERATION_TIMEOUT_MS;
    const timeoutMessage = `The operation took longer than ${timeoutMs} ms.`;
    let apolloHandler: RouteHandlerMethod | undefined;
    const landingPageHandler = options.landingPageHandler;
    const handler: RouteHandlerMethod = function (request, reply) {
      if (landingPageHandler && wantsLandingPage(request, options.landingPage)) return landingPageHandler(request, reply);
      apolloHandler ??= fastifyApolloHandler(options.apollo(), {
        // The landing page needs no context; any operation has a caller by now.
        context: (req: FastifyRequest, res: FastifyReply) =>
          options.context(req.caller ?? { id: null, companies: new Set() }, {
            log: req.log,
            facts: req.facts ?? {},
            signal: operationSignal(res.raw, timeoutMs, timeoutMessage),
          }),
      }) as RouteHandlerMethod;
      const apolloRoute = apolloHandler;
      return withRequestLog(request.log, () => apolloRoute.call(this, request, reply));
    };
    scope.route({ method: ["GET", "POST"], url: "/graphql", preHandler: (request) => guard(request, options), handler });
  });
}

/** The guards before Apollo; a refusal is thrown, and the app's error handler answers it (Apollo never runs). */
async function guard(request: FastifyRequest, options: GraphQLEndpointOptions): Promise<void> {
  const { admission } = options;
  // In router-only mode nothing, not even the landing page, is served to anyone else.
  const notFromRouter = admission.routerRefusal(request.headers);
  if (notFromRouter) throw httpErrorFrom(notFromRouter);
  if (wantsLandingPage(request, options.landingPage)) return;
  let caller: Caller;
  try {
    caller = await options.authenticate(request.headers.authorization);
  } catch (error) {
    if (!(error instanceof AuthenticationError)) throw error;
    throw new HttpError(ErrorCode.Unauthenticated, error.message, { headers: { "www-authenticate": 'Bearer realm="codat-gateway"' } });
  }
  request.caller = caller;
  if (request.facts && caller.id !== null) request.facts.caller = caller.id;

  if (admission.trustedDocumentsOnly) {
    const search = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : "";
    // Routers send their own operations (`_entities`, query plans); past the check above, every request is the router's.
    const trusted = applyTrustedDocument(admission, request.method, request.body, search, admission.routerOnly);
    if (trusted instanceof GraphQLError) throw httpErrorFrom(trusted);
    if (trusted) {
      request.body = trusted.body;
      request.raw.url = `/graphql${trusted.search}`;
    }
  }
}

/**
 * The trusted-documents step on an HTTP request: its body (POST) or query string (GET) with the listed document
 * in place of the id it names; undefined when it runs as it is (the router's own operation); else the refusal.
 */
function applyTrustedDocument(
  admission: Admission,
  method: string | undefined,
  body: unknown,
  search: string,
  fromRouter: boolean,
): { body: unknown; search: string } | undefined | GraphQLError {
  if (method === "POST") {
    const fields = body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const { documentId, extensions, query, ...rest } = fields;
    const document = admission.trustedDocument({ documentId, query, extensions }, fromRouter);
    if (document === undefined || document instanceof GraphQLError) return document;
    const { persistedQuery: _hash, ...otherExtensions } = (extensions ?? {}) as Record<string, unknown>;
    return { body: { ...rest, query: document, extensions: otherExtensions }, search };
  }
  const params = new URLSearchParams(search);
  let request: OperationRequest = {};
  try {
    request = {
      documentId: params.get("documentId") ?? undefined,
      query: params.get("query") ?? undefined,
      extensions: params.has("extensions") ? JSON.parse(params.get("extensions") ?? "") : undefined,
    };
  } catch {
    // Malformed extensions name no listed document.
  }
  const document = admission.trustedDocument(request, fromRouter);
  if (document === undefined || document instanceof GraphQLError) return document;
  params.delete("documentId");
  params.delete("extensions");
  params.set("query", document);
  return { body: undefined, search: `?${params.toString()}` };
}
