/**
 * The simulator's HTTP layer on plain `node:http` (no framework, for throughput): routing, request recording,
 * fault injection, API-key auth, per-company concurrency limiting and artificial latency.
 *
 * Order of handling for every request:
 *   1. record it (`requests`), whatever happens next;
 *   2. take the first matching injected fault: `status`/`reset`/`hang`/`malformed` end the request here,
 *      `delay` waits and then continues, `applyThenReset` continues but swaps the final answer for a reset,
 *      `stall` continues but sends only the start of the final answer;
 *   3. auth (only when an API key is configured) → 401 ErrorMessage;
 *   4. per-company concurrency (`/companies/{id}/…`): a request that would exceed the limit answers 429 with
 *      `Retry-After: 1`; admitted requests hold their slot until the response finishes or the socket closes;
 *   5. `Idempotency-Key` on POST/PATCH (idempotency.ts): the body is read, the key is claimed (or the stored
 *      response replayed, or 409/422) — before the latency, so a retry during the first request's latency
 *      sees it in flight;
 *   6. artificial latency (every response, errors included, so the in-flight window includes it);
 *   7. route → handler → response; unknown routes answer a 404 ErrorMessage.
 */
import { realClock, type SimulatorClock } from "./clock.js";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SimHttpError, defaultErrorText, errorMessage } from "./errors.js";
import type { DownloadRecord } from "./attachments.js";
import { FaultQueue, MALFORMED_JSON_BODY, type Fault } from "./faults.js";
import {
  IDEMPOTENCY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  IdempotencyStore,
  isGuid,
  requestFingerprint,
  type IdempotencyTicket,
} from "./idempotency.js";
import type { CompanyData, PushOperationRecord, SimulatorStore } from "./store.js";

// ---------------------------------------------------------------------------------------------------- routing

export interface SimResponse {
  status: number;
  headers?: Record<string, string | number>;
  /** A string/Buffer is sent with Content-Length; a Readable is streamed (for large attachment downloads). */
  body?: string | Buffer | Readable;
}

export interface RequestContext {
  method: string;
  /** Decoded path (percent-escapes resolved per segment), without the query string. */
  path: string;
  /** Path parameters from the route pattern, decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  store: SimulatorStore;
  req: IncomingMessage;
  /** Aborted when the client goes away or the simulator closes (for long-running/streaming handlers). */
  signal: AbortSignal;
  /**
   * Reads the request body (for push routes); rejects with 413 beyond `limitBytes`. Memoised: the idempotency
   * layer may already have read it, and a second call returns the same bytes.
   */
  readBody(limitBytes?: number): Promise<Buffer>;
  /** The simulator's clock (ms since the epoch; `SimulatorOptions.clock`/`now`, default `Date.now`). */
  now(): number;
  /** How long a push operation stays Pending (`SimulatorOptions.pushDelayMs`). */
  pushDelayMs: number;
  /** Runs `task` after `delayMs` (background work such as push completion); cancelled when the simulator closes. */
  schedule(delayMs: number, task: () => void): void;
  /** Attachment downloads served so far (see `Simulator.downloads`). */
  downloads: DownloadRecord[];
  /**
   * Tells the simulator a push operation reached its final status (its webhooks, when configured, and the sync
   * that follows it when `allowSync`, syncs.ts).
   */
  pushCompleted?: (company: CompanyData, operation: PushOperationRecord, type: "Create" | "Update", allowSync: boolean) => void;
}

export type RouteHandler = (ctx: RequestContext) => SimResponse | Promise<SimResponse>;

type Segment = { literal: string } | { param: string };
interface Route {
  method: string;
  segments: Segment[];
  handler: RouteHandler;
}

