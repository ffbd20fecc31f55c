/** Codat, or the embedded simulator: where the gateway calls, with what key, and the bounds of every call. */
import { z } from "zod";
import { defaultsOf, describe, flag, httpUrl, integer, parseSection, read, type Env, type Section } from "./fields.js";

const DEFAULT_CODAT_BASE_URL = "https://api.codat.io";

const upstream = z.object({
  CODAT_API_KEY: describe(
    z
      .string()
      .refine((key) => !/^basic\s/i.test(key), {
        error:
          'must be the API key itself, not an Authorization header value: remove the "Basic " prefix and the base64 encoding (the gateway encodes the key)',
      })
      .optional(),
    {
      description:
        "Codat API key; sent upstream as `Authorization: Basic base64(key)` (give the key itself, not a `Basic …` header value). Never logged, never returned.",
    },
  ),
  CODAT_BASE_URL: describe(httpUrl().optional(), {
    default: `\`${DEFAULT_CODAT_BASE_URL}\` when \`CODAT_API_KEY\` is set; otherwise the embedded simulator`,
    description: "Upstream base URL.",
  }),
  CODAT_SIMULATOR: describe(flag().default(false), {
    default: "unset",
    description:
      "`true` serves the embedded simulator even with `NODE_ENV=production` (cannot be combined with `CODAT_API_KEY`/`CODAT_BASE_URL`).",
  }),
  SIMULATOR_LATENCY_MS: describe(integer(0, 60_000).default(0), {
    description: "Artificial latency of the embedded simulator (demos and benchmarks).",
  }),
});

const calls = z.object({
  CODAT_TIMEOUT_MS: describe(integer(100, 600_000).default(10_000), { description: "Timeout of one upstream attempt." }),
  CODAT_DEADLINE_MS: describe(integer(100, 3_600_000).default(30_000), {
    description: "Overall deadline of one upstream call, retries and waits included.",
  }),
  CODAT_MAX_CONCURRENCY_PER_COMPANY: describe(integer(1, 100).default(10), {
    description: "Upstream requests in flight per company (Codat allows 10).",
  }),
  CODAT_DOWNLOAD_SLOTS_PER_COMPANY: describe(integer(1, 100).default(4), {
    description: "Of a company's slots, how many attachment downloads may hold at once; queries and writes always keep the rest.",
  }),
  CODAT_MAX_QUEUE_PER_COMPANY: describe(integer(0, 100_000).default(5_000), {
    description:
      "Hard cap (memory) on the calls that may wait for a company's slots; one more is refused at once with `RATE_LIMITED`. Below it a call waits unless it foreseeably cannot start within its wait limit (then `RATE_LIMITED` at once, `retryAfterSeconds` from the estimate).",
  }),
  CODAT_DOWNLOAD_QUEUE_PER_COMPANY: describe(integer(0, 10_000).default(10), {
    description: "Downloads that may wait for their share of the slots; one more is answered 429 with `Retry-After: 1`.",
  }),
  CODAT_QUEUE_TIMEOUT_MS: describe(integer(1, 3_600_000).default(10_000), {
    description: "Longest wait for a company slot (within `CODAT_DEADLINE_MS`) before `RATE_LIMITED`; nothing was sent to Codat.",
  }),
  CODAT_REQUESTS_PER_MINUTE: describe(integer(0, 1_000_000).optional(), {
    default: "`1000` with `CODAT_API_KEY`, else `0`",
    description:
      "Codat's per-IP request budget: attempts per minute from this gateway (all replicas with `REDIS_URL`), shared fairly between the companies that want it (a token bucket with a round robin, see operations.md); a call waits up to `CODAT_QUEUE_TIMEOUT_MS` for its turn, else `RATE_LIMITED` with `retryAfterSeconds`. `0` = off.",
  }),
  CODAT_BUDGET_MAX_WAITING: describe(integer(1, 1_000_000).default(10_000), {
    description:
      "Hard cap (memory) on the calls waiting for their turn in the request budget, all companies together; one more is refused at once with `RATE_LIMITED`.",
  }),
  CODAT_STREAM_IDLE_TIMEOUT_MS: describe(integer(100, 600_000).default(30_000), {
    description:
      "A download whose Codat body sends nothing for this long fails: the client's connection is cut mid-body (a failed download, never a short file), the slot freed.",
  }),
  CODAT_MAX_RESPONSE_BYTES: describe(integer(1024, 1024 ** 3).default(32 * 1024 * 1024), {
    default: "`33554432` (32 MiB)",
    description:
      "Largest Codat JSON answer accepted, counted as it is decoded (a small gzip body that inflates to gigabytes stops here): beyond it the call fails `UPSTREAM_ERROR`, not retried, and one warn line is logged. Downloads are not JSON and have no such cap.",
  }),
  READY_CHECK_UPSTREAM: describe(flag().optional(), {
    default: "`true` when `CODAT_API_KEY` is set",
    description: "`true`: `/readyz` answers 503 until Codat has accepted the credentials once (one cheap call at startup).",
  }),
  READY_CHECK_INTERVAL_SECONDS: describe(integer(1, 3600).default(30), {
    description: "After a refusal, at most one more check per this many seconds (only while `/readyz` is asked).",
  }),
});

