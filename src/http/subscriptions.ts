/**
 * GraphQL subscriptions over WebSocket on `/graphql` (graphql-ws's `graphql-transport-ws` protocol, on the same
 * HTTP server and port as the HTTP endpoint). The guards mirror http/graphql.ts:
 *
 *   upgrade: path `/graphql` only (any other is answered 404 and dropped) → room (below; else 503) → router
 *   secret (ROUTER_SECRET) → Origin (absent, the gateway's own, or one of CORS_ORIGINS; else 403) →
 *   connection_init: the caller from `payload.authorization` (or `Authorization`; else the upgrade request's
 *   Authorization header, as a router forwards it), verified like the HTTP Authorization header; a refused token closes the socket with 4403 Forbidden before anything runs, and no
 *   connection_init within WS_CONNECTION_INIT_TIMEOUT_MS closes it with 4408 →
 *   subscribe: the token not expired (else 4403) → at most `maxSubscriptionsPerConnection` at once → GraphQL
 *   admission (graphql/admission.ts, the same steps as HTTP: trusted documents, parse, validation and limits,
 *   the operation, cost) → subscriptions only (queries and mutations go over HTTP) → execution with the
 *   caller's scoped context.
 *
 * Socket hygiene (issue 27), every wait on one injected clock (`clock`, tests use a manual one):
 *
 * - Room: authenticated sockets count toward WS_MAX_CONNECTIONS (503 beyond); sockets that have not
 *   authenticated yet have their own small cap (WS_MAX_UNAUTHENTICATED_CONNECTIONS) inside it. A new upgrade
 *   that finds no room for one more unauthenticated socket drops the oldest unauthenticated one (close 1013 Try
 *   Again Later) rather than being refused: sockets that never authenticate cannot keep real clients out, who
 *   send connection_init as soon as they are open.
 * - Heartbeat: every socket is pinged every WS_PING_INTERVAL_MS; one that has not answered the previous ping by
 *   the next is dead and terminated (graphql-ws's own keep-alive is off: it runs on real timers only).
 * - Token expiry: an authenticated socket's rights end with its token (`exp`): it is closed 4403 Forbidden then,
 *   which ends its running subscriptions; a subscribe arriving after `exp` is refused the same way.
 *
 * Every error reaches the client through the admission's formatter, the same as Apollo's: coded errors as they
 * are, anything else as INTERNAL_SERVER_ERROR, never a stack trace or an upstream URL. A refused upgrade is
 * answered through the one HTTP error table (http/errors.ts).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Server } from "node:http";
import { GraphQLError, OperationTypeNode, type ExecutionArgs, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import { AuthenticationError, type Caller } from "../auth/caller.js";
import type { GatewayContext, RequestScope } from "../context.js";
import { ErrorCode, RequestCode } from "../errors.js";
import type { Admission } from "../graphql/admission.js";
import type { Logger } from "../observability/logger.js";
import { pushDefaults } from "../config/push.js";
import { realWatcherClock, type WatcherClock } from "../push-status/watcher.js";
import { HttpError, endSocketWithError, httpErrorFrom, notFound } from "./errors.js";

export interface SubscriptionEndpointOptions {
  server: Server;
  schema: GraphQLSchema;
  context: (caller: Caller, scope: RequestScope) => Promise<GatewayContext>;
  authenticate: (authorization: string | undefined) => Promise<Caller>;
  corsOrigins: readonly string[];
  /** The GraphQL admission pipeline shared with the HTTP endpoint (router secret, trusted documents, limits, …). */
  admission: Admission;
  /** MAX_REQUEST_BYTES: the largest WebSocket message. */
  maxMessageBytes: number;
  logger: Logger;
  /** WebSocket connections open at once; an upgrade beyond is answered 503 (default 10 000). */
  maxConnections?: number;
  /** Subscriptions one connection may run at once (default 100). */
  maxSubscriptionsPerConnection?: number;
  /** How long a new socket may take to send connection_init (default 10 000 ms). */
  connectionInitTimeoutMs?: number;
  /** Sockets not authenticated yet, at most (default 100, within maxConnections). */
  maxUnauthenticatedConnections?: number;
  /** Every socket is pinged this often; one that did not answer the previous ping is terminated (default 30 000 ms). */
  pingIntervalMs?: number;
  /** The clock of the init deadline, the heartbeat and token expiry (default the real one). */
  clock?: WatcherClock;
  /** How long stop() waits for clients to answer the close before dropping them (default 1 000 ms). */
  closeGraceMs?: number;
}

