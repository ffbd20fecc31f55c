/**
 * The gateway's only way to Codat. One ky instance carries the base URL, the Basic credentials, the
 * per-attempt timeout and the retry limit; each call adds its deadline, its company slot and its retry plan
 * (see call.ts and retry.ts). Every id is validated before a URL is built (paths.ts), every failure leaves as a
 * coded GraphQLError (errors.ts), and every body is validated against its OpenAPI schema before it is returned
 * as a DTO (validate.ts).
 */
import { Buffer } from "node:buffer";
import type { Readable } from "node:stream";
import ky, { HTTPError, type KyInstance, type Options } from "ky";
import { badUserInput } from "../errors.js";
import { codatDefaults } from "../config/codat.js";
import { CodatCall, type RetryEvent, type Transport } from "./call.js";
import type { CodatCallInfo, CodatCallOutcome, CodatMethod, CodatObserver } from "./observer.js";
import { malformedResponse, redactFromUpstreamText } from "./errors.js";
import { KeyedLimiter, type SlotLimiter } from "./limiter.js";
import type { RequestBudget } from "./request-budget.js";
import { contentCodings, decodedBody, takeNodeBody, takeText } from "./transport.js";
import { opaqueSegment, uuidSegment } from "./paths.js";
import type { RetryPolicy } from "./retry.js";
import {
  firstProblem,
  validAttachment,
  validAttachments,
  validConnectionsPage,
  validCreateCustomerResponse,
  validCustomer,
  validCustomersPage,
  validPushOperation,
  validPushOperationsPage,
  validPushOption,
  validUpdateCustomerResponse,
  type ResponseValidator,
} from "./validate.js";
import type {
  CodatConnectionsPage,
  CodatAttachmentRecord,
  CodatAttachments,
  CodatCreateCustomerResponse,
  CodatCustomer,
  CodatCustomerRecord,
  CodatCustomersPage,
  CodatPushOperation,
  CodatPushOperationsPage,
  CodatPushOption,
  CodatUpdateCustomerResponse,
} from "./types.js";

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
   * request from it before its company slot. None: no budget.
   */
  budget?: RequestBudget;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface PageParams {
  /** 1-based. */
  page: number;
  /** 1..5000. */
  pageSize: number;
  /** Codat query language, passed through unchanged. */
  query?: string;
  /** One field, `-` prefix for descending. */
  orderBy?: string;
}

export interface CreateCustomerParams {
  /** Sent as `Idempotency-Key`; the same key on a retry makes Codat replay the first answer. */
  idempotencyKey: string;
  timeoutInMinutes?: number;
  allowSyncOnPushComplete?: boolean;
}

export interface UpdateCustomerParams {
  forceUpdate?: boolean;
  timeoutInMinutes?: number;
  allowSyncOnPushComplete?: boolean;
}

export interface DownloadOptions extends CallOptions {
  /** HEAD answers status and headers only (no slot is held afterwards). */
  method?: "GET" | "HEAD";
}

export interface AttachmentDownload {
  status: number;
  contentType?: string;
  contentLength?: number;
  /**
   * The bytes, streamed as Codat sends them (null for HEAD). The company slot stays taken until this stream is
   * read to the end, fails or is destroyed: a consumer that gives up must destroy it. A connection that breaks
   * mid-body fails it with a coded error (UPSTREAM_UNAVAILABLE); an abort through the call's signal fails it
   * with the signal's reason.
   */
  body: Readable | null;
}

const MAX_PAGE_SIZE = 5000;

interface RequestSpec {
  method: CodatMethod;
  /** The path's template, ids as `{placeholders}` (the observers' route, never a URL with ids in it). */
  route: string;
  companyId: string;
  path: string;
  searchParams?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  signal?: AbortSignal;
}

export class CodatClient {
  readonly #http: KyInstance;
  /** Codat's base URL with a trailing slash; endpoint paths are appended to it. */
  readonly #baseUrl: string;
  readonly #attemptTimeoutMs: number;
  readonly #streamIdleTimeoutMs: number;
  readonly #limiter: SlotLimiter;
  readonly #policy: RetryPolicy;
  readonly #deadlineMs: number;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly #random: (() => number) | undefined;
  readonly #observers: readonly CodatObserver[];
  /** The observers that wrap calls (a tracer's span), in order. */
  readonly #arounds: readonly CodatObserver[];
  readonly #maxQueueWaitMs: number;
  readonly #budget: RequestBudget | undefined;

