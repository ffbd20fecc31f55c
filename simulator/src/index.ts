/**
 * The embedded Codat simulator: a local, deterministic stand-in for Codat's customer REST APIs. `npm start`
 * runs it in-process when no credentials are configured; tests and benchmarks use it as the upstream.
 *
 * Extending it: write `registerXRoutes(router: Router)` in `routes/` (handlers get a `RequestContext` with the
 * store, params, query, `readBody()`, the clock and `schedule()`, and return a `SimResponse` or throw
 * `SimHttpError`), then add it to `createRouter()`. Auth, faults, rate limiting, idempotency keys, latency and
 * recording apply to every route automatically.
 */
import { realClock, type SimulatorClock } from "./clock.js";
import { createDemoStore } from "./data.js";
import type { Fault } from "./faults.js";
import type { DownloadRecord } from "./attachments.js";
import { registerAttachmentRoutes } from "./routes/attachments.js";
import { registerConnectionRoutes } from "./routes/connections.js";
import { registerCustomerRoutes } from "./routes/customers.js";
import { registerDataStatusRoutes } from "./routes/data-status.js";
import { registerPushRoutes } from "./routes/push.js";
import { DEFAULT_PUSH_DELAY_MS, Router, SimulatorState, createRequestListener, listen, type RecordedRequest } from "./server.js";
import type { CodatCustomer } from "./codat-types.js";
import type { CompanyData, SimulatorStore } from "./store.js";
import { SYNCED_DATA_TYPES, SyncTracker, type SyncRecord } from "./syncs.js";
import { WebhookSender, type SimulatorWebhookOptions, type WebhookDelivery } from "./webhooks.js";

export {
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  DEMO_CUSTOMER_COUNT,
  SECOND_COMPANY_ID,
  SECOND_CONNECTION_ID,
  SECOND_CUSTOMER_COUNT,
  EMPTY_COMPANY_ID,
  EMPTY_CONNECTION_ID,
  AWKWARD_CUSTOMER_ID,
  ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  LARGE_ATTACHMENT_SIZE,
  DEMO_PUSH_OPERATION_COUNT,
  createDemoStore,
  createScaleCompany,
  SCALE_COMPANY_ID,
} from "./data.js";
export type { Fault } from "./faults.js";
export { ManualClock, realClock, type SimulatorClock } from "./clock.js";
export type { RecordedRequest, RequestContext, RouteHandler, SimResponse } from "./server.js";
export { DEFAULT_PUSH_DELAY_MS, Router, SimulatorState, createRequestListener, json, jsonText } from "./server.js";
export { SimHttpError, errorMessage, newCorrelationId, type ValidationItem } from "./errors.js";
export {
  SimulatorStore,
  Dataset,
  PUSH_OPERATION_SCHEMA,
  type CompanyData,
  type AttachmentRecord,
  type CodatConnection,
  type PushOperationRecord,
} from "./store.js";
export {
  ATTACHMENT_CHUNK_SIZE,
  attachmentBytes,
  attachmentSha256,
  contentDisposition,
  type AttachmentStreamOptions,
  type DownloadRecord,
} from "./attachments.js";
export { IDEMPOTENCY_TTL_MS, IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAYED_HEADER, canonicalJson } from "./idempotency.js";
export {
  ADDRESS_TYPES,
  BODY_VALIDATOR,
  CUSTOMER_LIMITS,
  CUSTOMER_STATUSES,
  CUSTOMER_VALIDATOR,
  PHONE_TYPES,
  SOURCE_MODIFIED_VALIDATOR,
} from "./validation.js";
export { MAX_SYNC_RECORDS, SYNCED_DATA_TYPES, type DataTypeRead, type SyncRecord } from "./syncs.js";
export {
  DEFAULT_WEBHOOK_RETRY_DELAYS_MS,
  WEBHOOK_ANSWER_TIMEOUT_MS,
  readCompletedEvent,
  writeEvent,
  type SimulatorWebhookOptions,
  type WebhookDelivery,
} from "./webhooks.js";
export { CUSTOMER_PUSH_OPTIONS, DEFAULT_PUSH_OPTION_EXAMPLE, customerPushOption } from "./pushOptions.js";
export { compileQuery, compileOrderBy, QueryError, MAX_QUERY_LENGTH, type DatasetSchema, type FieldSchema } from "./query.js";

export interface SimulatorOptions {
  /** Interface to listen on; default "127.0.0.1". */
  host?: string;
  /** Port; default 0 (any free port). */
  port?: number;
  /** Artificial latency added to every response (benchmarks); default 0. */
  latencyMs?: number;
  /** In-flight requests allowed per company (Codat's limit is 10); beyond it: 429 + Retry-After. */
  maxConcurrentPerCompany?: number;
  /** When set, requests must carry `Authorization: Basic base64(apiKey)`, else 401 ErrorMessage. */
  apiKey?: string;
  /**
   * How long a push operation stays Pending before it completes; default `DEFAULT_PUSH_DELAY_MS` (300). With 0
   * the POST/PUT still answers Pending, but the operation has completed before the client can poll.
   */
  pushDelayMs?: number;
  /**
   * The time (ms since the epoch) for push timestamps and Idempotency-Key expiry, with real timers; default
   * `Date.now`. Ignored when `clock` is given. Tests
   * override it to expire keys without waiting 90 minutes. (Latency and push delays use real timers.)
   */
  now?: () => number;
  /**
   * The simulator's whole sense of time: timestamps, key expiry, latency, `delay` faults and push completion.
   * A `ManualClock` lets a test advance time itself instead of sleeping; default the real clock.
   */
  clock?: SimulatorClock;
  /**
   * When set, each completed customer push is announced to `url` as Codat announces it: a signed
   * `customers.write.successful|unsuccessful` webhook, retried on failure (webhooks.ts), and each sync (syncs.ts)
   * with a signed `read.completed`. Default: none sent.
   */
  webhooks?: SimulatorWebhookOptions;
}

