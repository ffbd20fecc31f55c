/**
 * The HTTP layer: a plain node:http server routing /graphql (graphql.ts), the health routes, and extra routes
 * (the attachment download route). It never lets an exception escape a request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { handleGraphQL, type GraphQLEndpointOptions } from "./graphql.js";
import { sendJson } from "./respond.js";

export { sendJson } from "./respond.js";

export interface Route {
  method: readonly string[];
  /** Returns route parameters when the path matches. */
  match(pathname: string): Record<string, string> | null;
  handle(req: IncomingMessage, res: ServerResponse, params: Record<string, string>, url: URL): Promise<void>;
}

export interface HttpServerOptions extends GraphQLEndpointOptions {
  routes?: Route[];
  isReady: () => boolean;
  onError?: (error: unknown) => void;
}

export function createHttpServer(options: HttpServerOptions): Server {
  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    const handle = async (): Promise<void> => {
      const pathname = url.pathname;
      if (pathname === "/graphql") {
        await handleGraphQL(req, res, url, options);
        return;
      }
      if (pathname === "/healthz") {
        sendJson(res, 200, { status: "ok" });
        return;
      }
      if (pathname === "/readyz") {
        if (options.isReady()) sendJson(res, 200, { status: "ready" });
        else sendJson(res, 503, { status: "not ready" });
        return;
      }
      for (const route of options.routes ?? []) {
        const params = route.match(pathname);
        if (!params) continue;
        if (route.method.includes(req.method ?? "")) await route.handle(req, res, params, url);
        else
          sendJson(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "Method not allowed." } }, { allow: route.method.join(", ") });
        return;
      }
      sendJson(res, 404, { error: { code: "NOT_FOUND", message: "No such route." } });
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
