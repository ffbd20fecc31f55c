/**
 * Prometheus metrics (prom-client) for GET /metrics: GraphQL operations, Codat calls (duration, retries, 429s,
 * the per-company limiter), attachment downloads, and the process.
 *
 * Every label is bounded, so a scrape stays the same size however many companies, customers or clients the
 * gateway serves: Codat calls are labelled by route template (`GET /companies/{companyId}/data/customers`,
 * never a URL, never a company id) and status class; operations by name, and as clients choose those names,
 * only the first OPERATION_NAME_LIMIT distinct ones get a label of their own (then `(other)`).
 *
 * Each gateway has its own registry (never prom-client's global one: a test process builds many gateways).
 */
import type { ApolloServerPlugin } from "@apollo/server";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CodatCallOutcome, CodatObserver } from "../codat/observer.js";
import type { GatewayContext } from "../context.js";
import { DOWNLOAD_FAILURE_REASONS, type DownloadMetrics } from "../downloads/outcomes.js";
import { WEBHOOK_OUTCOMES, type WebhookMetrics } from "../webhooks/outcomes.js";
import { operationLabel } from "./operation-logging.js";

/** Distinct operation names labelled as themselves; later ones are counted as OTHER_OPERATION. */
export const OPERATION_NAME_LIMIT = 100;
export const OTHER_OPERATION = "(other)";

const PREFIX = "codat_gateway_";
/** Seconds; the top buckets reach the default Codat deadline (30 s). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SLOT_WAIT_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30];

export interface MetricsOptions {
  /**
   * The Codat client's company slots, read at each scrape. A function, because the client is built after the
   * metrics (their observer is one of its observers).
   */
  codatSlots: () => { inFlight: number; queued: number };
  /** Default OPERATION_NAME_LIMIT. */
  operationNameLimit?: number;
  /** With REDIS_URL: whether the company slots run on the local fallback cap (Redis unreachable). */
  redisFallback?: () => boolean;
  /** With REDIS_URL: the hub's health state (up as last reported) and the outages it reported so far. */
  redisHealth?: () => { up: boolean; outages: number };
  /** Push status subscriptions: WebSocket connections open, operations watched, poll loops running. */
  pushStatus?: () => { connections: number; watches: number; pollLoops: number };
}

export interface GatewayMetrics {
  /** This gateway's metrics and the process's; also the endpoint the HTTP layer serves (contentType, metrics()). */
  readonly registry: Registry;
  readonly codatObserver: CodatObserver;
  readonly apolloPlugin: ApolloServerPlugin<GatewayContext>;
  readonly downloads: DownloadMetrics;
  /** Codat's webhooks in (webhooks/route.ts), by outcome. */
  readonly webhooks: WebhookMetrics;
}