/**
 * Minimal path router: patterns like `/companies/:companyId/data/customers/:customerId`, matched segment by
 * segment on the decoded path (so an encoded `/` inside an id stays inside its segment).
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: RouteHandler): this {
    const segments: Segment[] = splitPath(pattern).map((s) => (s.startsWith(":") ? { param: s.slice(1) } : { literal: s }));
    this.routes.push({ method: method.toUpperCase(), segments, handler });
    return this;
  }
  get(pattern: string, handler: RouteHandler): this {
    return this.add("GET", pattern, handler);
  }
  post(pattern: string, handler: RouteHandler): this {
    return this.add("POST", pattern, handler);
  }
  put(pattern: string, handler: RouteHandler): this {
    return this.add("PUT", pattern, handler);
  }
  patch(pattern: string, handler: RouteHandler): this {
    return this.add("PATCH", pattern, handler);
  }

  match(
    method: string,
    segments: readonly string[],
  ): { handler: RouteHandler; params: Record<string, string> } | { allow: string[] } | undefined {
    const allow: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method) return { handler: route.handler, params };
      allow.push(route.method);
    }
    return allow.length > 0 ? { allow } : undefined;
  }
}

function matchSegments(pattern: readonly Segment[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    const s = segments[i];
    if (p === undefined || s === undefined) return undefined;
    if ("literal" in p) {
      if (p.literal !== s) return undefined;
    } else {
      params[p.param] = s;
    }
  }
  return params;
}

function splitPath(path: string): string[] {
  // Leading and trailing slashes are insignificant: `/a/b/` routes like `/a/b`.
  return path.split("/").filter((s, i, all) => s !== "" || (i !== 0 && i !== all.length - 1));
}

// ---------------------------------------------------------------------------------------------------- responses

const JSON_TYPE = "application/json; charset=utf-8";

export function jsonText(status: number, text: string, headers: Record<string, string | number> = {}): SimResponse {
  return { status, headers: { "content-type": JSON_TYPE, ...headers }, body: text };
}

export function json(status: number, value: unknown, headers: Record<string, string | number> = {}): SimResponse {
  return jsonText(status, JSON.stringify(value), headers);
}

function errorResponse(error: SimHttpError): SimResponse {
  return json(error.status, error.body(), error.headers);
}

async function send(res: ServerResponse, response: SimResponse, head = false): Promise<void> {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string | number> = { ...response.headers };
  const body = response.body;
  if (head) {
    // HEAD: the handler states the Content-Length of the body it would send; nothing is written (a Readable
    // given here anyway is discarded unread, so a HEAD never generates a download's bytes).
    if (body instanceof Readable) body.destroy();
    else if (headers["content-length"] === undefined) headers["content-length"] = Buffer.byteLength(body ?? "");
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  if (body instanceof Readable) {
    res.writeHead(response.status, headers);
    try {
      await pipeline(body, res);
    } catch {
      // The client went away or the generator failed mid-stream: there is no way to report it in-band.
      cut(res);
    }
    return;
  }
  const payload = body ?? "";
  headers["content-length"] = Buffer.byteLength(payload);
  res.writeHead(response.status, headers);
  res.end(payload);
}

/**
 * The `stall` fault: the status, the headers (with the length of the whole body) and the first `afterBytes`
 * bytes, then nothing; the response is never finished. A streamed body is read no further (the generator stops)
 * and is destroyed when the connection closes, so its DownloadRecord reads aborted once the client gives up.
 */
function sendThenStall(res: ServerResponse, response: SimResponse, afterBytes: number, head: boolean): Promise<void> {
  if (res.destroyed || res.headersSent) return Promise.resolve();
  const headers: Record<string, string | number> = { ...response.headers };
  const body = response.body;
  if (!(body instanceof Readable) && headers["content-length"] === undefined) headers["content-length"] = Buffer.byteLength(body ?? "");
  res.writeHead(response.status, headers);
  res.flushHeaders();
  if (body instanceof Readable) {
    res.once("close", () => body.destroy());
    if (head || afterBytes === 0) return Promise.resolve();
    let left = afterBytes;
    const onData = (chunk: Buffer): void => {
      const part = chunk.subarray(0, left);
      left -= part.length;
      res.write(part);
      if (left === 0) {
        body.off("data", onData);
        body.pause();
      }
    };
    body.on("data", onData);
  } else if (!head && afterBytes > 0) {
    res.write(Buffer.from(body ?? "").subarray(0, afterBytes));
  }
  return Promise.resolve();
}

// ---------------------------------------------------------------------------------------------------- server

export interface RecordedRequest {
  method: string;
  /** Decoded path, without the query string. */
  path: string;
  /** Query parameters (decoded; for a repeated name, the last value). */
  query: Record<string, string>;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string | undefined>;
  /** The request target exactly as received (still percent-encoded). */
  rawUrl: string;
  /**
   * The request body as UTF-8 text, once the simulator has read it (push routes, Idempotency-Key requests), so
   * tests can assert what a client sent upstream; undefined for requests whose body was never read.
   */
  body?: string;
  /**
   * True once the client closed the connection before the simulator had finished its answer (it gave up: a
   * timeout, a cancellation, a disconnect); absent otherwise. Connections the simulator cut itself (a `reset`
   * or `applyThenReset` fault, a failed stream, `close()`) are not marked.
   */
  aborted?: true;
}

