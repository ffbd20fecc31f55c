/**
 * The request pipeline under every endpoint of the client: one ky instance (the Basic credentials, the Accept
 * headers, HTTPError for an error status, NetworkError for a failed fetch) over an undici-backed `fetch`
 * (transport.ts), and per call a `CodatCall` (call.ts) that runs the attempts — one ky request each — within
 * its deadline, its company slot and its retry plan (retry.ts), the observers told about it (observers.ts).
 * Every failure leaves as a coded GraphQLError (errors.ts) and every JSON body is validated against its OpenAPI
 * schema (validate.ts) before it is returned.
 *
 * What is not ky's here, and why (CPU per call, measured in README "Benchmarks"): ky's `timeout` (a timer and a
 * composed signal per request; undici's headers and body timeouts bound each attempt instead), ky's `retry`
 * (it clones every Request in advance for a possible retry; the call runs the attempts and clones nothing), and
 * ky's `baseUrl` and `searchParams` (each builds the Request once more per call; the URL is built whole here).
 */
import { Buffer } from "node:buffer";
import ky, { HTTPError, type KyInstance, type Options } from "ky";
import { codatDefaults } from "../config/codat.js";
import { CodatCall, type RetryEvent, type Transport } from "./call.js";
import { malformedResponse, redactFromUpstreamText } from "./errors.js";
import { KeyedLimiter, type SlotLimiter } from "./limiter.js";
import type { CodatCallInfo, CodatCallOutcome, CodatMethod, CodatObserver } from "./observer.js";
import { CallObservers, failureUpstream } from "./observers.js";
import type { RequestBudget } from "./request-budget.js";
import type { RetryPolicy } from "./retry.js";
import { firstProblem, type ResponseValidator } from "./validate.js";

export interface CodatClientOptions {
  /** Codat's base URL; may carry a path prefix (`https://proxy.example/codat`). */
  baseUrl: string;
  /** Sent as `Authorization: Basic base64(apiKey)`; without it no Authorization header is sent. */
  apiKey?: string;
  /** Per attempt, default 10 000 ms. */
  attemptTimeoutMs?: number;
  /** Whole call including queueing, retries and waits, default 30 000 ms. */
  deadlineMs?: number;
  /** Longest gap between two chunks of a download's body before it fails (UPSTREAM_UNAVAILABLE), default 30 000 ms. */
  streamIdleTimeoutMs?: number;
  /**
   * Largest decoded JSON answer accepted, default 32 MiB (CODAT_MAX_RESPONSE_BYTES): beyond it the call fails
   * UPSTREAM_ERROR at once, not retried, with the rest of the body unread.
   */
  maxResponseBytes?: number;
  /** Retries after the first attempt, default 3. */
  retryLimit?: number;
  /** First backoff ceiling, default 250 ms; doubles per retry with full jitter, capped by retryMaxDelayMs. */
  retryInitialDelayMs?: number;
  /** Default 5 000 ms. */
  retryMaxDelayMs?: number;
  /** Longest `Retry-After` honoured, default 10 000 ms; a longer one fails at once with retryAfterSeconds. */
  maxRetryAfterMs?: number;
  /** Requests in flight per company, default 10 (Codat's limit; more are answered 429). */
  maxConcurrentPerCompany?: number;
  /** Of those, how many attachment downloads may hold at once (the rest stay for queries and writes); default 4. */
  maxDownloadsPerCompany?: number;
  /** Calls that may wait for a company's slots; beyond, RATE_LIMITED at once. Default 100. */
  maxQueuedPerCompany?: number;
  /** Downloads that may wait for their share of a company's slots; beyond, RATE_LIMITED at once. Default 10. */
  maxQueuedDownloadsPerCompany?: number;
  /** Longest wait for a company slot (per attempt, within the deadline) before RATE_LIMITED; default 10 000 ms. */
  maxQueueWaitMs?: number;
  /** Told about every retry before its wait: which retry, how long the call waits and what failed (metrics, logs, tests). */
  onRetry?: (event: RetryEvent) => void;
  /** Backoff jitter source in [0, 1); default Math.random (tests pin it). */
  random?: () => number;
  /** Told about every call (logs, metrics, traces: src/observability/). None: no clock read, nothing allocated. */
  observers?: readonly CodatObserver[];
  /**
   * The company slots' limiter, keyed by lower-cased company id; default a per-process KeyedLimiter built from
   * the options above (the gateway passes a Redis-shared one when REDIS_URL is set: shared-limiter.ts).
   */
  limiter?: SlotLimiter;
  /**
   * Codat's per-IP request budget (CODAT_REQUESTS_PER_MINUTE, request-budget.ts): every attempt takes one
   * request from it once it holds its company slot, just before it is sent. None: no budget.
   */
  budget?: RequestBudget;
}

