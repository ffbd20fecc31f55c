/**
 * The gateway's only way to Codat: its endpoints. Each validates its ids before a path is built (paths.ts),
 * names its route template for the observers, and hands the call to the pipeline (pipeline.ts: ky over undici,
 * deadline, company slot, retries, error mapping, schema validation).
 */
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { badUserInput } from "../errors.js";
import { opaqueSegment, uuidSegment } from "./paths.js";
import { CodatPipeline, limiterKey, type CodatClientOptions, type RequestSpec } from "./pipeline.js";
import { contentCodings, decodedBody } from "./transport.js";
import {
  validAttachment,
  validAttachments,
  validConnectionsPage,
  validCreateCustomerResponse,
  validCustomer,
  validCustomersPage,
  validDataStatus,
  validPushOperation,
  validPushOperationsPage,
  validPushOption,
  validUpdateCustomerResponse,
} from "./validate.js";
import type {
  CodatConnectionsPage,
  CodatAttachmentRecord,
  CodatAttachments,
  CodatCreateCustomerResponse,
  CodatCustomer,
  CodatCustomerRecord,
  CodatCustomersPage,
  CodatDataStatus,
  CodatPushOperation,
  CodatPushOperationsPage,
  CodatPushOption,
  CodatUpdateCustomerResponse,
} from "./types.js";

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

export class CodatClient {
  readonly #pipeline: CodatPipeline;

  constructor(options: CodatClientOptions) {
    this.#pipeline = new CodatPipeline(options);
  }

  /** Requests currently in flight to Codat for a company (including open download streams). */
  inFlight(companyId: string): number {
    return this.#pipeline.limiter.inFlight(limiterKey(companyId));
  }

  /** Attachment downloads holding one of the company's slots (at most maxDownloadsPerCompany). */
  downloadsInFlight(companyId: string): number {
    return this.#pipeline.limiter.downloadsInFlight(limiterKey(companyId));
  }

  /** Requests waiting for one of the company's slots. */
  queued(companyId: string): number {
    return this.#pipeline.limiter.queued(limiterKey(companyId));
  }

  /** Calls holding a company slot and waiting for their turn in the request budget (of one company, or all). */
  budgetWaiting(companyId?: string): number {
    return this.#pipeline.budget?.waiting(companyId === undefined ? undefined : limiterKey(companyId)) ?? 0;
  }

  /** Requests in flight to Codat, all companies together. */
  totalInFlight(): number {
    return this.#pipeline.limiter.totalInFlight();
  }

  /** Requests waiting for a slot, all companies together. */
  totalQueued(): number {
    return this.#pipeline.limiter.totalQueued();
  }