/** Responses the simulator itself destroyed: their connection's close is not the client's abort. */
const cutBySimulator = new WeakSet<ServerResponse>();

/** Destroys a response on the simulator's own account (see `RecordedRequest.aborted`). */
function cut(res: ServerResponse): void {
  cutBySimulator.add(res);
  res.destroy();
}

export interface ServerSettings {
  store: SimulatorStore;
  router: Router;
  latencyMs: number;
  maxConcurrentPerCompany: number;
  apiKey?: string | undefined;
  /** How long push operations stay Pending; default `DEFAULT_PUSH_DELAY_MS`. */
  pushDelayMs?: number | undefined;
}

export const DEFAULT_PUSH_DELAY_MS = 300;

/** Everything mutable about a running simulator, shared between the HTTP handler and the public API. */
export class SimulatorState {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultQueue();
  readonly inFlight = new Map<string, number>();
  /** The most requests ever in flight at once per company (lower-cased id), since start or the last reset. */
  readonly maxInFlight = new Map<string, number>();
  readonly closing = new AbortController();
  readonly idempotency: IdempotencyStore;
  readonly downloads: DownloadRecord[] = [];
  readonly now: () => number;
  /** Called when a push operation completes (set by startSimulator: webhooks, syncs). */
  onPushCompleted:
    ((company: CompanyData, operation: PushOperationRecord, type: "Create" | "Update", allowSync: boolean) => void) | undefined = undefined;
  private readonly cancels = new Set<() => void>();

  constructor(readonly clock: SimulatorClock = realClock()) {
    this.now = () => clock.now();
    this.idempotency = new IdempotencyStore(this.now);
    this.closing.signal.addEventListener("abort", () => {
      for (const cancel of this.cancels) cancel();
      this.cancels.clear();
    });
  }

  /** Background work (push completion), on the simulator's clock; cancelled when the simulator closes. */
  schedule(delayMs: number, task: () => void): void {
    if (this.closing.signal.aborted) return;
    const cancel = this.clock.setTimer(delayMs, () => {
      this.cancels.delete(cancel);
      task();
    });
    this.cancels.add(cancel);
  }

  /** Waits `ms` on the simulator's clock (no-op for 0); false when the simulator closed meanwhile. */
  pause(ms: number): Promise<boolean> {
    if (ms <= 0 || this.closing.signal.aborted) return Promise.resolve(!this.closing.signal.aborted);
    return new Promise((resolve) => {
      const onClose = (): void => {
        cancel();
        resolve(false);
      };
      const cancel = this.clock.setTimer(ms, () => {
        this.closing.signal.removeEventListener("abort", onClose);
        resolve(true);
      });
      this.closing.signal.addEventListener("abort", onClose, { once: true });
    });
  }
}

/** The request listener. Exposed so other servers (or tests) can mount the simulator themselves. */
export function createRequestListener(
  settings: ServerSettings,
  state: SimulatorState = new SimulatorState(),
): (req: IncomingMessage, res: ServerResponse) => void {
  const expectedAuth = settings.apiKey === undefined ? undefined : `Basic ${Buffer.from(settings.apiKey).toString("base64")}`;
  return (req, res) => {
    handle(settings, state, expectedAuth, req, res).catch((err: unknown) => {
      // Only reachable through a bug in a handler's response; never leave the client hanging.
      console.error("simulator: unhandled error", err);
      if (!res.headersSent) void send(res, json(500, errorMessage(500, defaultErrorText(500))));
      else cut(res);
    });
  };
}