export const codatSections: Section[] = [
  {
    title: "Upstream: Codat or the embedded simulator",
    intro:
      "With neither `CODAT_API_KEY` nor `CODAT_BASE_URL`, the embedded simulator starts in the same process. With `CODAT_BASE_URL` and no key, the gateway calls that URL with no `Authorization` header.",
    model: upstream,
  },
  {
    title: "Codat calls: timeouts, concurrency, budget, readiness",
    intro: "See [Fairness and bounded waits](operations.md#fairness-and-bounded-waits).",
    model: calls,
  },
];

const callDefaults = defaultsOf(calls);
/** The defaults the Codat client falls back on when built without a configuration (tests), by its options' names. */
export const codatDefaults = {
  attemptTimeoutMs: callDefaults.CODAT_TIMEOUT_MS,
  streamIdleTimeoutMs: callDefaults.CODAT_STREAM_IDLE_TIMEOUT_MS,
  maxResponseBytes: callDefaults.CODAT_MAX_RESPONSE_BYTES,
  deadlineMs: callDefaults.CODAT_DEADLINE_MS,
  maxConcurrentPerCompany: callDefaults.CODAT_MAX_CONCURRENCY_PER_COMPANY,
  maxDownloadsPerCompany: callDefaults.CODAT_DOWNLOAD_SLOTS_PER_COMPANY,
  maxQueuedPerCompany: callDefaults.CODAT_MAX_QUEUE_PER_COMPANY,
  maxQueuedDownloadsPerCompany: callDefaults.CODAT_DOWNLOAD_QUEUE_PER_COMPANY,
  maxQueueWaitMs: callDefaults.CODAT_QUEUE_TIMEOUT_MS,
};

