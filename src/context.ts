/**
 * The per-request GraphQL context: who is calling, a Codat client scoped to the companies they may use, the
 * cursor codec and download-link signer, and a fresh set of DataLoaders built on the scoped client (so no
 * loader can reach a company the caller was not granted).
 */
import type { Caller } from "./auth/caller.js";
import { scopeClient, type CodatApi } from "./auth/scoped-client.js";
import { CacheNotes } from "./cache/freshness.js";
import type { ReadCache } from "./cache/read-cache.js";
import type { CodatClient } from "./codat/client.js";
import type { DownloadLinks } from "./downloads/links.js";
import { createLoaders, type Loaders } from "./loaders/index.js";
import type { CursorCodec } from "./pagination/cursor.js";
import type { FastifyBaseLogger } from "fastify";
import { silentLogger } from "./observability/logger.js";
import type { PushStatusWatcher } from "./push-status/watcher.js";

/** What the access line of a request reports beyond method, route and status (filled in as the request goes). */
export interface RequestFacts {
  operation?: string | undefined;
  caller?: string | undefined;
  /**
   * Why a response the route ended itself did not complete (a download's `upstream_idle`, `client_idle`, …).
   * Unset, an unfinished response is the client's doing: `client_gone`.
   */
  incomplete?: string | undefined;
}

/** A request's logger (pino's, as fastify hands it out). */
export type RequestLogger = FastifyBaseLogger;

/**
 * What the HTTP layer hands each operation: its request's logger (with the request id), its access-line facts,
 * and the signal that cancels it.
 */
export interface RequestScope {
  log: RequestLogger;
  facts: RequestFacts;
  /** Aborted when the client goes away before the response, or at the operation's deadline (see http/graphql.ts). */
  signal?: AbortSignal | undefined;
}

export interface GatewayContext {
  caller: Caller;
  /** The Codat client, refusing companies outside `caller.companies`. */
  client: CodatApi;
  /**
   * The same caller's view of Codat itself, past the read cache: for the reads that must be Codat's current record
   * (a patch's read-modify-write and its `modifiedDate` check). The same as `client` without a cache.
   */
  readonly current: CodatApi;
  cursors: CursorCodec;
  /** Signs `Attachment.downloadUrl` links (absolute: it knows the public base URL). */
  downloads: DownloadLinks;
  loaders: Loaders;
  /** This request's logger: every line carries its request id. */
  log: RequestLogger;
  /** What the request's access line reports (the operation name is filled in once Apollo resolved it). */
  facts: RequestFacts;
  /**
   * The operation's cancellation (RequestScope.signal): every Codat read made for the operation carries it, so
   * a client that went away or an operation past its deadline stops waiting on Codat (its reason is what the
   * pending fields fail with). Writes never carry it: once sent, a write runs to completion (writes/customers.ts).
   * Undefined outside an HTTP request.
   */
  signal: AbortSignal | undefined;
  /** Push status watches for `pushOperationUpdated` (see push-status/watcher.ts); undefined where none run. */
  pushWatcher?: PushStatusWatcher | undefined;
  /** The request's stale serves from the read cache, for `extensions.cache` (cache/plugin.ts); undefined without a cache. */
  cacheNotes?: CacheNotes | undefined;
}

export interface ContextDependencies {
  client: CodatClient;
  cursors: CursorCodec;
  downloads: DownloadLinks;
  pushWatcher?: PushStatusWatcher | undefined;
  /** The read cache (CACHE_ENABLED): the request's client reads through it, beneath the caller's authorization. */
  cache?: ReadCache | undefined;
}

const QUIET = silentLogger();

export function createContextFactory(deps: ContextDependencies): (caller: Caller, scope?: RequestScope) => Promise<GatewayContext> {
  return (caller, scope) => {
    // The caller's authorization wraps the cache: a company the caller may not use is refused before any lookup.
    const cacheNotes = deps.cache ? new CacheNotes() : undefined;
    const client = scopeClient(deps.cache && cacheNotes ? deps.cache.view(cacheNotes) : deps.client, caller);
    const signal = scope?.signal;
    let current: CodatApi | undefined = deps.cache ? undefined : client;
    return Promise.resolve({
      caller,
      client,
      get current() {
        return (current ??= scopeClient(deps.client, caller));
      },
      cursors: deps.cursors,
      downloads: deps.downloads,
      loaders: createLoaders(client, signal),
      log: scope?.log ?? QUIET,
      facts: scope?.facts ?? {},
      signal,
      pushWatcher: deps.pushWatcher,
      cacheNotes,
    });
  };
}
