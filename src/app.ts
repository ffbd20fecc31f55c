/**
 * Assembles the gateway: Codat client, schema, Apollo Server and the HTTP server. Side-effect free until
 * `listen()` is called, so tests build as many gateways as they like, each on its own loopback port.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { FastifyInstance } from "fastify";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginInlineTrace } from "@apollo/server/plugin/inlineTrace";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { UNAUTHENTICATED_CALLER, createJwtAuthenticator, type Caller } from "./auth/caller.js";
import { MemoryCacheStore } from "./cache/memory-store.js";
import { cacheExtensionsPlugin } from "./cache/plugin.js";
import { CacheInvalidatingBus } from "./cache/push-success.js";
import { ReadCache } from "./cache/read-cache.js";
import { RedisCacheStore } from "./cache/redis-store.js";
import { createCacheMetrics } from "./observability/cache-metrics.js";
import { CodatClient } from "./codat/client.js";
import type { CodatObserver } from "./codat/observer.js";
import { lazyRequestBudget } from "./codat/request-budget.js";
import { RedisApqCache } from "./redis/apq-cache.js";
import { RedisHub } from "./redis/hub.js";
import { redisPermits } from "./redis/permits.js";
import { SharedSlotLimiter } from "./codat/shared-limiter.js";
import { ConfigError, isLoopbackHost, logSecrets, type Config } from "./config.js";
import { createContextFactory, type GatewayContext } from "./context.js";
import { DownloadLinks } from "./downloads/links.js";
import { createDownloadRoute } from "./downloads/route.js";
import { Admission } from "./graphql/admission.js";
import { createHttpApp, createMetricsApp } from "./http/server.js";
import { codatLoggingObserver } from "./observability/codat-logging.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { createMetrics, type GatewayMetrics } from "./observability/metrics.js";
import { currentRequestLog } from "./observability/request-log.js";
import { operationLoggingPlugin } from "./observability/operation-logging.js";
import { UpstreamReadiness } from "./observability/readiness.js";
import { CursorCodec } from "./pagination/cursor.js";
import { LocalPushStatusBus, type PushStatusBus } from "./push-status/bus.js";
import { RedisPushStatusBus } from "./redis/push-bus.js";
import { PushStatusWatcher, type WatcherClock } from "./push-status/watcher.js";
import { attachSubscriptions } from "./http/subscriptions.js";
import { buildSchema } from "./schema.js";
import { createWebhookReceiver } from "./webhooks/route.js";

export interface Gateway {
  readonly httpServer: Server;
  readonly client: CodatClient;
  readonly logger: Logger;
  /** News about push operations (webhooks, polls) on its way to subscriptions. */
  readonly pushStatus: PushStatusBus;
  /** The watches behind `pushOperationUpdated` subscriptions (one per operation, with its poll loop). */
  readonly pushWatcher: PushStatusWatcher;
  /** The read cache (CACHE_ENABLED; docs/caching.md); undefined when off. */
  readonly cache: ReadCache | undefined;
  /** Where GET /metrics is served once listening (the main port, or METRICS_PORT); undefined with METRICS_ENABLED=false. */
  readonly metricsUrl: string | undefined;
  /** Starts Apollo and listens on config.host:config.port (and METRICS_PORT); resolves to the GraphQL endpoint URL. */
  listen(): Promise<string>;
  /** Stops accepting work, lets in-flight requests finish (up to the grace period), then closes. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Overrides config.codatBaseUrl (the embedded simulator's URL). */
  codatBaseUrl?: string;
  /** How long in-flight requests may take to finish on stop. */
  stopGracePeriodMs?: number;
  /** The logger (default: pino to stdout at config.logLevel, with the API key redacted). */
  logger?: Logger;
  /** More observers of the Codat client's calls, ahead of the gateway's own (the tracer's, from main.ts). */
  codatObservers?: readonly CodatObserver[];
  /** The push status watcher's clock (its polls and subscription deadlines); default the real one. */
  pushStatusClock?: WatcherClock;
  /** The WebSocket endpoint's clock (init deadline, heartbeat, token expiry); default the real one. */
  websocketClock?: WatcherClock;
  /** Where the built GraphiQL explorer is (default dist/explorer/, see http/explorer.ts). */
  explorerDir?: string;
  /** The read cache's clock (ms since the epoch: entries' ages, the time bound); default Date.now. */
  cacheClock?: () => number;
}