export interface Simulator {
  /** Base URL, e.g. "http://127.0.0.1:40123". */
  url: string;
  /** Every request received, in order (faulted ones included). */
  requests: RecordedRequest[];
  resetRequests(): void;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** The in-memory data, so tests can read the expected full lists. */
  store: SimulatorStore;
  /** Attachment downloads served (in order): bytes sent, completed or aborted by the client. */
  readonly downloads: DownloadRecord[];
  /** Forgets every stored Idempotency-Key (as if 90 minutes had passed for all of them). */
  clearIdempotencyKeys(): void;
  /** Requests in flight now for a company (any case of its id). */
  inFlight(companyId: string): number;
  /** The most requests that were in flight at once for a company since start or resetMaxInFlight(). */
  maxInFlight(companyId: string): number;
  /** Starts counting maxInFlight afresh (from the requests in flight now). */
  resetMaxInFlight(): void;
  /** Webhook delivery attempts, in order (empty without `SimulatorOptions.webhooks`). */
  readonly webhookDeliveries: readonly WebhookDelivery[];
  /**
   * A change made in the accounting platform: upserts the company's customer (a new record object;
   * `modifiedDate` and `sourceModifiedDate` become the clock's now) and, unless `sync: false`, runs a
   * sync at once, announced with `read.completed` (`recordsModified: true` for customers). Returns that sync.
   * Throws for an unknown company.
   */
  editCustomer(companyId: string, customer: CodatCustomer & { id: string }, options?: { sync?: boolean }): SyncRecord | undefined;
  /**
   * Runs a sync of the company now (default: every data type the simulator serves), announced with
   * `read.completed`: `recordsModified` is true for a data type changed since the company's last sync, false
   * otherwise. Throws for an unknown company.
   */
  sync(companyId: string, dataTypes?: readonly string[]): SyncRecord;
  /** The syncs run so far, oldest first (the latest MAX_SYNC_RECORDS). */
  readonly syncs: readonly SyncRecord[];
  /** Closes the server and destroys all sockets (hung requests and streams included). */
  close(): Promise<void>;
}

/** The router with every simulated Codat endpoint. */
export function createRouter(): Router {
  const router = new Router();
  registerCustomerRoutes(router);
  registerConnectionRoutes(router);
  registerPushRoutes(router);
  registerAttachmentRoutes(router);
  registerDataStatusRoutes(router);
  return router;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const store = createDemoStore();
  const pushDelayMs = options.pushDelayMs ?? DEFAULT_PUSH_DELAY_MS;
  if (!(pushDelayMs >= 0)) throw new RangeError("pushDelayMs must be >= 0");
  const state = new SimulatorState(options.clock ?? realClock(options.now));
  const webhooks = options.webhooks ? new WebhookSender(options.webhooks, state) : undefined;
  const syncs = new SyncTracker();
  const runSync = (company: CompanyData, dataTypes: readonly string[], reason: SyncRecord["reason"]): SyncRecord => {
    const record = syncs.sync(company, dataTypes, reason, state.now());
    webhooks?.syncCompleted(company, record);
    return record;
  };
  state.onPushCompleted = (company, operation, type, allowSync) => {
    webhooks?.pushCompleted(company, operation, type);
    const dataType = operation.dataType ?? "customers";
    if (operation.status === "Success") syncs.changed(company, dataType);
    if (allowSync) runSync(company, [dataType], "push");
  };
  const companyOf = (companyId: string): CompanyData => {
    const company = store.company(companyId);
    if (company === undefined) throw new Error(`No company was found with ID ${companyId}`);
    return company;
  };
  const listener = createRequestListener(
    {
      store,
      router: createRouter(),
      latencyMs: options.latencyMs ?? 0,
      maxConcurrentPerCompany: options.maxConcurrentPerCompany ?? 10,
      apiKey: options.apiKey,
      pushDelayMs,
    },
    state,
  );
  const running = await listen(listener, state, options.host ?? "127.0.0.1", options.port ?? 0);
  return {
    url: running.url,
    // A getter, so resetRequests() (which empties the array in place) and `sim.requests` never diverge.
    get requests() {
      return state.requests;
    },
    resetRequests() {
      state.requests.length = 0;
    },
    injectFault(fault) {
      state.faults.add(fault);
    },
    clearFaults() {
      state.faults.clear();
    },
    store,
    get downloads() {
      return state.downloads;
    },
    clearIdempotencyKeys() {
      state.idempotency.clear();
    },
    inFlight: (companyId) => state.inFlight.get(companyId.toLowerCase()) ?? 0,
    maxInFlight: (companyId) => state.maxInFlight.get(companyId.toLowerCase()) ?? 0,
    resetMaxInFlight() {
      state.maxInFlight.clear();
      for (const [company, count] of state.inFlight) state.maxInFlight.set(company, count);
    },
    get webhookDeliveries() {
      return webhooks?.deliveries ?? [];
    },
    editCustomer(companyId, customer, editOptions = {}) {
      const company = companyOf(companyId);
      const now = new Date(state.now()).toISOString();
      // A new record object (never a mutation): the store caches JSON and sort orders by identity.
      company.customers.upsert({ ...customer, modifiedDate: now, sourceModifiedDate: now });
      syncs.changed(company, "customers");
      return editOptions.sync === false ? undefined : runSync(company, ["customers"], "edit");
    },
    sync: (companyId, dataTypes = SYNCED_DATA_TYPES) => runSync(companyOf(companyId), dataTypes, "manual"),
    get syncs() {
      return syncs.records;
    },
    close: () => running.close(),
  };
}
