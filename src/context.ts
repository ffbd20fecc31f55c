/**
 * The per-request GraphQL context: the shared Codat client, cursor codec and download-link signer, and a fresh
 * set of DataLoaders.
 */
import type { CodatClient } from "./codat/client.js";
import type { DownloadLinks } from "./downloads/links.js";
import { createLoaders, type Loaders } from "./loaders/index.js";
import type { CursorCodec } from "./pagination/cursor.js";

export interface GatewayContext {
  client: CodatClient;
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

export function createContextFactory(deps: ContextDependencies): () => Promise<GatewayContext> {
  return async () => ({ ...deps, loaders: createLoaders(deps.client) });
}
