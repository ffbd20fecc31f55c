/** The read cache (src/cache/): what Codat answered, kept until Codat says it changed or the time bound passes. */
import { z } from "zod";
import { describe, flag, integer, parseSection, ratio, type Env, type Section } from "./fields.js";

const cache = z.object({
  CACHE_ENABLED: describe(flag().default(true), {
    description: "`false` turns the read cache off: every read is a Codat call, and `freshness` is null.",
  }),
  CACHE_MAX_AGE_SECONDS: describe(integer(1, 86_400).default(900), {
    default: "`900` (15 min)",
    description:
      "The time bound: an entry not confirmed by Codat (a `dataStatus` call) for this long is not served, except stale when Codat fails.",
  }),
  CACHE_REVALIDATE_AFTER_SECONDS: describe(integer(1, 86_400).optional(), {
    default: "a third of `CACHE_MAX_AGE_SECONDS`",
    description:
      "The soft age: past it, one `GET /companies/{companyId}/dataStatus` call per company confirms (unchanged sync) or drops (new sync) the company's customer entries.",
  }),
  CACHE_MAX_BYTES: describe(integer(1_048_576, 17_179_869_184).default(67_108_864), {
    default: "`67108864` (64 MiB)",
    description: "The in-process store's memory bound (least recently used entries leave first). With `REDIS_URL` Redis holds the entries.",
  }),
  CACHE_FILL_LEASE_MS: describe(integer(50, 120_000).default(5_000), {
    default: "`5000`",
    description:
      "With `REDIS_URL`: how long one replica may hold the lease of a missing entry while it reads it from Codat; the others wait for it (at most this long) instead of calling Codat too.",
  }),
  CACHE_SHADOW_RATE: describe(ratio().default(0), {
    default: "`0`",
    description:
      "The share of cache hits re-read from Codat in the background to check them (0 to 1); mismatches are counted (`codat_gateway_cache_shadow_mismatches_total`). Each check costs a Codat call.",
  }),
});

export const cacheSections: Section[] = [
  {
    title: "Read cache",
    intro: "See [Caching and freshness](caching.md).",
    model: cache,
  },
];

export function parseCache(env: Env, problems: string[]) {
  const c = parseSection(cache, env, problems);
  const revalidateAfterSeconds = c.CACHE_REVALIDATE_AFTER_SECONDS ?? Math.max(1, Math.floor(c.CACHE_MAX_AGE_SECONDS / 3));
  if (revalidateAfterSeconds > c.CACHE_MAX_AGE_SECONDS) {
    problems.push(
      `CACHE_REVALIDATE_AFTER_SECONDS (${revalidateAfterSeconds}) must not be more than CACHE_MAX_AGE_SECONDS (${c.CACHE_MAX_AGE_SECONDS})`,
    );
  }
  return {
    /** The read cache (src/cache/); undefined with CACHE_ENABLED=false. */
    cache: c.CACHE_ENABLED
      ? {
          /** CACHE_MAX_AGE_SECONDS: the time bound, in ms. */
          maxAgeMs: c.CACHE_MAX_AGE_SECONDS * 1000,
          /** CACHE_REVALIDATE_AFTER_SECONDS: the soft age, in ms. */
          revalidateAfterMs: revalidateAfterSeconds * 1000,
          /** CACHE_MAX_BYTES: the in-process store's bound. */
          maxBytes: c.CACHE_MAX_BYTES,
          /** CACHE_FILL_LEASE_MS: the cross-replica fill lease. */
          fillLeaseMs: c.CACHE_FILL_LEASE_MS,
          /** CACHE_SHADOW_RATE: the share of hits checked against Codat. */
          shadowRate: c.CACHE_SHADOW_RATE,
        }
      : undefined,
  };
}

export type CacheConfig = NonNullable<ReturnType<typeof parseCache>["cache"]>;