async function handle(
  settings: ServerSettings,
  state: SimulatorState,
  expectedAuth: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = (req.method ?? "GET").toUpperCase();
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q === -1 ? "" : rawUrl.slice(q + 1));
  let segments: string[] | undefined;
  try {
    segments = splitPath(rawPath).map(decodeURIComponent);
  } catch {
    segments = undefined; // bad percent-encoding; answered below, after recording
  }
  const path = segments ? `/${segments.join("/")}` : rawPath;

  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  const recorded: RecordedRequest = { method, path, query: Object.fromEntries(query), headers, rawUrl };
  state.requests.push(recorded);
  res.once("close", () => {
    if (!res.writableFinished && !cutBySimulator.has(res) && !state.closing.signal.aborted) recorded.aborted = true;
  });

  const fault = state.faults.take(method, path);
  let dropResponse = false;
  let stallAfter: number | undefined;
  if (fault) {
    if (fault.kind === "applyThenReset") dropResponse = true;
    else if (fault.kind === "stall") stallAfter = fault.afterBytes ?? 0;
    else if (fault.kind !== "delay") return applyFault(fault, res);
    else if (!(await state.pause(fault.ms))) return;
  }
  // Every answer from here on goes through deliver(), so `applyThenReset` can swap it for a reset (and `stall`
  // cut it short).
  const head = method === "HEAD";
  const deliver = (response: SimResponse): Promise<void> => {
    if (stallAfter !== undefined) return sendThenStall(res, response, stallAfter, head);
    if (!dropResponse) return send(res, response, head);
    if (response.body instanceof Readable) response.body.destroy();
    resetConnection(res);
    return Promise.resolve();
  };

  // Requests that carry a body are drained lazily by handlers; nothing to do for GETs.
  if (expectedAuth !== undefined && req.headers.authorization !== expectedAuth) {
    if (!(await state.pause(settings.latencyMs))) return;
    return deliver(errorResponse(new SimHttpError(401, "Unauthorized")));
  }

  const companyKey = segments && segments[0] === "companies" && segments[1] ? segments[1].toLowerCase() : undefined;
  if (companyKey !== undefined) {
    const current = state.inFlight.get(companyKey) ?? 0;
    if (current >= settings.maxConcurrentPerCompany) {
      if (!(await state.pause(settings.latencyMs))) return;
      return deliver(
        errorResponse(
          new SimHttpError(429, "You have made too many requests in a given amount of time; please retry later.", "PublicApi", {
            "retry-after": "1",
          }),
        ),
      );
    }
    state.inFlight.set(companyKey, current + 1);
    if (current + 1 > (state.maxInFlight.get(companyKey) ?? 0)) state.maxInFlight.set(companyKey, current + 1);
    res.once("close", () => {
      const n = (state.inFlight.get(companyKey) ?? 1) - 1;
      if (n <= 0) state.inFlight.delete(companyKey);
      else state.inFlight.set(companyKey, n);
    });
  }

  let bodyRead: Promise<Buffer> | undefined;
  const readBodyOnce = (limitBytes = 10 * 1024 * 1024): Promise<Buffer> =>
    (bodyRead ??= readBody(req, limitBytes).then((body) => {
      recorded.body = body.toString("utf8");
      return body;
    }));

  let ticket: IdempotencyTicket | undefined;
  const idempotencyKey = req.headers[IDEMPOTENCY_HEADER];
  if ((method === "POST" || method === "PATCH") && typeof idempotencyKey === "string" && idempotencyKey !== "") {
    const early = await claimIdempotencyKey(state, companyKey ?? "", idempotencyKey, method, path, readBodyOnce);
    if ("response" in early) {
      if (!(await state.pause(settings.latencyMs))) return;
      return deliver(early.response);
    }
    ticket = early.ticket;
  }

  try {
    if (!(await state.pause(settings.latencyMs))) return;
    const response = await route(settings, state, segments, method, path, query, req, res, readBodyOnce);
    if (ticket) {
      const body = response.body;
      // 5xx (and streams, which cannot be replayed) leave the key free, so a retry runs the request again.
      if (response.status < 500 && !(body instanceof Readable)) {
        state.idempotency.complete(ticket, { status: response.status, headers: { ...response.headers }, body: body ?? "" });
      }
    }
    await deliver(response);
  } finally {
    if (ticket) state.idempotency.release(ticket); // no-op once completed
  }
}

/**
 * Looks the key up: either an early answer (400 for a non-GUID key, 413 for an oversized body, a replay, 409 or
 * 422) or the claimed key, which the caller completes with its response.
 */
