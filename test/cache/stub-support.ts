/**
 * What the read cache's tests on a stub Codat share: the company and connection they use, a push operation in
 * Codat's shape, and a read cache over the stub with an in-process store and a clock the test moves.
 */
import { MemoryCacheStore } from "../../src/cache/memory-store.js";
import { ReadCache } from "../../src/cache/read-cache.js";
import type { CodatClient } from "../../src/codat/client.js";

export const COMPANY = "0b5f9c4e-1d2a-4e3b-8c7d-6e5f4a3b2c1d";
export const CONNECTION = "1c6a0d5f-2e3b-4f4c-9d8e-7f6a5b4c3d2e";
export const START = Date.parse("2026-12-01T09:00:00Z");

/** A customers push operation of COMPANY; `created`: the id its changes name as Created. */
export function pushOperation(key: string, status: string, data: object, created?: string) {
  return {
    pushOperationKey: key,
    companyId: COMPANY,
    dataConnectionKey: CONNECTION,
    dataType: "customers",
    status,
    statusCode: 200,
    requestedOnUtc: new Date(START).toISOString(),
    data,
    changes: created ? [{ type: "Created", recordRef: { id: created, dataType: "customers" } }] : [],
  };
}

/** A read cache over `client` (time bound `maxAgeMs`, soft age `revalidateAfterMs`), its clock at START. */
export function cacheOver(client: CodatClient, maxAgeMs: number, revalidateAfterMs: number) {
  let now = START;
  const store = new MemoryCacheStore({ maxBytes: 1_048_576, now: () => now });
  const cache = new ReadCache({
    client,
    store,
    config: { maxAgeMs, revalidateAfterMs, maxBytes: 1_048_576, fillLeaseMs: 1000, shadowRate: 0 },
    now: () => now,
  });
  return {
    cache,
    view: cache.view(),
    advance: (ms: number) => {
      now += ms;
    },
  };
}
