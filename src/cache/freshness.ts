/**
 * What a read served by the cache says about itself: the `freshness` of `Customer` and `CustomerConnection`
 * (schema/freshness.graphql), `pendingSync` of a customer written through the gateway that Codat has not synced
 * yet, and the request's notes behind `extensions.cache` (a stale serve). Properties only this module knows, set on
 * the objects the cache hands out (fresh copies per request), so the models' types stay Codat's.
 */

export interface Freshness {
  /** When the gateway read this from Codat (ISO 8601). */
  servedAt: string;
  /** Seconds since then, when it was served. */
  ageSeconds: number;
  /** Served past the time bound because Codat could not answer (see CacheNotes). */
  stale: boolean;
}

const FRESHNESS = Symbol("gateway.freshness");
const PENDING_SYNC = Symbol("gateway.pendingSync");

type Marked = { [FRESHNESS]?: Freshness; [PENDING_SYNC]?: boolean };

export function setFreshness(value: object, freshness: Freshness): void {
  Object.defineProperty(value, FRESHNESS, { value: freshness, configurable: true, writable: true });
}

export function freshnessOf(value: object): Freshness | null {
  return (value as Marked)[FRESHNESS] ?? null;
}

export function setPendingSync(value: object): void {
  Object.defineProperty(value, PENDING_SYNC, { value: true, configurable: true, writable: true });
}

export function pendingSyncOf(value: object): boolean {
  return (value as Marked)[PENDING_SYNC] === true;
}

/** The least fresh of several (a list built from more than one page): the oldest, stale if any is. */
export function leastFresh(values: readonly (Freshness | null)[]): Freshness | null {
  const known = values.filter((value): value is Freshness => value !== null);
  if (known.length === 0) return null;
  const oldest = known.reduce((a, b) => (b.ageSeconds > a.ageSeconds ? b : a));
  return { ...oldest, stale: known.some((value) => value.stale) };
}

/** Why an expired entry was served: Codat (or the gateway's own limits) could not answer. */
export type StaleReason = "rate_limited" | "upstream_unavailable" | "upstream_timeout" | "upstream_error";

/** One request's stale serves, for `extensions.cache` (cache/plugin.ts). */
export class CacheNotes {
  #stale: { ageSeconds: number; reason: StaleReason } | undefined;

  staleServed(ageSeconds: number, reason: StaleReason): void {
    if (this.#stale === undefined || ageSeconds > this.#stale.ageSeconds) this.#stale = { ageSeconds, reason };
  }

  /** `extensions.cache` of the response: the oldest stale serve, or undefined when none was stale. */
  extension(): { ageSeconds: number; stale: true; reason: StaleReason } | undefined {
    return this.#stale === undefined ? undefined : { ...this.#stale, stale: true };
  }
}