export function createGateway(config: Config, options: GatewayOptions = {}): Gateway {
  const baseUrl = options.codatBaseUrl ?? config.codatBaseUrl;
  if (!baseUrl) throw new Error("No Codat base URL: set CODAT_BASE_URL or CODAT_API_KEY, or start the simulator");

  const logger =
    options.logger ??
    createLogger({
      level: config.logLevel,
      pretty: config.logPretty,
      secrets: logSecrets(config),
    });
  // REDIS_URL: one hub (two connections, one health state) for every feature that needs Redis, started by listen().
  const redisLog = { warn: (message: string) => logger.warn(message), info: (message: string) => logger.info(message) };
  const hub = config.redis === undefined ? undefined : new RedisHub(config.redis, redisLog);
  const permitCaps = {
    maxPerKey: config.codatMaxConcurrencyPerCompany,
    maxDownloadsPerKey: Math.min(config.codatMaxConcurrencyPerCompany, config.codatDownloadSlotsPerCompany),
  };
  // REDIS_URL: the company slots are shared by every replica (connected by listen()); unset, per process.
  const sharedLimiter =
    hub === undefined || config.redis === undefined
      ? undefined
      : new SharedSlotLimiter({
          maxPerKey: config.codatMaxConcurrencyPerCompany,
          maxDownloadsPerKey: Math.min(config.codatMaxConcurrencyPerCompany, config.codatDownloadSlotsPerCompany),
          maxQueuedPerKey: config.codatMaxQueuePerCompany,
          maxQueuedDownloadsPerKey: config.codatDownloadQueuePerCompany,
          redis: config.redis,
          log: redisLog,
          connect: (events) => redisPermits(hub, permitCaps, events),
          streak: hub.streak,
          outage: hub,
        });
  // CODAT_REQUESTS_PER_MINUTE: one fair bucket for the process, or for every replica through Redis.
  const budget =
    config.codatRequestsPerMinute > 0
      ? lazyRequestBudget({ perMinute: config.codatRequestsPerMinute, maxWaiting: config.codatBudgetMaxWaiting, hub })
      : undefined;
  // Built before the client, whose observers include the metrics'; the gauges read the client at scrape time.
  const metrics: GatewayMetrics | undefined = config.metricsEnabled
    ? createMetrics({
        codatSlots: () => ({ inFlight: client.totalInFlight(), queued: client.totalQueued() }),
        ...(sharedLimiter ? { redisFallback: () => sharedLimiter.fallback } : {}),
        ...(hub ? { redisHealth: () => ({ up: hub.up, outages: hub.outages }) } : {}),
        pushStatus: () => ({
          connections: subscriptions.connections,
          watches: pushWatcher.activeWatches,
          pollLoops: pushWatcher.activePollLoops,
        }),
      })
    : undefined;
  const client: CodatClient = new CodatClient({
    baseUrl,
    ...(config.codatApiKey !== undefined ? { apiKey: config.codatApiKey } : {}),
    attemptTimeoutMs: config.codatAttemptTimeoutMs,
    deadlineMs: config.codatDeadlineMs,
    maxConcurrentPerCompany: config.codatMaxConcurrencyPerCompany,
    streamIdleTimeoutMs: config.codatStreamIdleTimeoutMs,
    maxResponseBytes: config.codatMaxResponseBytes,
    maxDownloadsPerCompany: config.codatDownloadSlotsPerCompany,
    maxQueuedPerCompany: config.codatMaxQueuePerCompany,
    maxQueuedDownloadsPerCompany: config.codatDownloadQueuePerCompany,
    maxQueueWaitMs: config.codatQueueTimeoutMs,
    observers: [...(options.codatObservers ?? []), codatLoggingObserver(logger), ...(metrics ? [metrics.codatObserver] : [])],
    ...(sharedLimiter ? { limiter: sharedLimiter } : {}),
    ...(budget ? { budget } : {}),
  });
  // CACHE_ENABLED: the read cache beneath the loaders, in this process or (REDIS_URL) in Redis through the hub.
  const cacheConfig = config.cache;
  const redisCacheStore = cacheConfig && hub ? new RedisCacheStore(hub) : undefined;
  const cacheStore = cacheConfig
    ? (redisCacheStore ??
      new MemoryCacheStore({ maxBytes: cacheConfig.maxBytes, ...(options.cacheClock ? { now: options.cacheClock } : {}) }))
    : undefined;
  const cache =
    cacheConfig && cacheStore
      ? new ReadCache({
          client,
          store: cacheStore,
          config: cacheConfig,
          metrics: metrics ? createCacheMetrics(metrics.registry, () => cacheStore.size()) : undefined,
          log: { warn: (message) => logger.warn(message) },
          ...(options.cacheClock ? { now: options.cacheClock } : {}),
        })
      : undefined;
  const secret = config.signingSecret ?? randomBytes(32);
  const cursors = new CursorCodec(secret);
  // Download links are absolute; without PUBLIC_URL their base is the bound address, known only after listen().
  let publicUrl = config.publicUrl;
  const downloads = new DownloadLinks({
    secret,
    ttlSeconds: config.downloadLinkTtlSeconds,
    baseUrl: () => {
      if (publicUrl === undefined) throw new Error("The gateway's public URL is not known before listen()");
      return publicUrl;
    },
  });
  // REDIS_URL: push status signals (webhooks, polls) reach the subscribers of every replica.
  const redisBus = hub === undefined ? undefined : new RedisPushStatusBus(hub);
  const bus: PushStatusBus = redisBus ?? new LocalPushStatusBus();
  // A push that succeeded (polled or announced) invalidates the company's cached customers.
  const pushStatus: PushStatusBus = cache ? new CacheInvalidatingBus(bus, cache) : bus;
  const pushWatcher = new PushStatusWatcher({
    client,
    bus: pushStatus,
    ...config.pushStatus,
    ...(options.pushStatusClock ? { clock: options.pushStatusClock } : {}),
    lease: redisBus?.pollLease,
    log: logger,
  });
  const context = createContextFactory({ client, cursors, downloads, pushWatcher, cache });

  // Callers: a verified JWT names the companies each may use; AUTH_MODE=none trusts everyone with everything
  // (config.ts allows that only on loopback, the simulator, or with ALLOW_UNAUTHENTICATED=true).
  const verifyJwt = config.auth ? createJwtAuthenticator(config.auth) : undefined;
  const authenticate = async (authorization: string | undefined): Promise<Caller> =>
    verifyJwt ? verifyJwt(authorization) : UNAUTHENTICATED_CALLER;
  const trustedDocuments = config.trustedDocuments;
  const upstreamReadiness = config.readyCheckUpstream
    ? new UpstreamReadiness({ client, intervalSeconds: config.readyCheckIntervalSeconds, log: logger })
    : undefined;

  // Stack traces and internal details reach clients only when development is asked for by name.
  const includeStacktrace = config.development;
  // One schema, and one admission pipeline, for Apollo (HTTP) and the WebSocket subscriptions.
  const schema = buildSchema();
  const admission = new Admission({
    schema,
    limits: config.limits,
    trustedDocuments,
    routerSecret: config.routerSecret,
    // No "Did you mean …?" hints about the schema in production.
    hideSchemaDetails: config.production,
    // `_service { sdl }`: the router's (ROUTER_SECRET), or anyone's when nobody is authenticated on loopback.
    serviceSdlOpen: config.auth === undefined && isLoopbackHost(config.host),
    includeStacktrace,
  });

  let listening = false;
  // The HTTP app comes first: Apollo's drain plugin needs its server, and it reaches Apollo through a getter.
  const app = createHttpApp({
    logger,
    apollo: () => apollo,
    context,
    authenticate,
    corsOrigins: config.corsOrigins,
    maxBodyBytes: config.limits.maxRequestBytes,
    operationTimeoutMs: config.operationTimeoutMs,
    headersTimeoutMs: config.httpHeadersTimeoutMs,
    requestTimeoutMs: config.httpRequestTimeoutMs,
    admission,
    // Sandbox (Apollo's plugin below) with introspection on; the bundled GraphiQL when EXPLORER=graphiql.
    landingPage: config.explorer.landingPage === "graphiql" ? config.explorer.graphiql : config.introspection,
    explorer: config.explorer.graphiql
      ? { landingPage: config.explorer.landingPage === "graphiql", ...(options.explorerDir ? { dir: options.explorerDir } : {}) }
      : undefined,
    readiness: () => (!listening ? { ready: false, reason: "starting or stopping" } : (upstreamReadiness?.current() ?? { ready: true })),
    // METRICS_PORT keeps /metrics off the port clients reach.
    metrics: metrics && config.metricsPort === undefined ? metrics.registry : undefined,
    routes: [
      createDownloadRoute({
        client,
        links: downloads,
        // A download carrying credentials must be the caller the link was minted for; a plain link carries none.
        callerOf: async (req) =>
          verifyJwt && req.headers.authorization ? ((await verifyJwt(req.headers.authorization)).id ?? undefined) : undefined,
        onError: (error) => (currentRequestLog() ?? logger).error({ err: error }, "download failed"),
        metrics: metrics?.downloads,
        clientIdleTimeoutMs: config.downloadClientIdleTimeoutMs,
        upstreamIdleTimeoutMs: config.codatStreamIdleTimeoutMs,
      }),
    ],
  });
  // CODAT_WEBHOOK_SECRET: Codat's webhooks in, as signals on the push status bus.
  const webhooks = config.codatWebhook
    ? createWebhookReceiver({ config: config.codatWebhook, hub, bus: pushStatus, logger, metrics: metrics?.webhooks, dataChanges: cache })
    : undefined;
  webhooks?.register(app);
  const httpServer = app.server;
  const metricsServer =
    metrics && config.metricsPort !== undefined ? { app: createMetricsApp(metrics.registry, logger), port: config.metricsPort } : undefined;
  let metricsUrl: string | undefined;
  // REDIS_URL: a query registered by hash (APQ) on one replica is found on all of them.
  const apqCache = hub === undefined ? undefined : new RedisApqCache(hub);
  const subscriptions = attachSubscriptions({
    server: httpServer,
    schema,
    context,
    authenticate,
    corsOrigins: config.corsOrigins,
    admission,
    maxMessageBytes: config.limits.maxRequestBytes,
    logger,
    maxConnections: config.pushStatus.maxConnections,
    ...config.websocket,
    ...(options.websocketClock ? { clock: options.websocketClock } : {}),
  });
  const apollo = new ApolloServer<GatewayContext>({
    schema,
    introspection: config.introspection,
    // main.ts owns the signals (it also stops the simulator); Apollo's own handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: includeStacktrace,
    csrfPrevention: true,
    ...(apqCache ? { persistedQueries: { cache: apqCache } } : {}),
    // Parse options, validation rules and error masking; the plugin below drops "Did you mean" hints and checks cost.
    ...admission.apolloOptions,
    plugins: [
      // Federated traces for a router that asks for them (installed explicitly, which also keeps startup quiet).
      ApolloServerPluginInlineTrace(),
      admission.apolloPlugin(),
      operationLoggingPlugin(),
      ...(metrics ? [metrics.apolloPlugin] : []),
      ...(cache ? [cacheExtensionsPlugin<GatewayContext>()] : []),
      // The schema sets no cache hints; the plugin would still run a hook on every field of every response.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginDrainHttpServer({
        httpServer,
        stopGracePeriodMillis: options.stopGracePeriodMs ?? 10_000,
      }),
      config.introspection && config.explorer.landingPage === "sandbox"
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });

  return {
    httpServer,
    client,
    logger,
    pushStatus,
    pushWatcher,
    cache,
    get metricsUrl() {
      return metricsUrl;
    },
    async listen() {
      // Redis first. Something at REDIS_URL that answers, but not as Redis, stops startup whatever
      // REDIS_FAILURE_MODE says (a ConfigError naming REDIS_URL): it is a wrong URL, not an outage.
      if (config.redis !== undefined) {
        const { redisProtocolProblem } = await import("./redis/connection.js");
        const problem = await redisProtocolProblem(config.redis);
        if (problem !== undefined) throw new ConfigError([problem]);
      }
      // The hub's connections; with REDIS_FAILURE_MODE=fail an unreachable Redis stops startup
      // (RedisUnavailableError, from the slots).
      try {
        await Promise.all([sharedLimiter?.start(), budget?.start(), redisBus?.start(), redisCacheStore?.start()]);
      } catch (error) {
        await budget?.close();
        await hub?.close();
        throw error;
      }
      await apollo.start();
      await app.listen({ port: config.port, host: config.host, listenTextResolver: (address) => `HTTP server listening at ${address}` });
      listening = true;
      void upstreamReadiness?.check();
      const address = httpServer.address() as AddressInfo;
      publicUrl ??= `http://${linkHost(address)}:${address.port}`;
      if (metricsServer) {
        await metricsServer.app.listen({
          port: metricsServer.port,
          host: config.host,
          listenTextResolver: (at) => `Metrics server listening at ${at}`,
        });
        metricsUrl = `${originOf(metricsServer.app.server.address() as AddressInfo)}/metrics`;
      } else if (metrics) {
        metricsUrl = `${originOf(address)}/metrics`;
      }
      return `${originOf(address)}/graphql`;
    },
    async stop() {
      listening = false;
      // WebSocket first (1001 Going Away): the drain below would otherwise wait on their sockets.
      await subscriptions.close();
      pushWatcher.close();
      // Apollo's drain plugin lets in-flight requests finish (up to the grace period) and closes the server;
      // fastify then runs its own onClose hooks.
      await apollo.stop();
      await closeApp(app);
      // Last, so the drain can still be watched.
      if (metricsServer) await closeApp(metricsServer.app);
      await sharedLimiter?.close();
      await budget?.close();
      await webhooks?.close();
      await pushStatus.close();
      await cache?.settled();
      await cacheStore?.close();
      // Last: the features above stopped using its connections.
      await hub?.close();
    },
  };
}

async function closeApp(app: FastifyInstance): Promise<void> {
  await app.close().catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== "ERR_SERVER_NOT_RUNNING") throw error;
  });
}

/** `http://host:port` of a bound address. */
function originOf(address: AddressInfo): string {
  return `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
}

/** A host a browser can reach for links when PUBLIC_URL is unset: loopback for a wildcard bind. */
function linkHost(address: AddressInfo): string {
  if (address.address === "0.0.0.0") return "127.0.0.1";
  if (address.address === "::") return "[::1]";
  return address.family === "IPv6" ? `[${address.address}]` : address.address;
}