export function parseCodat(env: Env, problems: string[], http: { production: boolean }) {
  const u = parseSection(upstream, env, problems);
  const c = parseSection(calls, env, problems);
  // A key the gateway refused is still a key: the rules below go by what was set.
  const apiKeySet = read(env, "CODAT_API_KEY") !== undefined;
  const noUpstream = !apiKeySet && read(env, "CODAT_BASE_URL") === undefined;
  if (u.CODAT_SIMULATOR && !noUpstream) problems.push("CODAT_SIMULATOR=true cannot be combined with CODAT_API_KEY or CODAT_BASE_URL");
  if (http.production && noUpstream && !u.CODAT_SIMULATOR) {
    problems.push(
      "NODE_ENV=production needs CODAT_API_KEY (or CODAT_BASE_URL): refusing to serve the embedded simulator's demo data as if it were a real deploy; set CODAT_SIMULATOR=true to serve it on purpose",
    );
  }
  const codatApiKey = u.CODAT_API_KEY;
  return {
    /** Codat API key; sent upstream as `Authorization: Basic base64(key)`. Never logged. */
    codatApiKey,
    /** Upstream base URL, or undefined when the embedded simulator should be started and used. */
    codatBaseUrl: u.CODAT_BASE_URL ?? (apiKeySet ? DEFAULT_CODAT_BASE_URL : undefined),
    /** True when neither CODAT_API_KEY nor CODAT_BASE_URL is set: `npm start` runs the embedded simulator. */
    useSimulator: noUpstream,
    /** CODAT_SIMULATOR=true: serve the embedded simulator even with NODE_ENV=production. */
    simulatorRequested: u.CODAT_SIMULATOR,
    /** Artificial latency for the embedded simulator (benchmarks and demos). */
    simulatorLatencyMs: u.SIMULATOR_LATENCY_MS,
    codatAttemptTimeoutMs: c.CODAT_TIMEOUT_MS,
    codatDeadlineMs: c.CODAT_DEADLINE_MS,
    codatMaxConcurrencyPerCompany: c.CODAT_MAX_CONCURRENCY_PER_COMPANY,
    /** CODAT_STREAM_IDLE_TIMEOUT_MS: longest gap between two chunks of a download's body from Codat before it fails. */
    codatStreamIdleTimeoutMs: c.CODAT_STREAM_IDLE_TIMEOUT_MS,
    /** CODAT_MAX_RESPONSE_BYTES: largest decoded JSON answer accepted from Codat. */
    codatMaxResponseBytes: c.CODAT_MAX_RESPONSE_BYTES,
    /** Of those slots, how many attachment downloads may hold at once (CODAT_DOWNLOAD_SLOTS_PER_COMPANY). */
    codatDownloadSlotsPerCompany: c.CODAT_DOWNLOAD_SLOTS_PER_COMPANY,
    /** Calls that may wait for a company's slots before RATE_LIMITED (CODAT_MAX_QUEUE_PER_COMPANY). */
    codatMaxQueuePerCompany: c.CODAT_MAX_QUEUE_PER_COMPANY,
    /** Downloads that may wait for their share (CODAT_DOWNLOAD_QUEUE_PER_COMPANY); beyond, 429. */
    codatDownloadQueuePerCompany: c.CODAT_DOWNLOAD_QUEUE_PER_COMPANY,
    /** Longest wait for a company slot before RATE_LIMITED (CODAT_QUEUE_TIMEOUT_MS). */
    codatQueueTimeoutMs: c.CODAT_QUEUE_TIMEOUT_MS,
    /**
     * Codat's per-IP request budget (CODAT_REQUESTS_PER_MINUTE): requests per minute from this gateway (all its
     * replicas with REDIS_URL). Default 1 000 (Codat's limit) with CODAT_API_KEY set, else 0 (off: the simulator
     * has no such limit). 0 turns it off.
     */
    codatRequestsPerMinute: c.CODAT_REQUESTS_PER_MINUTE ?? (apiKeySet ? 1_000 : 0),
    /** Calls that may wait for the request budget, all companies together (CODAT_BUDGET_MAX_WAITING). */
    codatBudgetMaxWaiting: c.CODAT_BUDGET_MAX_WAITING,
    /**
     * READY_CHECK_UPSTREAM: check Codat's acceptance of the credentials at startup (and at most once per
     * READY_CHECK_INTERVAL_SECONDS after a refusal) before /readyz says ready. Default on when a real key is set.
     */
    readyCheckUpstream: c.READY_CHECK_UPSTREAM ?? apiKeySet,
    readyCheckIntervalSeconds: c.READY_CHECK_INTERVAL_SECONDS,
  };
}
