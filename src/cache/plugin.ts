/**
 * `extensions.cache` of a response: `{ ageSeconds, stale: true, reason }` when the read cache served any field of
 * the operation past its time bound because Codat could not answer (the oldest such serve). Fresh answers carry
 * nothing here; their age is in the schema's `freshness`.
 */
import type { ApolloServerPlugin } from "@apollo/server";
import type { CacheNotes } from "./freshness.js";

export function cacheExtensionsPlugin<C extends { cacheNotes?: CacheNotes | undefined }>(): ApolloServerPlugin<C> {
  return {
    requestDidStart: () =>
      Promise.resolve({
        willSendResponse: ({ response, contextValue }) => {
          const cache = contextValue.cacheNotes?.extension();
          if (cache === undefined || response.body.kind !== "single") return Promise.resolve();
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, cache };
          return Promise.resolve();
        },
      }),
  };
}
