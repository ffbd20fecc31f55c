/**
 * A scripted stand-in for Codat on a loopback port: each test says how the next requests are answered and
 * then inspects what arrived. It records every request (method, path, query, headers, body) and counts how
 * many requests per company are open at once, which is how the limiter tests observe concurrency from the
 * server's side.
 */
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach } from "vitest";
import { forwardTo } from "../helpers/forward.js";

export interface Received {
  method: string;
  /** Path without the query, exactly as sent (still percent-encoded). */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** 0-based arrival order. */
  index: number;
}

export type Responder = (request: Received, response: ServerResponse) => void | Promise<void>;

export class FakeCodat {
  readonly received: Received[] = [];
  readonly #server: Server;
  readonly #open = new Map<string, number>();
  readonly #peak = new Map<string, number>();
  #script: Responder[] = [];
  #fallback: Responder = (_request, response) => sendJson(response, 404, { statusCode: 404, error: "No route" });

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeCodat> {
    const server = createServer();
    const fake = new FakeCodat(server);
    server.on("request", (request, response) => void fake.#handle(request, response));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return fake;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` with no trailing slash. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next requests are answered by these responders, one each, in order; later ones by `always`. */
  script(...responders: Responder[]): this {
    this.#script = responders;
    return this;
  }

  /** Every request not taken by the script. */
  always(responder: Responder): this {
    this.#fallback = responder;
    return this;
  }

  /** Most requests for a company that were open at the same moment. */
  peakConcurrency(companyId: string): number {
    return this.#peak.get(companyId.toLowerCase()) ?? 0;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, "close");
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(Buffer.from(chunk as Uint8Array));
    const url = new URL(request.url ?? "/", "http://fake.invalid");
    const received: Received = {
      method: request.method ?? "",
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      index: this.received.length,
    };
    this.received.push(received);

    const company = /\/companies\/([^/]+)/.exec(url.pathname)?.[1]?.toLowerCase() ?? "";
    const open = (this.#open.get(company) ?? 0) + 1;
    this.#open.set(company, open);
    this.#peak.set(company, Math.max(this.#peak.get(company) ?? 0, open));
    response.on("close", () => this.#open.set(company, (this.#open.get(company) ?? 1) - 1));

    const responder = this.#script.shift() ?? this.#fallback;
    try {
      await responder(received, response);
    } catch {
      response.socket?.destroy();
    }
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  response.end(text);
}

export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** Replies after `ms` (to hold a request open, or to outlast a timeout). */
export function after(ms: number, responder: Responder): Responder {
  return (request, response) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => resolve(responder(request, response)), ms);
      response.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
}

/** Never answers; the connection stays open until the client gives up or the server closes. */
export const hang: Responder = () => undefined;

/** Drops the connection without any response after reading the request (the request did reach "Codat"). */
export const resetConnection: Responder = (_request, response) => {
  response.socket?.destroy();
};

/** Sends the status line, headers and part of the body, then drops the connection. */
export const resetMidBody: Responder = (_request, response) => {
  response.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
  response.write('{"results":[');
  setTimeout(() => response.socket?.destroy(), 10);
};

export const COMPANY = "8a210b68-6988-11ed-a1eb-0242ac120002";
export const OTHER_COMPANY = "0f5b2a3e-1c4d-4e6f-9a8b-7c6d5e4f3a2b";
export const CONNECTION = "2e9d2c44-f675-40ba-8049-353bfcb5e171";
export const PUSH_KEY = "b3a4d3e2-6f9c-4c6e-8a1d-2f3e4d5c6b7a";

export function customersPage(count = 1, totalResults = count): Record<string, unknown> {
  return {
    results: Array.from({ length: count }, (_, i) => ({ id: `cust-${i}`, customerName: `Customer ${i}`, status: "Active" })),
    pageNumber: 1,
    pageSize: 100,
    totalResults,
    _links: { self: { href: "/companies/x/data/customers" }, current: { href: "/companies/x/data/customers?page=1" } },
  };
}

export function pushOperation(status = "Pending"): Record<string, unknown> {
  return {
    pushOperationKey: PUSH_KEY,
    companyId: COMPANY,
    dataConnectionKey: CONNECTION,
    requestedOnUtc: "2024-01-01T00:00:00Z",
    status,
    statusCode: 202,
    dataType: "customers",
    data: { id: "cust-1", customerName: "Acme", status: "Active" },
  };
}

/**
 * The usual fixture: a fresh fake Codat for every test of the file (or describe block), closed after it. The
 * returned object stands for the current test's fake, so use it inside tests only.
 */
export function useFakeCodat(): FakeCodat {
  let current: FakeCodat | undefined;
  beforeEach(async () => {
    current = await FakeCodat.start();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return forwardTo(() => current, "the fake Codat runs only inside a test");
}
