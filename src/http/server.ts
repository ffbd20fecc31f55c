/**
 * The HTTP layer: a plain node:http server hosting Apollo Server (through its generic
 * executeHTTPGraphQLRequest integration API, which keeps per-request overhead low), the health routes, and any
 * extra routes (the attachment download route). It never lets an exception escape a request.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer } from "@apollo/server";
import type { GatewayContext } from "../context.js";

/** Largest GraphQL request body accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface Route {
  method: readonly string[];
  /** Returns route parameters when the path matches. */
  match(pathname: string): Record<string, string> | null;
  handle(req: IncomingMessage, res: ServerResponse, params: Record<string, string>, url: URL): Promise<void>;
}

export interface HttpServerOptions {
  /** A getter: Apollo's drain plugin needs the HTTP server before Apollo exists. */
  apollo: () => ApolloServer<GatewayContext>;
  context: (req: IncomingMessage) => Promise<GatewayContext>;
  routes?: Route[];
  isReady: () => boolean;
  /** When set, GraphQL requests without this header and value are refused (the router-only subgraph mode). */
  requiredHeader?: { header: string; value: string } | undefined;
  onError?: (error: unknown) => void;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function hasRequiredHeader(req: IncomingMessage, required: { header: string; value: string }): boolean {
  const given = req.headers[required.header];
  if (typeof given !== "string") return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(required.value).digest();
  return timingSafeEqual(a, b);
}

async function handleGraphQL(req: IncomingMessage, res: ServerResponse, url: URL, options: HttpServerOptions): Promise<void> {
  if (options.requiredHeader && !hasRequiredHeader(req, options.requiredHeader)) {
    // Refused before Apollo sees the request: in router-only mode nothing, not even the landing page, is served.
    sendJson(res, 401, { errors: [{ message: "This subgraph only accepts requests from its router.", extensions: { code: "UNAUTHENTICATED" } }] });
    return;
  }
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  let body: unknown = undefined;
  if (req.method === "POST") {
    let text: string;
    try {
      text = await readBody(req, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        sendJson(res, 413, { errors: [{ message: `Request body larger than ${MAX_BODY_BYTES} bytes.`, extensions: { code: "BAD_USER_INPUT" } }] }, { connection: "close" });
        return;
      }
      throw error;
    }
    const type = headers.get("content-type") ?? "";
    if (type.startsWith("application/json") || type.startsWith("application/graphql-response+json")) {
      try {
        body = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        sendJson(res, 400, { errors: [{ message: "Request body is not valid JSON.", extensions: { code: "BAD_REQUEST" } }] });
        return;
      }
    } else {
      body = text;
    }
  }

  const response = await options.apollo().executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? "GET", headers, search: url.search, body },
    context: () => options.context(req),
  });
  const outHeaders: Record<string, string> = {};
  for (const [name, value] of response.headers) outHeaders[name] = value;
  if (response.body.kind === "complete") {
    outHeaders["content-length"] = String(Buffer.byteLength(response.body.string));
    res.writeHead(response.status ?? 200, outHeaders);
    res.end(response.body.string);
    return;
  }
  res.writeHead(response.status ?? 200, outHeaders);
  for await (const chunk of response.body.asyncIterator) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
  }
  res.end();
}

export function createHttpServer(options: HttpServerOptions): Server {
  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    const handle = async () => {
      const pathname = url.pathname;
      if (pathname === "/graphql") return handleGraphQL(req, res, url, options);
      if (pathname === "/healthz") return sendJson(res, 200, { status: "ok" });
      if (pathname === "/readyz") {
        return options.isReady() ? sendJson(res, 200, { status: "ready" }) : sendJson(res, 503, { status: "not ready" });
      }
      for (const route of options.routes ?? []) {
        const params = route.match(pathname);
        if (!params) continue;
        if (!route.method.includes(req.method ?? "")) {
          return sendJson(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "Method not allowed." } }, { allow: route.method.join(", ") });
        }
        return route.handle(req, res, params, url);
      }
      return sendJson(res, 404, { error: { code: "NOT_FOUND", message: "No such route." } });
    };
    handle().catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent) sendJson(res, 500, { error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error." } });
      else res.destroy();
    });
  });
  // A malformed request line must not take the process down or echo anything back.
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy();
  });
  return server;
}
