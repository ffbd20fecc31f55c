/**
 * The read cache's metrics (src/cache/), on the gateway's registry: hits, misses, stale serves, Codat calls saved,
 * invalidations and their lag (now − the webhook's generatedDate), syncs' deltas, `dataStatus` checks, shadow checks, and the
 * store's entries and bytes. Labels are bounded: the read kind (six), the stale reason (four), the signal (seven), the delta's outcome (three).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { CacheMetricsSink } from "../cache/read-cache.js";

const PREFIX = "codat_gateway_cache_";
const LAG_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
const AGE_BUCKETS = [1, 10, 60, 300, 900, 1800, 3600];

export function createCacheMetrics(registry: Registry, size: () => { entries: number; bytes: number }): CacheMetricsSink {
  const registers = [registry];
  const hits = new Counter({
    name: `${PREFIX}hits_total`,
    help: "Reads answered from the read cache, by read.",
    labelNames: ["read"],
    registers,
  });
  const misses = new Counter({
    name: `${PREFIX}misses_total`,
    help: "Reads the read cache did not have, by read.",
    labelNames: ["read"],
    registers,
  });
  const stale = new Counter({
    name: `${PREFIX}stale_serves_total`,
    help: "Expired entries served because Codat or the gateway's limits refused the read, by read and reason.",
    labelNames: ["read", "reason"],
    registers,
  });
  const staleAge = new Histogram({
    name: `${PREFIX}stale_age_seconds`,
    help: "The age of the entries served stale.",
    buckets: AGE_BUCKETS,
    registers,
  });
  const saved = new Counter({
    name: `${PREFIX}codat_calls_saved_total`,
    help: "Codat calls not made: hits, and misses that waited for another request's (or replica's) call, by read.",
    labelNames: ["read"],
    registers,
  });
  const invalidations = new Counter({
    name: `${PREFIX}invalidations_total`,
    help: "Invalidations of a company's entries, by signal (read.completed, write.successful, connection, company.deleted, gateway.write, data_status, hold_expired).",
    labelNames: ["signal"],
    registers,
  });
  const lag = new Histogram({
    name: `${PREFIX}invalidation_lag_seconds`,
    help: "From a webhook's generatedDate to the invalidation it caused.",
    buckets: LAG_BUCKETS,
    registers,
  });
  const revalidations = new Counter({
    name: `${PREFIX}revalidations_total`,
    help: "dataStatus checks past the soft age: confirmed (no new sync), changed (invalidated), failed.",
    labelNames: ["outcome"],
    registers,
  });
  const deltas = new Counter({
    name: `${PREFIX}sync_deltas_total`,
    help: "Syncs of a company's customers: named (the customers Codat changed were read, just theirs dropped), too_many or failed (every customer entry of the company dropped).",
    labelNames: ["outcome"],
    registers,
  });
  const shadowChecks = new Counter({
    name: `${PREFIX}shadow_checks_total`,
    help: "Hits re-read from Codat (CACHE_SHADOW_RATE).",
    registers,
  });
  const shadowMismatches = new Counter({
    name: `${PREFIX}shadow_mismatches_total`,
    help: "Shadow checks whose Codat answer differed from the entry served.",
    registers,
  });
  new Gauge({
    name: `${PREFIX}entries`,
    help: "Entries in the store (in process: exactly; with Redis: those this replica wrote).",
    registers,
    collect() {
      this.set(size().entries);
    },
  });
  new Gauge({
    name: `${PREFIX}bytes`,
    help: "The entries' size in the store (in process: its LRU's reckoning; with Redis: what this replica wrote).",
    registers,
    collect() {
      this.set(size().bytes);
    },
  });
  shadowMismatches.inc(0);
  return {
    hit: (read) => hits.inc({ read }),
    miss: (read) => misses.inc({ read }),
    stale: (read, reason, ageSeconds) => {
      stale.inc({ read, reason });
      staleAge.observe(ageSeconds);
    },
    saved: (read) => saved.inc({ read }),
    invalidated: (signal, lagSeconds) => {
      invalidations.inc({ signal });
      if (lagSeconds !== undefined) lag.observe(lagSeconds);
    },
    revalidated: (outcome) => revalidations.inc({ outcome }),
    delta: (outcome) => deltas.inc({ outcome }),
    shadow: (match) => {
      shadowChecks.inc();
      if (!match) shadowMismatches.inc();
    },
  };
}
