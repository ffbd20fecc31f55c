/**
 * The simulator's HTTP layer on plain `node:http` (no framework, for throughput): routing, request recording,
 * fault injection, API-key auth, per-company concurrency limiting and artificial latency.
 *
 * Order of handling for every request:
 *   1. record it (`requests`), whatever happens next;
 *   2. take the first matching injected fault: `status`/`reset`/`hang`/`malformed` end the request here,
 *      `delay` waits and then continues;
 *   3. auth (only when an API key is configured) → 401 ErrorMessage;
 *   4. per-company concurrency (`/companies/{id}/…`): a request that would exceed the limit answers 429 with
 *      `Retry-After: 1`; admitted requests hold their slot until the response finishes or the socket closes;
 *   5. artificial latency (every response, errors included, so the in-flight window includes it);
 *   6. route → handler → response; unknown routes answer a 404 ErrorMessage.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { SimHttpError, defaultErrorText, errorMessage } from "./errors.js";
import { FaultQueue, MALFORMED_JSON_BODY, type Fault } from "./faults.js";
import type { SimulatorStore } from "./store.js";

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
  /** Reads the request body (for push routes); rejects with 413 beyond `limitBytes`. */
  readBody(limitBytes?: number): Promise<Buffer>;
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

async function send(res: ServerResponse, response: SimResponse): Promise<void> {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string | number> = { ...response.headers };
  const body = response.body;
  if (body instanceof Readable) {
    res.writeHead(response.status, headers);
    try {
      await pipeline(body, res);
    } catch {
      // The client went away or the generator failed mid-stream: there is no way to report it in-band.
      res.destroy();
    }
    return;
  }
  const payload = body ?? "";
  headers["content-length"] = Buffer.byteLength(payload);
  res.writeHead(response.status, headers);
  res.end(payload);
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
}

export interface ServerSettings {
  store: SimulatorStore;
  router: Router;
  latencyMs: number;
  maxConcurrentPerCompany: number;
  apiKey?: string | undefined;
}

/** Everything mutable about a running simulator, shared between the HTTP handler and the public API. */
export class SimulatorState {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultQueue();
  readonly inFlight = new Map<string, number>();
  readonly closing = new AbortController();
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
      else res.destroy();
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
  state.requests.push({ method, path, query: Object.fromEntries(query), headers, rawUrl });

  const fault = state.faults.take(method, path);
  if (fault) {
    if (fault.kind !== "delay") return applyFault(fault, res);
    if (!(await pause(fault.ms, state))) return;
  }

  // Requests that carry a body are drained lazily by handlers; nothing to do for GETs.
  if (expectedAuth !== undefined && req.headers.authorization !== expectedAuth) {
    if (!(await pause(settings.latencyMs, state))) return;
    return send(res, errorResponse(new SimHttpError(401, "Unauthorized")));
  }

  const companyKey = segments && segments[0] === "companies" && segments[1] ? segments[1].toLowerCase() : undefined;
  if (companyKey !== undefined) {
    const current = state.inFlight.get(companyKey) ?? 0;
    if (current >= settings.maxConcurrentPerCompany) {
      if (!(await pause(settings.latencyMs, state))) return;
      return send(
        res,
        errorResponse(
          new SimHttpError(429, "You have made too many requests in a given amount of time; please retry later.", "PublicApi", {
            "retry-after": "1",
          }),
        ),
      );
    }
    state.inFlight.set(companyKey, current + 1);
    res.once("close", () => {
      const n = (state.inFlight.get(companyKey) ?? 1) - 1;
      if (n <= 0) state.inFlight.delete(companyKey);
      else state.inFlight.set(companyKey, n);
    });
  }

  if (!(await pause(settings.latencyMs, state))) return;

  if (!segments) return send(res, errorResponse(new SimHttpError(400, "Error processing request - malformed path.")));
  const matched = settings.router.match(method, segments);
  if (!matched) return send(res, errorResponse(new SimHttpError(404, `No route matches ${method} ${path}`)));
  if ("allow" in matched) {
    return send(
      res,
      errorResponse(new SimHttpError(405, `Method ${method} is not allowed.`, "PublicApi", { allow: matched.allow.join(", ") })),
    );
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
    readBody: (limitBytes = 10 * 1024 * 1024) => readBody(req, limitBytes),
  };
  let response: SimResponse;
  try {
    response = await matched.handler(ctx);
  } catch (err) {
    if (!(err instanceof SimHttpError)) throw err;
    response = errorResponse(err);
  }
  await send(res, response);
}

/** Waits `ms` (no-op for 0); false when the simulator closed meanwhile (the socket is being destroyed). */
async function pause(ms: number, state: SimulatorState): Promise<boolean> {
  if (ms <= 0) return !state.closing.signal.aborted;
  try {
    await sleep(ms, undefined, { signal: state.closing.signal });
    return true;
  } catch {
    return false;
  }
}

async function applyFault(fault: Exclude<Fault, { kind: "delay" }>, res: ServerResponse): Promise<void> {
  switch (fault.kind) {
    case "reset": {
      const socket: Socket | null = res.socket;
      // resetAndDestroy sends a TCP RST (what a crashed proxy looks like); plain destroy is the fallback.
      if (socket && typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
      else res.destroy();
      return;
    }
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
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        reject(new SimHttpError(413, "Request body too large."));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
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