  constructor(options: CodatClientOptions) {
    this.#observers = [...(options.observers ?? [])];
    this.#arounds = this.#observers.filter((observer) => observer.around !== undefined);
    this.#onRetry = options.onRetry;
    this.#random = options.random;
    this.#attemptTimeoutMs = positiveInt(options.attemptTimeoutMs ?? codatDefaults.attemptTimeoutMs, "attemptTimeoutMs");
    this.#streamIdleTimeoutMs = positiveInt(options.streamIdleTimeoutMs ?? codatDefaults.streamIdleTimeoutMs, "streamIdleTimeoutMs");
    this.#baseUrl = normalizeBaseUrl(options.baseUrl);
    this.#deadlineMs = positiveInt(options.deadlineMs ?? codatDefaults.deadlineMs, "deadlineMs");
    this.#policy = {
      limit: nonNegativeInt(options.retryLimit ?? 3, "retryLimit"),
      initialDelayMs: nonNegativeInt(options.retryInitialDelayMs ?? 250, "retryInitialDelayMs"),
      maxDelayMs: nonNegativeInt(options.retryMaxDelayMs ?? 5_000, "retryMaxDelayMs"),
      maxRetryAfterMs: nonNegativeInt(options.maxRetryAfterMs ?? 10_000, "maxRetryAfterMs"),
    };
    const maxConcurrent = positiveInt(options.maxConcurrentPerCompany ?? codatDefaults.maxConcurrentPerCompany, "maxConcurrentPerCompany");
    this.#limiter =
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
    this.#budget = options.budget;

