/**
 * The per-request GraphQL context: the shared Codat client and cursor codec, and a fresh set of DataLoaders.
 */
import type { CodatClient } from "./codat/client.js";
import { createLoaders, type Loaders } from "./loaders/index.js";
import type { CursorCodec } from "./pagination/cursor.js";

export interface GatewayContext {
  client: CodatClient;
  cursors: CursorCodec;
  loaders: Loaders;
}

export interface ContextDependencies {
  client: CodatClient;
  cursors: CursorCodec;
}

export function createContextFactory(deps: ContextDependencies): () => Promise<GatewayContext> {
  return async () => ({ ...deps, loaders: createLoaders(deps.client) });
}