export function createMetrics(options: MetricsOptions): GatewayMetrics {
  const own = new Registry();
  const registers = [own];

  const operationDuration = new Histogram({
    name: `${PREFIX}graphql_operation_duration_seconds`,
    help: "GraphQL operations, from request to response: success, error (executed with errors) or rejected (refused before execution: parse, validation, limits).",
    labelNames: ["operation", "outcome"],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const codatDuration = new Histogram({
    name: `${PREFIX}codat_request_duration_seconds`,
    help: "Codat calls, queueing, attempts and retry waits included, by route template and the class of the answer they ended with (none: no answer; aborted: the client went away).",
    labelNames: ["route", "status_class"],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: `${PREFIX}codat_retries_total`,
    help: "Codat attempts retried, by route template.",
    labelNames: ["route"],
    registers,
  });
  const rateLimited = new Counter({
    name: `${PREFIX}codat_rate_limited_total`,
    help: "Codat attempts answered 429, retried or not, by route template.",
    labelNames: ["route"],
    registers,
  });
  const slotWait = new Histogram({
    name: `${PREFIX}codat_slot_wait_seconds`,
    help: "Time each Codat attempt queued for one of its company's concurrency slots.",
    buckets: SLOT_WAIT_BUCKETS,
    registers,
  });
  // Gauges read at scrape time from what they report on.
  const sampled = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name: `${PREFIX}${name}`,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  sampled("codat_limiter_queued", "Codat requests waiting for a company concurrency slot.", () => options.codatSlots().queued);
  sampled(
    "codat_limiter_in_flight",
    "Codat requests holding a company concurrency slot (open download streams included).",
    () => options.codatSlots().inFlight,
  );
  const pushStatus = options.pushStatus;
  if (pushStatus !== undefined) {
    sampled("ws_connections", "WebSocket (graphql-ws) connections open.", () => pushStatus().connections);
    sampled(
      "push_watches",
      "Push operations watched for subscribers (one per operation, however many subscribers).",
      () => pushStatus().watches,
    );
    sampled("push_poll_loops", "Of the watched push operations, those this replica polls Codat for.", () => pushStatus().pollLoops);
  }
  const redisFallback = options.redisFallback;
  if (redisFallback !== undefined) {
    sampled(
      "redis_fallback",
      "1 while Redis is unreachable and each replica limits a company to its local share of the slots (REDIS_EXPECTED_REPLICAS), else 0.",
      () => (redisFallback() ? 1 : 0),
    );
  }
  const redisHealth = options.redisHealth;
  if (redisHealth !== undefined) {
    sampled(
      "redis_up",
      "1 while this replica's Redis hub reports Redis up, 0 while it is down (the features run on their fallbacks).",
      () => (redisHealth().up ? 1 : 0),
    );
    new Counter({
      name: `${PREFIX}redis_outages_total`,
      help: "Redis outages this replica's hub reported (each one warn line: Redis down), startup included.",
      registers,
      collect() {
        this.reset();
        this.inc(redisHealth().outages);
      },
    });
  }
  const downloadsInFlight = new Gauge({
    name: `${PREFIX}downloads_in_flight`,
    help: "Attachment downloads being served (a verified link whose response has not ended).",
    registers,
  });
  const downloadBytes = new Counter({
    name: `${PREFIX}download_bytes_total`,
    help: "Attachment bytes handed to download clients' sockets.",
    registers,
  });
  const downloadFailures = new Counter({
    name: `${PREFIX}download_failures_total`,
    help: "Attachment downloads that did not deliver their last byte, by reason: upstream_idle (Codat sent nothing for CODAT_STREAM_IDLE_TIMEOUT_MS), upstream_error (Codat's body broke), client_idle (the client took nothing for DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS and was dropped), client_gone (the client went away). Codat's error answers before the bytes are not counted here.",
    labelNames: ["reason"],
    registers,
  });
  // Every reason is a series from the start, so a rate over it needs no first failure.
  for (const reason of DOWNLOAD_FAILURE_REASONS) downloadFailures.inc({ reason }, 0);

  const operationName = cappedLabel(options.operationNameLimit ?? OPERATION_NAME_LIMIT);

  const webhooks = new Counter({
    name: `${PREFIX}webhooks_total`,
    help: "Codat webhooks received, by outcome: accepted (a push operation signal), duplicate (a webhook-id already handled), ignored (another event type), bad_signature, stale (timestamp beyond 5 min), too_large, bad_body.",
    labelNames: ["outcome"],
    registers,
  });
  for (const outcome of WEBHOOK_OUTCOMES) webhooks.inc({ outcome }, 0);

  return {
    registry: Registry.merge([processRegistry(), own]),
    codatObserver: {
      ended(info, outcome) {
        const status = finalStatus(outcome);
        const statusClass = outcome.aborted === true ? "aborted" : status === undefined ? "none" : `${Math.floor(status / 100)}xx`;
        codatDuration.observe({ route: info.route, status_class: statusClass }, outcome.durationMs / 1000);
        // The retried 429s were counted as they happened; this is one that ended the call.
        if (status === 429) rateLimited.inc({ route: info.route });
      },
      retried(info, retry) {
        retries.inc({ route: info.route });
        if (retry.status === 429) rateLimited.inc({ route: info.route });
      },
      slotAcquired(_info, waitMs) {
        slotWait.observe(waitMs / 1000);
      },
    },
    apolloPlugin: {
      async requestDidStart() {
        const startedAt = performance.now();
        let executed = false;
        let failed = false;
        return {
          async executionDidStart() {
            executed = true;
          },
          async didEncounterErrors() {
            failed = true;
          },
          async willSendResponse({ operationName: resolved, request }) {
            // Resolved from the document once it validated; until then, only the request's own field names it.
            const label = operationName(operationLabel(resolved === undefined ? request.operationName : resolved));
            const outcome = !failed ? "success" : executed ? "error" : "rejected";
            operationDuration.observe({ operation: label, outcome }, (performance.now() - startedAt) / 1000);
          },
        };
      },
    },
    webhooks: { counted: (outcome) => webhooks.inc({ outcome }) },
    downloads: {
      started: () => downloadsInFlight.inc(),
      bytes: (count) => downloadBytes.inc(count),
      ended: () => downloadsInFlight.dec(),
      failed: (reason) => downloadFailures.inc({ reason }),
    },
  };
}

/** The status of the attempt that ended the call (none for a timeout, a network failure or an abandoned call). */
function finalStatus(outcome: CodatCallOutcome): number | undefined {
  return outcome.aborted === true ? undefined : outcome.status;
}

/**
 * Client-chosen names as labels, bounded: the first `limit` distinct names keep their own, later ones share
 * OTHER_OPERATION. The reserved `(…)` labels of operationLabel never take a place.
 */
function cappedLabel(limit: number): (label: string) => string {
  const seen = new Set<string>();
  return (label) => {
    if (label.startsWith("(") || seen.has(label)) return label;
    if (seen.size >= limit) return OTHER_OPERATION;
    seen.add(label);
    return label;
  };
}

let processMetrics: Registry | undefined;

/**
 * Process metrics (CPU, memory, event loop, GC, handles), collected once per process however many gateways it
 * runs: they describe the process, and collectDefaultMetrics starts an event-loop monitor and a GC observer
 * that cannot be stopped, so one set per gateway would pile up. Their own registry, merged into each gateway's.
 */
function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}