    // Compressed answers: Codat pages can be large, and transport.ts decodes them.
    const headers: Record<string, string> = { accept: "application/json", "accept-encoding": "gzip, deflate, br" };
    if (options.apiKey) {
      const encoded = Buffer.from(options.apiKey, "utf8").toString("base64");
      redactFromUpstreamText(options.apiKey, encoded);
      headers["authorization"] = `Basic ${encoded}`;
    }
    this.#http = ky.create({
      headers,
      // The attempt timeout is enforced by the transport (undici's headers/body timeouts, no timer of ky's).
      timeout: false,
      throwHttpErrors: true,
      // One attempt per ky request: #request runs the attempts, and which failures are retried, and after how
      // long, is decided per call by retry.ts (CodatCall.shouldRetry).
      retry: 0,
    });
  }

  /** Requests currently in flight to Codat for a company (including open download streams). */
  inFlight(companyId: string): number {
    return this.#limiter.inFlight(limiterKey(companyId));
  }

  /** Attachment downloads holding one of the company's slots (at most maxDownloadsPerCompany). */
  downloadsInFlight(companyId: string): number {
    return this.#limiter.downloadsInFlight(limiterKey(companyId));
  }

  /** Requests waiting for one of the company's slots. */
  queued(companyId: string): number {
    return this.#limiter.queued(limiterKey(companyId));
  }

  /** Requests in flight to Codat, all companies together. */
  totalInFlight(): number {
    return this.#limiter.totalInFlight();
  }

  /** Requests waiting for a slot, all companies together. */
  totalQueued(): number {
    return this.#limiter.totalQueued();
  }

  /** GET /companies/{companyId}/data/customers */
  async listCustomers(companyId: string, params: PageParams, options: CallOptions = {}): Promise<CodatCustomersPage> {
    const path = `companies/${uuidSegment(companyId, "companyId")}/data/customers`;
    return this.#json(
      { method: "GET", route: ROUTES.customers, companyId, path, searchParams: pageQuery(params), ...options },
      validCustomersPage,
    );
  }

  /** GET /companies/{companyId}/data/customers/{customerId} — resolves null on 404 */
  async getCustomer(companyId: string, customerId: string, options: CallOptions = {}): Promise<CodatCustomerRecord | null> {
    const company = uuidSegment(companyId, "companyId");
    const path = `companies/${company}/data/customers/${opaqueSegment(customerId, "customerId")}`;
    return this.#jsonOrNull({ method: "GET", route: ROUTES.customer, companyId, path, ...options }, validCustomer);
  }

  /** GET /companies/{companyId}/push */
  async listPushOperations(companyId: string, params: PageParams, options: CallOptions = {}): Promise<CodatPushOperationsPage> {
    const path = `companies/${uuidSegment(companyId, "companyId")}/push`;
    return this.#json(
      { method: "GET", route: ROUTES.pushOperations, companyId, path, searchParams: pageQuery(params), ...options },
      validPushOperationsPage,
    );
  }

  /** GET /companies/{companyId}/push/{pushOperationKey} — resolves null on 404 */
  async getPushOperation(companyId: string, pushOperationKey: string, options: CallOptions = {}): Promise<CodatPushOperation | null> {
    const company = uuidSegment(companyId, "companyId");
    const path = `companies/${company}/push/${uuidSegment(pushOperationKey, "pushOperationKey")}`;
    return this.#jsonOrNull({ method: "GET", route: ROUTES.pushOperation, companyId, path, ...options }, validPushOperation);
  }

  /** GET /companies/{companyId}/connections (Platform API; paged like the data lists) */
  async listConnections(companyId: string, params: PageParams, options: CallOptions = {}): Promise<CodatConnectionsPage> {
    const path = `companies/${uuidSegment(companyId, "companyId")}/connections`;
    return this.#json(
      { method: "GET", route: ROUTES.connections, companyId, path, searchParams: pageQuery(params), ...options },
      validConnectionsPage,
    );
  }

  /** GET /companies/{companyId}/connections/{connectionId}/options/customers */
  async getCustomerCreateUpdateModel(companyId: string, connectionId: string, options: CallOptions = {}): Promise<CodatPushOption> {
    const path = `${connectionPath(companyId, connectionId)}/options/customers`;
    return this.#json({ method: "GET", route: ROUTES.customerOptions, companyId, path, ...options }, validPushOption);
  }

  /** POST /companies/{companyId}/connections/{connectionId}/push/customers */
  async createCustomer(
    companyId: string,
    connectionId: string,
    customer: CodatCustomer,
    params: CreateCustomerParams,
    options: CallOptions = {},
  ): Promise<CodatCreateCustomerResponse> {
    const path = `${connectionPath(companyId, connectionId)}/push/customers`;
    // Header values cannot carry controls or spaces; Codat expects a GUID, any visible ASCII token is passed on.
    if (typeof params.idempotencyKey !== "string" || !/^[\x21-\x7e]{1,255}$/.test(params.idempotencyKey)) {
      throw badUserInput("idempotencyKey must be 1 to 255 visible ASCII characters", "idempotencyKey");
    }
    const searchParams = {
      timeoutInMinutes: params.timeoutInMinutes,
      allowSyncOnPushComplete: params.allowSyncOnPushComplete,
    };
    const headers = { "idempotency-key": params.idempotencyKey };
    return this.#json(
      { method: "POST", route: ROUTES.pushCustomers, companyId, path, searchParams, headers, json: customer, ...options },
      validCreateCustomerResponse,
    );
  }

  /** PUT /companies/{companyId}/connections/{connectionId}/push/customers/{customerId} */
  async updateCustomer(
    companyId: string,
    connectionId: string,
    customerId: string,
    customer: CodatCustomer,
    params: UpdateCustomerParams = {},
    options: CallOptions = {},
  ): Promise<CodatUpdateCustomerResponse> {
    const path = `${connectionPath(companyId, connectionId)}/push/customers/${opaqueSegment(customerId, "customerId")}`;
    const searchParams = {
      forceUpdate: params.forceUpdate,
      timeoutInMinutes: params.timeoutInMinutes,
      allowSyncOnPushComplete: params.allowSyncOnPushComplete,
    };
    return this.#json(
      { method: "PUT", route: ROUTES.pushCustomer, companyId, path, searchParams, json: customer, ...options },
      validUpdateCustomerResponse,
    );
  }

  /** GET /companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments */
  async listCustomerAttachments(
    companyId: string,
    connectionId: string,
    customerId: string,
    options: CallOptions = {},
  ): Promise<CodatAttachments> {
    const path = attachmentsPath(companyId, connectionId, customerId);
    return this.#json({ method: "GET", route: ROUTES.attachments, companyId, path, ...options }, validAttachments);
  }

  /** GET .../connections/{connectionId}/data/customers/{customerId}/attachments/{attachmentId} — null on 404 */
  async getCustomerAttachment(
    companyId: string,
    connectionId: string,
    customerId: string,
    attachmentId: string,
    options: CallOptions = {},
  ): Promise<CodatAttachmentRecord | null> {
    const path = attachmentPath(companyId, connectionId, customerId, attachmentId);
    return this.#jsonOrNull({ method: "GET", route: ROUTES.attachment, companyId, path, ...options }, validAttachment);
  }

  /** GET (or HEAD) .../data/customers/{customerId}/attachments/{attachmentId}/download — streams the bytes */
  async downloadCustomerAttachment(
    companyId: string,
    connectionId: string,
    customerId: string,
    attachmentId: string,
    options: DownloadOptions = {},
  ): Promise<AttachmentDownload> {
    const path = `${attachmentPath(companyId, connectionId, customerId, attachmentId)}/download`;
    // Identity encoding: the bytes are passed on as they are, and Content-Length stays the length of what is read.
    const headers = { accept: "*/*", "accept-encoding": "identity" };
    const spec: RequestSpec = { method: options.method ?? "GET", route: ROUTES.download, companyId, path, headers };
    if (options.signal) spec.signal = options.signal;
    const response = await this.#send(spec, "stream");
    const download: AttachmentDownload = { status: response.status, body: null };
    const contentType = response.headers.get("content-type");
    if (contentType) download.contentType = contentType;
    const encodings = contentCodings(response.headers.get("content-encoding"));
    const contentLength = response.headers.get("content-length");
    // The length of an encoded body is that of the encoded bytes, not of what is passed on after decoding.
    if (contentLength && /^\d+$/.test(contentLength) && encodings.length === 0) download.contentLength = Number(contentLength);
    // The Node stream the transport kept beside the Response (none for HEAD or a body-less status).
    const raw = takeNodeBody(response);
    if (raw !== undefined) download.body = decodedBody(raw, encodings);
    return download;
  }

  async #json<T>(spec: RequestSpec, validator: ResponseValidator<T>): Promise<T> {
    return parseJson(await this.#send(spec, "json"), validator);
  }

  /** For lookups where "not there" is an answer, not an error. */
  async #jsonOrNull<T>(spec: RequestSpec, validator: ResponseValidator<T>): Promise<T | null> {
    const response = await this.#send(spec, "json", { nullOn404: true });
    return response === null ? null : parseJson(response, validator);
  }

  #send(spec: RequestSpec, transport: Transport): Promise<Response>;
  #send(spec: RequestSpec, transport: Transport, options: { nullOn404: true }): Promise<Response | null>;
  #send(spec: RequestSpec, transport: Transport, options: { nullOn404?: boolean } = {}): Promise<Response | null> {
    if (this.#observers.length === 0) return this.#request(spec, transport, options, undefined);
    const info: CodatCallInfo = { method: spec.method, route: `${spec.method} ${spec.route}`, companyId: spec.companyId };
    let run = (): Promise<Response | null> => this.#request(spec, transport, options, info);
    // The first observer's `around` is the outermost (a tracer's span then covers every other observer's work).
    for (let index = this.#arounds.length - 1; index >= 0; index -= 1) {
      const observer = this.#arounds[index];
      if (observer?.around === undefined) continue;
      const inner = run;
      run = () => observer.around?.(info, inner) ?? inner();
    }
    return run();
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
      limiter: this.#limiter,
      limiterKey: limiterKey(spec.companyId),
      policy: this.#policy,
      deadlineMs: this.#deadlineMs,
      attemptTimeoutMs: this.#attemptTimeoutMs,
      streamIdleTimeoutMs: this.#streamIdleTimeoutMs,
      transport,
      signal: spec.signal,
      onRetry: info === undefined ? this.#onRetry : retryReporter(this.#onRetry, this.#observers, info),
      random: this.#random,
      maxQueueWaitMs: this.#maxQueueWaitMs,
      budget: this.#budget,
      onSlot: info === undefined ? undefined : slotReporter(this.#observers, info),
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
        report(this.#observers, info, { status: response.status, attempts: call.attempts, durationMs: performance.now() - startedAt });
      }
      return response;
    } catch (error) {
      if (options.nullOn404 && error instanceof HTTPError && error.response.status === 404) {
        if (info !== undefined) {
          report(this.#observers, info, { status: 404, attempts: call.attempts, durationMs: performance.now() - startedAt });
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
        report(this.#observers, info, outcome);
      }
      throw failure;
    } finally {
      call.finish();
    }
  }
}

/** Codat's call templates (`{placeholders}` for ids), as the OpenAPI files name the paths. */
const ROUTES = {
  customers: "/companies/{companyId}/data/customers",
  customer: "/companies/{companyId}/data/customers/{customerId}",
  pushOperations: "/companies/{companyId}/push",
  pushOperation: "/companies/{companyId}/push/{pushOperationKey}",
  connections: "/companies/{companyId}/connections",
  customerOptions: "/companies/{companyId}/connections/{connectionId}/options/customers",
  pushCustomers: "/companies/{companyId}/connections/{connectionId}/push/customers",
  pushCustomer: "/companies/{companyId}/connections/{connectionId}/push/customers/{customerId}",
  attachments: "/companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments",
  attachment: "/companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments/{attachmentId}",
  download: "/companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments/{attachmentId}/download",
} as const;

/** An observer that throws must not fail the call it watches. */
function report(observers: readonly CodatObserver[], info: CodatCallInfo, outcome: CodatCallOutcome): void {
  for (const observer of observers) {
    try {
      observer.ended?.(info, outcome);
    } catch {
      // Observability never takes a request down with it.
    }
  }
}

function slotReporter(observers: readonly CodatObserver[], info: CodatCallInfo): (waitMs: number, queued: number) => void {
  return (waitMs, queued) => {
    for (const observer of observers) {
      try {
        observer.slotAcquired?.(info, waitMs, queued);
      } catch {
        // As in report().
      }
    }
  };
}

function retryReporter(
  onRetry: ((event: RetryEvent) => void) | undefined,
  observers: readonly CodatObserver[],
  info: CodatCallInfo,
): (event: RetryEvent) => void {
  return (event) => {
    onRetry?.(event);
    for (const observer of observers) {
      try {
        observer.retried?.(info, { retryNumber: event.retryNumber, delayMs: event.delayMs, status: event.status });
      } catch {
        // As in report().
      }
    }
  };
}

/** The code and Codat correlation id a failure carries (a GraphQLError from errors.ts, or the caller's abort reason). */
function failureUpstream(failure: unknown): { code: string; correlationId?: string } {
  const extensions = (failure as { extensions?: { code?: unknown; upstream?: { correlationId?: unknown } } } | null)?.extensions;
  const code = typeof extensions?.code === "string" ? extensions.code : failure instanceof Error ? failure.name : "Error";
  const correlationId = extensions?.upstream?.correlationId;
  return typeof correlationId === "string" ? { code, correlationId } : { code };
}

export type { RetryEvent } from "./call.js";
/** Reads a fully buffered JSON answer; anything unparsable or of the wrong shape is UPSTREAM_ERROR, never retried. */
async function parseJson<T>(response: Response, validator: ResponseValidator<T>): Promise<T> {
  let value: unknown;
  try {
    value = JSON.parse(takeText(response) ?? (await response.text()));
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

function connectionPath(companyId: string, connectionId: string): string {
  return `companies/${uuidSegment(companyId, "companyId")}/connections/${uuidSegment(connectionId, "connectionId")}`;
}

function attachmentsPath(companyId: string, connectionId: string, customerId: string): string {
  const customer = opaqueSegment(customerId, "customerId");
  return `${connectionPath(companyId, connectionId)}/data/customers/${customer}/attachments`;
}

function attachmentPath(companyId: string, connectionId: string, customerId: string, attachmentId: string): string {
  return `${attachmentsPath(companyId, connectionId, customerId)}/${opaqueSegment(attachmentId, "attachmentId")}`;
}

function pageQuery(params: PageParams): Record<string, string | number | undefined> {
  if (!Number.isInteger(params.page) || params.page < 1) {
    throw badUserInput("page must be an integer of at least 1", "page");
  }
  if (!Number.isInteger(params.pageSize) || params.pageSize < 1 || params.pageSize > MAX_PAGE_SIZE) {
    throw badUserInput(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`, "pageSize");
  }
  return { page: params.page, pageSize: params.pageSize, query: params.query, orderBy: params.orderBy };
}

/** Company ids are UUIDs and Codat treats them case-insensitively, so the limit is per lower-cased id. */
function limiterKey(companyId: string): string {
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