export interface SubscriptionEndpoint {
  /** Sockets open now. */
  readonly connections: number;
  /** Refuses new upgrades, closes every socket with 1001 Going Away (dropping those that do not answer in time). */
  close(): Promise<void>;
}

type Extra = { socket: WebSocket; request: IncomingMessage };

export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;
export const DEFAULT_CONNECTION_INIT_TIMEOUT_MS = 10_000;

/** graphql-ws's close codes the hygiene uses. */
const CLOSE_FORBIDDEN = 4403;
const CLOSE_INIT_TIMEOUT = 4408;
const CLOSE_TRY_AGAIN_LATER = 1013;

/** What the endpoint knows of one socket: its timers (cancelled on close) and whether its last ping was answered. */
interface SocketState {
  authenticated: boolean;
  awaitingPong: boolean;
  cancelInit: () => void;
  cancelPing: () => void;
  cancelExpiry: () => void;
}

export function attachSubscriptions(options: SubscriptionEndpointOptions): SubscriptionEndpoint {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
  const origins = new Set(options.corsOrigins);
  const callers = new WeakMap<object, Caller>();
  const maxSubscriptions = options.maxSubscriptionsPerConnection ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION;
  const { admission } = options;
  const log = options.logger;
  const clock = options.clock ?? realWatcherClock;
  const maxConnections = options.maxConnections ?? pushDefaults.WS_MAX_CONNECTIONS;
  const maxUnauthenticated = Math.min(options.maxUnauthenticatedConnections ?? 100, maxConnections);
  const initTimeoutMs = options.connectionInitTimeoutMs ?? DEFAULT_CONNECTION_INIT_TIMEOUT_MS;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const states = new Map<WebSocket, SocketState>();
  /** Sockets open but not authenticated yet, oldest first. */
  const unauthenticated = new Set<WebSocket>();
  let authenticatedCount = 0;
  let closing = false;

  wss.on("connection", (socket: WebSocket) => {
    const state: SocketState = {
      authenticated: false,
      awaitingPong: false,
      cancelInit: () => undefined,
      cancelPing: () => undefined,
      cancelExpiry: () => undefined,
    };
    states.set(socket, state);
    unauthenticated.add(socket);
    state.cancelInit = clock.setTimer(initTimeoutMs, () => {
      if (!state.authenticated) socket.close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout");
    });
    const beat = (): void => {
      if (state.awaitingPong) {
        socket.terminate();
        return;
      }
      state.awaitingPong = true;
      socket.ping();
      state.cancelPing = clock.setTimer(pingIntervalMs, beat);
    };
    state.cancelPing = clock.setTimer(pingIntervalMs, beat);
    socket.on("pong", () => {
      state.awaitingPong = false;
    });
    socket.once("close", () => {
      state.cancelInit();
      state.cancelPing();
      state.cancelExpiry();
      states.delete(socket);
      if (!unauthenticated.delete(socket) && state.authenticated) authenticatedCount--;
    });
  });

  /** A socket's caller was accepted: it counts as authenticated, and its rights end with its token. */
  const authenticated = (socket: WebSocket, caller: Caller): void => {
    const state = states.get(socket);
    if (!state || state.authenticated) return;
    state.authenticated = true;
    state.cancelInit();
    if (unauthenticated.delete(socket)) authenticatedCount++;
    if (caller.expiresAt !== undefined) {
      state.cancelExpiry = clock.setTimer(Math.max(0, caller.expiresAt - clock.now()), () => {
        socket.close(CLOSE_FORBIDDEN, "Forbidden: the token expired");
      });
    }
  };

  /** Room for one more unauthenticated socket, dropping the oldest ones if need be; false when there is none. */
  const makeRoom = (): boolean => {
    while (unauthenticated.size >= maxUnauthenticated || authenticatedCount + unauthenticated.size >= maxConnections) {
      const oldest = unauthenticated.values().next();
      if (oldest.done) return false;
      unauthenticated.delete(oldest.value);
      oldest.value.close(CLOSE_TRY_AGAIN_LATER, "Try again later");
    }
    return true;
  };

  const format = (error: GraphQLError): GraphQLFormattedError => {
    const formatted = admission.formatGraphQLError(error);
    if (formatted.extensions?.["code"] === ErrorCode.InternalServerError) {
      log.error({ err: error.originalError ?? error }, "subscription failed");
    }
    return formatted;
  };
  const refusal = (message: string, code: string): GraphQLError[] => [new GraphQLError(message, { extensions: { code } })];

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      // The init deadline runs on the endpoint's clock (above).
      connectionInitWaitTimeout: 0,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        // A router (or a server-side client) may carry the token on the upgrade request instead; browsers cannot.
        const given = params["authorization"] ?? params["Authorization"] ?? ctx.extra.request.headers.authorization;
        try {
          const caller = await options.authenticate(typeof given === "string" ? given : undefined);
          callers.set(ctx, caller);
          authenticated(ctx.extra.socket, caller);
          return true;
        } catch (error) {
          if (!(error instanceof AuthenticationError)) log.error({ err: error }, "subscription authentication failed");
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        const caller = callers.get(ctx);
        if (!caller) return refusal("Send connection_init first.", ErrorCode.Unauthenticated);
        if (caller.expiresAt !== undefined && clock.now() >= caller.expiresAt) {
          ctx.extra.socket.close(CLOSE_FORBIDDEN, "Forbidden: the token expired");
          return refusal("The bearer token has expired.", ErrorCode.Unauthenticated);
        }
        if (Object.keys(ctx.subscriptions).length > maxSubscriptions) {
          return refusal(`At most ${maxSubscriptions} subscriptions may run at once on one connection.`, ErrorCode.RateLimited);
        }
        const extensions = payload.extensions as Record<string, unknown> | undefined;
        const admitted = admission.admit(
          {
            // A client sending only an id (the graphql-ws payload needs a `query`) sends an empty one.
            query: payload.query === "" ? undefined : payload.query,
            documentId: extensions?.["documentId"] ?? (payload as { documentId?: unknown }).documentId,
            extensions,
            operationName: payload.operationName,
            variables: payload.variables,
          },
          // Upgrades without the secret are refused in the router-only mode: every socket there is the router's.
          admission.routerOnly,
        );
        if (!("document" in admitted)) return [...admitted];
        const { document, operation, variables } = admitted;
        if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
          return refusal("Only subscriptions run over WebSocket; send queries and mutations over HTTP.", RequestCode.BadRequest);
        }
        const requestLog = log.child({ subscription: id, ...(caller.id !== null ? { caller: caller.id } : {}) });
        const contextValue = await options.context(caller, { log: requestLog, facts: {} });
        const args: ExecutionArgs = {
          schema: options.schema,
          document,
          variableValues: variables,
          operationName: payload.operationName ?? null,
          contextValue,
        };
        return args;
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((error) => format(error)) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => format(error)),
    },
    wss,
    // graphql-ws's keep-alive off: the heartbeat above runs on the endpoint's clock.
    0,
  );

  const upgradeRefusal = (request: IncomingMessage): HttpError | undefined => {
    if ((request.url ?? "").split("?", 1)[0] !== "/graphql") return notFound();
    if (closing || authenticatedCount >= maxConnections) {
      return new HttpError(RequestCode.ServiceUnavailable, "No more WebSocket connections are taken now; try again later.");
    }
    const notFromRouter = admission.routerRefusal(request.headers);
    if (notFromRouter) return httpErrorFrom(notFromRouter);
    const origin = request.headers.origin;
    if (origin !== undefined && !origins.has(origin) && !sameOrigin(origin, request)) {
      return new HttpError(ErrorCode.Forbidden, "This origin may not open a WebSocket here.");
    }
    return undefined;
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refused =
      upgradeRefusal(request) ??
      (makeRoom()
        ? undefined
        : new HttpError(RequestCode.ServiceUnavailable, "No more WebSocket connections are taken now; try again later."));
    if (refused) {
      endSocketWithError(socket, refused);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      wss.emit("connection", ws, request);
    });
  };
  options.server.on("upgrade", onUpgrade);

  let closed: Promise<void> | undefined;
  return {
    get connections() {
      return wss.clients.size;
    },
    close() {
      // Once: the server's dispose() closes the WebSocket server, which may not be closed twice.
      closed ??= closeAll();
      return closed;
    },
  };

  async function closeAll(): Promise<void> {
    closing = true;
    options.server.off("upgrade", onUpgrade);
    const open = [...wss.clients];
    const allClosed = Promise.all(
      open.map((client) =>
        client.readyState === client.CLOSED ? Promise.resolve() : new Promise<void>((resolve) => client.once("close", () => resolve())),
      ),
    );
    for (const client of open) client.close(1001, "Going away");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allClosed, new Promise((resolve) => (timer = setTimeout(resolve, options.closeGraceMs ?? 1_000)))]);
    clearTimeout(timer);
    for (const client of wss.clients) client.terminate();
    await allClosed;
    await server.dispose();
  }
}

/** The WebSocket's Origin is the gateway's own (a page it serves), by the Host header the browser sent. */
function sameOrigin(origin: string, request: IncomingMessage): boolean {
  const host = request.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}
