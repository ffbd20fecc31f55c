/**
 * The per-request GraphQL context: who is calling, a Codat client scoped to the companies they may use, the
 * cursor codec and download-link signer, and a fresh set of DataLoaders built on the scoped client (so no
 * loader can reach a company the caller was not granted).
 */
import type { Caller } from "./auth/caller.js";
import { scopeClient, type CodatApi } from "./auth/scoped-client.js";
import type { CodatClient } from "./codat/client.js";
import type { DownloadLinks } from "./downloads/links.js";
import { createLoaders, type Loaders } from "./loaders/index.js";
import type { CursorCodec } from "./pagination/cursor.js";

export interface GatewayContext {
  caller: Caller;
  /** The Codat client, refusing companies outside `caller.companies`. */
  client: CodatApi;
  cursors: CursorCodec;
  /** Signs `Attachment.downloadUrl` links (absolute: it knows the public base URL). */
  downloads: DownloadLinks;
  loaders: Loaders;
}

export interface ContextDependencies {
  client: CodatClient;
  cursors: CursorCodec;
  downloads: DownloadLinks;
}

export function createContextFactory(deps: ContextDependencies): (caller: Caller) => Promise<GatewayContext> {
  return (caller) => {
    const client = scopeClient(deps.client, caller);
    return Promise.resolve({ caller, client, cursors: deps.cursors, downloads: deps.downloads, loaders: createLoaders(client) });
  };
}
