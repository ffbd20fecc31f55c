/**
 * What the Codat client tells the rest of the gateway about its calls: logs, metrics and traces are consumers
 * of these events (src/observability/). The client knows nothing of pino, prom-client or OpenTelemetry.
 *
 * Every label-like field is bounded: `route` is a template (`GET /companies/{companyId}/data/customers`), never
 * a URL with ids in it; company ids travel only in `companyId`, which consumers must not use as a metric label.
 */
export type CodatMethod = "GET" | "HEAD" | "POST" | "PUT";

export interface CodatCallInfo {
  method: CodatMethod;
  /** The route template: method and path with `{placeholders}` for every id. */
  route: string;
  companyId: string;
}

export interface CodatCallOutcome {
  /** The HTTP status of the last attempt; undefined when no answer came (timeout, network failure, abort). */
  status: number | undefined;
  /** Attempts made (1 when the first one settled it). */
  attempts: number;
  /** Wall time of the whole call, queueing, attempts and waits included. */
  durationMs: number;
  /** Codat's `correlationId` from an error answer, when it gave one. */
  correlationId?: string | undefined;
  /** The GraphQL error code the call failed with (UPSTREAM_TIMEOUT, RATE_LIMITED, …); undefined on success. */
  errorCode?: string | undefined;
  /** True when the caller aborted the call (a client went away): not an upstream fault. */
  aborted?: boolean | undefined;
}

export interface CodatObserver {
  /**
   * Wraps the whole call. Runs in the caller's async context, so a tracer can start a span here and make it the
   * active one for `run` (the transport's requests then become its children and carry its `traceparent`).
   * Must call `run` exactly once and return what it returns.
   */
  around?<T>(info: CodatCallInfo, run: () => Promise<T>): Promise<T>;
  /** Once per call, when it settled (for a streamed download: when its headers arrived or it failed). */
  ended?(info: CodatCallInfo, outcome: CodatCallOutcome): void;
  /** Before each retry's wait. */
  retried?(info: CodatCallInfo, retry: { retryNumber: number; delayMs: number; status: number | undefined }): void;
  /** Each time an attempt got its company slot: how long it queued for it and how many were still queued behind. */
  slotAcquired?(info: CodatCallInfo, waitMs: number, queued: number): void;
}