/** One call to Codat, as an endpoint describes it. */
export interface RequestSpec {
  method: CodatMethod;
  /** The path's template, ids as `{placeholders}` (the observers' route, never a URL with ids in it). */
  route: string;
  companyId: string;
  /** Relative to the base URL, ids already validated (paths.ts). */
  path: string;
  searchParams?: Record<string, string | number | boolean | undefined> | undefined;
  headers?: Record<string, string> | undefined;
  json?: unknown;
  signal?: AbortSignal | undefined;
}

export class CodatPipeline {
  /** The company slots, keyed by `limiterKey(companyId)`. */
  readonly limiter: SlotLimiter;
  readonly #http: KyInstance;
  /** Codat's base URL with a trailing slash; endpoint paths are appended to it. */
  readonly #baseUrl: string;
  readonly #attemptTimeoutMs: number;
  readonly #streamIdleTimeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #policy: RetryPolicy;
  readonly #deadlineMs: number;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly #random: (() => number) | undefined;
  readonly #observers: CallObservers;
  readonly #maxQueueWaitMs: number;
  /** Codat's request budget, when there is one (the client's `budgetWaiting`). */
  readonly budget: RequestBudget | undefined;

  constructor(options: CodatClientOptions) {
    this.#observers = new CallObservers(options.observers ?? []);
    this.#onRetry = options.onRetry;
    this.#random = options.random;
    this.#attemptTimeoutMs = positiveInt(options.attemptTimeoutMs ?? codatDefaults.attemptTimeoutMs, "attemptTimeoutMs");
    this.#streamIdleTimeoutMs = positiveInt(options.streamIdleTimeoutMs ?? codatDefaults.streamIdleTimeoutMs, "streamIdleTimeoutMs");
    this.#maxResponseBytes = positiveInt(options.maxResponseBytes ?? codatDefaults.maxResponseBytes, "maxResponseBytes");
    this.#baseUrl = normalizeBaseUrl(options.baseUrl);
    this.#deadlineMs = positiveInt(options.deadlineMs ?? codatDefaults.deadlineMs, "deadlineMs");
    this.#policy = {
      limit: nonNegativeInt(options.retryLimit ?? 3, "retryLimit"),
      initialDelayMs: nonNegativeInt(options.retryInitialDelayMs ?? 250, "retryInitialDelayMs"),
      maxDelayMs: nonNegativeInt(options.retryMaxDelayMs ?? 5_000, "retryMaxDelayMs"),
      maxRetryAfterMs: nonNegativeInt(options.maxRetryAfterMs ?? 10_000, "maxRetryAfterMs"),
    };
    const maxConcurrent = positiveInt(options.maxConcurrentPerCompany ?? codatDefaults.maxConcurrentPerCompany, "maxConcurrentPerCompany");
    this.limiter =
      options.limiter ??
      new KeyedLimiter(maxConcurrent, {
        maxDownloadsPerKey: Math.min(
          maxConcurrent,
          positiveInt(options.maxDownloadsPerCompany ?? codatDefaults.maxDownloadsPerCompany, "maxDownloadsPerCompany"),
        ),
        maxQueuedPerKey: nonNegativeInt(options.maxQueuedPerCompany ?? codatDefaults.maxQueuedPerCompany, "maxQueuedPerCompany"),
        maxQueuedDownloadsPerKey: nonNegativeInt(
          options.maxQueuedDownloadsPerCompany ?? codatDefaults.maxQueuedDownloadsPerCompany,
          "maxQueuedDownloadsPerCompany",
        ),
      });
    this.#maxQueueWaitMs = positiveInt(options.maxQueueWaitMs ?? codatDefaults.maxQueueWaitMs, "maxQueueWaitMs");
    this.budget = options.budget;