async function claimIdempotencyKey(
  state: SimulatorState,
  scope: string,
  key: string,
  method: string,
  path: string,
  readBodyOnce: () => Promise<Buffer>,
): Promise<{ response: SimResponse } | { ticket: IdempotencyTicket }> {
  if (!isGuid(key)) {
    return { response: errorResponse(new SimHttpError(400, "Error processing request - the Idempotency-Key header must be a GUID.")) };
  }
  let body: Buffer;
  try {
    body = await readBodyOnce();
  } catch (err) {
    if (err instanceof SimHttpError) return { response: errorResponse(err) };
    throw err;
  }
  const decision = state.idempotency.begin(scope, key, requestFingerprint(method, path, body));
  switch (decision.kind) {
    case "new":
      return { ticket: decision.ticket };
    case "replay": {
      const stored = decision.response;
      return {
        response: { status: stored.status, headers: { ...stored.headers, [IDEMPOTENT_REPLAYED_HEADER]: "true" }, body: stored.body },
      };
    }
    case "inFlight":
      return {
        response: errorResponse(
          new SimHttpError(409, "A request with this Idempotency-Key is still being processed; retry once it has completed."),
        ),
      };
    case "mismatch":
      return {
        response: errorResponse(
          new SimHttpError(422, "The Idempotency-Key has already been used for a different request (the request body differs)."),
        ),
      };
  }
}

/** Routing and the handler call; every outcome is a response (handler bugs propagate as exceptions). */
async function route(
  settings: ServerSettings,
  state: SimulatorState,
  segments: string[] | undefined,
  method: string,
  path: string,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
  readBodyOnce: (limitBytes?: number) => Promise<Buffer>,
): Promise<SimResponse> {
  if (!segments) return errorResponse(new SimHttpError(400, "Error processing request - malformed path."));
  const matched = settings.router.match(method, segments);
  if (!matched) return errorResponse(new SimHttpError(404, `No route matches ${method} ${path}`));
  if ("allow" in matched) {
    return errorResponse(new SimHttpError(405, `Method ${method} is not allowed.`, "PublicApi", { allow: matched.allow.join(", ") }));
  }

  const requestAbort = new AbortController();
  res.once("close", () => requestAbort.abort());
  const ctx: RequestContext = {
    method,
    path,
    params: matched.params,
    query,
    headers: req.headers,
    store: settings.store,
    req,
    signal: AbortSignal.any([requestAbort.signal, state.closing.signal]),
    readBody: readBodyOnce,
    now: state.now,
    pushDelayMs: settings.pushDelayMs ?? DEFAULT_PUSH_DELAY_MS,
    schedule: (delayMs, task) => state.schedule(delayMs, task),
    downloads: state.downloads,
    pushCompleted: (company, operation, type, allowSync) => state.onPushCompleted?.(company, operation, type, allowSync),
  };
  try {
    return await matched.handler(ctx);
  } catch (err) {
    if (!(err instanceof SimHttpError)) throw err;
    return errorResponse(err);
  }
}

function resetConnection(res: ServerResponse): void {
  cutBySimulator.add(res);
  const socket: Socket | null = res.socket;
  // resetAndDestroy sends a TCP RST (what a crashed proxy looks like); plain destroy is the fallback.
  if (socket && typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
  else res.destroy();
}

async function applyFault(fault: Exclude<Fault, { kind: "delay" | "applyThenReset" | "stall" }>, res: ServerResponse): Promise<void> {
  switch (fault.kind) {
    case "reset":
      resetConnection(res);
      return;
    case "hang":
      return; // the response is never written; close() destroys the socket
    case "malformed":
      return send(res, jsonText(200, MALFORMED_JSON_BODY));
    case "status": {
      const body =
        fault.body === undefined
          ? JSON.stringify(errorMessage(fault.status, defaultErrorText(fault.status)))
          : typeof fault.body === "string"
            ? fault.body
            : JSON.stringify(fault.body);
      return send(res, jsonText(fault.status, body, fault.headers));
    }
  }
}

function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        // Keep draining (discarding) instead of destroying the socket, so the client gets to read the 413;
        // `connection: close` stops the socket from being reused after a half-read request.
        req.off("data", onData);
        req.resume();
        chunks.length = 0;
        reject(new SimHttpError(413, "Request body too large.", "PublicApi", { connection: "close" }));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port with the given listener; `close()` ends everything promptly (hung requests included). */
export async function listen(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  state: SimulatorState,
  host: string,
  port: number,
): Promise<RunningServer> {
  const server = createServer(listener);
  // Longer than typical client keep-alive pools, so the server never closes an idle socket a client is about
  // to reuse (the classic ECONNRESET race in benchmarks).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  return {
    server,
    url: `http://${hostForUrl}:${address.port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        state.closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