  /** GET /companies/{companyId}/data/customers */
  async listCustomers(companyId: string, params: PageParams, options: CallOptions = {}): Promise<CodatCustomersPage> {
    const path = `companies/${uuidSegment(companyId, "companyId")}/data/customers`;
    return this.#pipeline.json(
      { method: "GET", route: ROUTES.customers, companyId, path, searchParams: pageQuery(params), ...options },
      validCustomersPage,
    );
  }

  /** GET /companies/{companyId}/data/customers/{customerId} — resolves null on 404 */
  async getCustomer(companyId: string, customerId: string, options: CallOptions = {}): Promise<CodatCustomerRecord | null> {
    const company = uuidSegment(companyId, "companyId");
    const path = `companies/${company}/data/customers/${opaqueSegment(customerId, "customerId")}`;
    return this.#pipeline.jsonOrNull({ method: "GET", route: ROUTES.customer, companyId, path, ...options }, validCustomer);
  }

  /** GET /companies/{companyId}/push */
  async listPushOperations(companyId: string, params: PageParams, options: CallOptions = {}): Promise<CodatPushOperationsPage> {
    const path = `companies/${uuidSegment(companyId, "companyId")}/push`;
    return this.#pipeline.json(
      { method: "GET", route: ROUTES.pushOperations, companyId, path, searchParams: pageQuery(params), ...options },
      validPushOperationsPage,
    );
  }

  /** GET /companies/{companyId}/push/{pushOperationKey} — resolves null on 404 */
  async getPushOperation(companyId: string, pushOperationKey: string, options: CallOptions = {}): Promise<CodatPushOperation | null> {
    const company = uuidSegment(companyId, "companyId");
    const path = `companies/${company}/push/${uuidSegment(pushOperationKey, "pushOperationKey")}`;
    return this.#pipeline.jsonOrNull({ method: "GET", route: ROUTES.pushOperation, companyId, path, ...options }, validPushOperation);
  }

  /** GET /companies/{companyId}/connections (Platform API; paged like the data lists) */
  async listConnections(companyId: string, params: PageParams, options: CallOptions = {}): Promise<CodatConnectionsPage> {
    const path = `companies/${uuidSegment(companyId, "companyId")}/connections`;
    return this.#pipeline.json(
      { method: "GET", route: ROUTES.connections, companyId, path, searchParams: pageQuery(params), ...options },
      validConnectionsPage,
    );
  }

  /** GET /companies/{companyId}/dataStatus (Platform API): per data type, the last successful sync (the read cache's check). */
  async getDataStatus(companyId: string, options: CallOptions = {}): Promise<CodatDataStatus> {
    const path = `companies/${uuidSegment(companyId, "companyId")}/dataStatus`;
    return this.#pipeline.json({ method: "GET", route: ROUTES.dataStatus, companyId, path, ...options }, validDataStatus);
  }

  /** GET /companies/{companyId}/connections/{connectionId}/options/customers */
  async getCustomerCreateUpdateModel(companyId: string, connectionId: string, options: CallOptions = {}): Promise<CodatPushOption> {
    const path = `${connectionPath(companyId, connectionId)}/options/customers`;
    return this.#pipeline.json({ method: "GET", route: ROUTES.customerOptions, companyId, path, ...options }, validPushOption);
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
    return this.#pipeline.json(
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
    return this.#pipeline.json(
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
    return this.#pipeline.json({ method: "GET", route: ROUTES.attachments, companyId, path, ...options }, validAttachments);
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
    return this.#pipeline.jsonOrNull({ method: "GET", route: ROUTES.attachment, companyId, path, ...options }, validAttachment);
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
    const response = await this.#pipeline.stream(spec);
    const download: AttachmentDownload = { status: response.status, body: null };
    const contentType = response.headers.get("content-type");
    if (contentType) download.contentType = contentType;
    const encodings = contentCodings(response.headers.get("content-encoding"));
    const contentLength = response.headers.get("content-length");
    // The length of an encoded body is that of the encoded bytes, not of what is passed on after decoding.
    if (contentLength && /^\d+$/.test(contentLength) && encodings.length === 0) download.contentLength = Number(contentLength);
    // The web body as a Node stream for the route's pipeline (none for HEAD or a body-less status): the same
    // chunks, one read at a time; destroying it cancels the body, which closes Codat's connection.
    if (response.body !== null)
      download.body = decodedBody(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>, { highWaterMark: 0 }), encodings);
    return download;
  }
}

/** Codat's call templates (`{placeholders}` for ids), as the OpenAPI files name the paths. */
const ROUTES = {
  customers: "/companies/{companyId}/data/customers",
  customer: "/companies/{companyId}/data/customers/{customerId}",
  pushOperations: "/companies/{companyId}/push",
  pushOperation: "/companies/{companyId}/push/{pushOperationKey}",
  connections: "/companies/{companyId}/connections",
  dataStatus: "/companies/{companyId}/dataStatus",
  customerOptions: "/companies/{companyId}/connections/{connectionId}/options/customers",
  pushCustomers: "/companies/{companyId}/connections/{connectionId}/push/customers",
  pushCustomer: "/companies/{companyId}/connections/{connectionId}/push/customers/{customerId}",
  attachments: "/companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments",
  attachment: "/companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments/{attachmentId}",
  download: "/companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments/{attachmentId}/download",
} as const;

export type { RetryEvent } from "./call.js";
export { isStreamIdleTimeout } from "./transport.js";
export type { CodatClientOptions } from "./pipeline.js";

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
