/**
 * Assembles the gateway: Codat client, schema, Apollo Server and the HTTP server. Side-effect free until
 * `listen()` is called, so tests build as many gateways as they like, each on its own loopback port.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginInlineTrace } from "@apollo/server/plugin/inlineTrace";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { CodatClient } from "./codat/client.js";
import type { Config } from "./config.js";
import { createContextFactory, type GatewayContext } from "./context.js";
import { DownloadLinks } from "./downloads/links.js";
import { createDownloadRoute } from "./downloads/route.js";
import { maskError } from "./errors.js";
import { createHttpServer } from "./http/server.js";
import { CursorCodec } from "./pagination/cursor.js";
import { buildSchema } from "./schema.js";

export interface Gateway {
  readonly httpServer: Server;
  readonly client: CodatClient;
  /** Starts Apollo and listens on config.host:config.port; resolves to the GraphQL endpoint URL. */
  listen(): Promise<string>;
  /** Stops accepting work, lets in-flight requests finish (up to the grace period), then closes. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Overrides config.codatBaseUrl (the embedded simulator's URL). */
  codatBaseUrl?: string;
  /** How long in-flight requests may take to finish on stop. */
  stopGracePeriodMs?: number;
  onError?: (error: unknown) => void;
}

export function createGateway(config: Config, options: GatewayOptions = {}): Gateway {
  const baseUrl = options.codatBaseUrl ?? config.codatBaseUrl;
  if (!baseUrl) throw new Error("No Codat base URL: set CODAT_BASE_URL or CODAT_API_KEY, or start the simulator");

  const client = new CodatClient({
    baseUrl,
    ...(config.codatApiKey !== undefined ? { apiKey: config.codatApiKey } : {}),
    attemptTimeoutMs: config.codatAttemptTimeoutMs,
    deadlineMs: config.codatDeadlineMs,
    maxConcurrentPerCompany: config.codatMaxConcurrencyPerCompany,
  });
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
  const context = createContextFactory({ client, cursors, downloads });

  let ready = false;
  // The HTTP server comes first: Apollo's drain plugin needs it, and it reaches Apollo through a getter.
  const httpServer = createHttpServer({
    apollo: () => apollo,
    context: () => context(),
    isReady: () => ready,
    requiredHeader: config.routerSecret,
    routes: [createDownloadRoute({ client, links: downloads, ...(options.onError ? { onError: options.onError } : {}) })],
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const includeStacktrace = !config.production;
  const apollo = new ApolloServer<GatewayContext>({
    schema: buildSchema(),
    introspection: config.introspection,
    // main.ts owns the signals (it also stops the simulator); Apollo's own handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: includeStacktrace,
    formatError: (formatted, error) => maskError(formatted, error, { includeStacktrace }),
    plugins: [
      // Federated traces for a router that asks for them (installed explicitly, which also keeps startup quiet).
      ApolloServerPluginInlineTrace(),
      ApolloServerPluginDrainHttpServer({
        httpServer,
        stopGracePeriodMillis: options.stopGracePeriodMs ?? 10_000,
      }),
      config.introspection
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });

  return {
    httpServer,
    client,
    async listen() {
      await apollo.start();
      await new Promise<void>((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(config.port, config.host, () => {
          httpServer.off("error", reject);
          resolve();
        });
      });
      ready = true;
      const address = httpServer.address() as AddressInfo;
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      publicUrl ??= `http://${linkHost(address)}:${address.port}`;
      return `http://${host}:${address.port}/graphql`;
    },
    async stop() {
      ready = false;
      await apollo.stop();
    },
  };
}

/** A host a browser can reach for links when PUBLIC_URL is unset: loopback for a wildcard bind. */
function linkHost(address: AddressInfo): string {
  if (address.address === "0.0.0.0") return "127.0.0.1";
  if (address.address === "::") return "[::1]";
  return address.family === "IPv6" ? `[${address.address}]` : address.address;
}
