/**
 * The built reference app (examples/web/dist) on one origin with the gateway, as a deployment would serve it: a
 * small static server on 127.0.0.1 port 0 that forwards `/graphql` (HTTP and the WebSocket upgrade) and
 * `/downloads/…` to the gateway unchanged, Host header included (so the gateway sees the page's own origin).
 * It starts before the gateway, whose PUBLIC_URL is this server's origin (download links then point here too).
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const APP_DIST = fileURLToPath(new URL("../../examples/web/dist/", import.meta.url));
/** The trusted-documents manifest the app's codegen writes (PERSISTED_OPERATIONS takes it as it is). */
export const APP_MANIFEST = fileURLToPath(new URL("../../examples/web/src/__generated__/persisted-documents.json", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
};

export interface AppServer {
  origin: string;
  /** The gateway to forward to (set once it listens). */
  gateway: URL | undefined;
  close(): Promise<void>;
}

export async function startAppServer(): Promise<AppServer> {
  if (!existsSync(path.join(APP_DIST, "index.html"))) throw new Error("examples/web is not built: npm run build -w examples/web");
  const sockets = new Set<Socket>();
  const state: { gateway: URL | undefined } = { gateway: undefined };
  const target = () => {
    if (!state.gateway) throw new Error("the app server has no gateway yet");
    return state.gateway;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://app");
    if (url.pathname === "/graphql" || url.pathname.startsWith("/downloads/")) {
      const gateway = target();
      const forwarded = request(
        { host: gateway.hostname, port: gateway.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on("error", () => res.destroy());
      req.pipe(forwarded);
      return;
    }
    // Static files; anything else is the app's index.html.
    const file = path.join(APP_DIST, path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ""));
    const chosen = file.startsWith(APP_DIST) && existsSync(file) && !file.endsWith("/") ? file : path.join(APP_DIST, "index.html");
    const body = readFileSync(chosen);
    res.writeHead(200, { "content-type": TYPES[path.extname(chosen)] ?? "application/octet-stream", "content-length": body.length });
    res.end(body);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // WebSocket: the upgrade request as received, then bytes both ways.
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const gateway = target();
    const upstream = connect(Number(gateway.port), gateway.hostname, () => {
      const lines = [`${req.method ?? "GET"} ${req.url ?? "/"} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(lines.join("\r\n") + "\r\n\r\n");
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get gateway() {
      return state.gateway;
    },
    set gateway(value: URL | undefined) {
      state.gateway = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