    // Compressed answers: Codat pages can be large, and transport.ts decodes them.
    const headers: Record<string, string> = { accept: "application/json", "accept-encoding": "gzip, deflate, br" };
    if (options.apiKey) {
      const encoded = Buffer.from(options.apiKey, "utf8").toString("base64");
      redactFromUpstreamText(options.apiKey, encoded);
      headers["authorization"] = `Basic ${encoded}`;
    }
    this.#http = ky.create({
      headers,
      // Each attempt is bounded by undici's headers and body timeouts (transport.ts), and the call by its
      // deadline (call.ts): no timer of ky's.
      timeout: false,
      throwHttpErrors: true,
      // One attempt per ky request: #request runs the attempts, and which failures are retried, and after how
      // long, is decided per call by retry.ts (CodatCall.shouldRetry).
      retry: 0,
    });
  }

  /** A JSON answer, validated. */
  async json<T>(spec: RequestSpec, validator: ResponseValidator<T>): Promise<T> {
    return parseJson(await this.#send(spec, "json"), validator);
  }

  /** For lookups where "not there" is an answer (a 404 is null), not an error. */
  async jsonOrNull<T>(spec: RequestSpec, validator: ResponseValidator<T>): Promise<T | null> {
    const response = await this.#send(spec, "json", { nullOn404: true });
    return response === null ? null : parseJson(response, validator);
  }

  /** A streamed answer (downloads), resolved at its headers; its body holds the company slot until it is done. */
  stream(spec: RequestSpec): Promise<Response> {
    return this.#send(spec, "stream");
  }

  #send(spec: RequestSpec, transport: Transport): Promise<Response>;
  #send(spec: RequestSpec, transport: Transport, options: { nullOn404: true }): Promise<Response | null>;
  #send(spec: RequestSpec, transport: Transport, options: { nullOn404?: boolean } = {}): Promise<Response | null> {
    if (!this.#observers.any) return this.#request(spec, transport, options, undefined);
    const info: CodatCallInfo = { method: spec.method, route: `${spec.method} ${spec.route}`, companyId: spec.companyId };
    return this.#observers.around(info, () => this.#request(spec, transport, options, info));
  }

  async #request(
    spec: RequestSpec,
    transport: Transport,
    options: { nullOn404?: boolean },
    info: CodatCallInfo | undefined,
  ): Promise<Response | null> {
    // `info` is there when someone observes the calls; without it, no clock is read and nothing is allocated.
    const startedAt = info === undefined ? 0 : performance.now();
    const call = new CodatCall({
      method: spec.method,
      limiter: this.limiter,
      limiterKey: limiterKey(spec.companyId),
      policy: this.#policy,
      deadlineMs: this.#deadlineMs,
      attemptTimeoutMs: this.#attemptTimeoutMs,
      streamIdleTimeoutMs: this.#streamIdleTimeoutMs,
      maxResponseBytes: this.#maxResponseBytes,
      transport,
      signal: spec.signal,
      onRetry: info === undefined ? this.#onRetry : this.#observers.retryReporter(this.#onRetry, info),
      random: this.#random,
      maxQueueWaitMs: this.#maxQueueWaitMs,
      budget: this.budget,
      onSlot: info === undefined ? undefined : this.#observers.slotReporter(info),
    });
    try {
      const request: Options = { ...call.kyOptions(), method: spec.method };
      if (spec.headers) request.headers = spec.headers;
      if (spec.json !== undefined) request.json = spec.json;
      // An absolute URL with its query already in it: ky's baseUrl and searchParams would each build the
      // Request a second time, per call.
      const url = `${this.#baseUrl}${spec.path}${queryString(spec.searchParams)}`;
      let response: Response;
      for (let retryNumber = 1; ; retryNumber += 1) {
        try {
          response = await this.#http(url, request);
          break;
        } catch (error) {
          if (!(await call.shouldRetry(error, retryNumber))) throw error;
        }
      }
      if (info !== undefined) {
        this.#observers.ended(info, { status: response.status, attempts: call.attempts, durationMs: performance.now() - startedAt });
      }
      return response;
    } catch (error) {
      if (options.nullOn404 && error instanceof HTTPError && error.response.status === 404) {
        if (info !== undefined) {
          this.#observers.ended(info, { status: 404, attempts: call.attempts, durationMs: performance.now() - startedAt });
        }
        return null;
      }
      const failure = call.failure(error);
      if (info !== undefined) {
        const upstream = failureUpstream(failure);
        const outcome: CodatCallOutcome = {
          status: call.lastStatus,
          attempts: call.attempts,
          durationMs: performance.now() - startedAt,
          errorCode: upstream.code,
        };
        if (upstream.correlationId !== undefined) outcome.correlationId = upstream.correlationId;
        if (spec.signal?.aborted) outcome.aborted = true;
        this.#observers.ended(info, outcome);
      }
      throw failure;
    } finally {
      call.finish();
    }
  }
}

/** Reads a fully buffered JSON answer; anything unparsable or of the wrong shape is UPSTREAM_ERROR, never retried. */
async function parseJson<T>(response: Response, validator: ResponseValidator<T>): Promise<T> {
  let value: unknown;
  try {
    value = JSON.parse(await response.text());
  } catch {
    throw malformedResponse(response.status);
  }
  if (!validator(value)) throw malformedResponse(response.status, firstProblem(validator));
  return value;
}

/** `?a=1&b=2` for the defined values (as URLSearchParams encodes them), or "" when there are none. */
function queryString(params: RequestSpec["searchParams"]): string {
  if (params === undefined) return "";
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.append(name, String(value));
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

/** Company ids are UUIDs and Codat treats them case-insensitively, so the limit is per lower-cased id. */
export function limiterKey(companyId: string): string {
  return companyId.toLowerCase();
}

/**
 * A base URL with a trailing slash, so relative endpoint paths extend its path prefix instead of replacing the
 * last segment. Errors name the option, never the value (it may embed credentials).
 */
function normalizeBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError("CodatClient: baseUrl must be an absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError("CodatClient: baseUrl must use http or https");
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new TypeError("CodatClient: baseUrl must not carry credentials, a query or a fragment");
  }
  if (!url.pathname.endsWith("/")) url.pathname = `${url.pathname}/`;
  return url.href;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    throw new RangeError(`CodatClient: ${name} must be a positive integer of milliseconds or a count`);
  }
  return value;
}

function nonNegativeInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 2_147_483_647) {
    throw new RangeError(`CodatClient: ${name} must be a non-negative integer`);
  }
  return value;
}
