/**
 * The load generator's HTTP client: node:http with a keep-alive Agent, the body read into one Buffer, nothing
 * parsed. Both sides of every comparison use this same client, so its cost is identical for both.
 */
import { Agent, request, type OutgoingHttpHeaders, type RequestOptions } from "node:http";

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: Buffer,
  ) {
    super(`HTTP ${status}: ${body.subarray(0, 300).toString("utf8")}`);
  }
}

export interface PreparedRequest {
  options: RequestOptions;
  body: Buffer | undefined;
}

export function prepareRequest(method: "GET" | "POST", url: string, headers: OutgoingHttpHeaders = {}, body?: string): PreparedRequest {
  const parsed = new URL(url);
  const bytes = body === undefined ? undefined : Buffer.from(body, "utf8");
  return {
    options: {
      method,
      hostname: parsed.hostname,
      port: parsed.port,
      path: `${parsed.pathname}${parsed.search}`,
      headers: bytes ? { ...headers, "content-length": bytes.length } : headers,
    },
    body: bytes,
  };
}

export function postJson(url: string, payload: unknown): PreparedRequest {
  return prepareRequest("POST", url, { "content-type": "application/json", accept: "application/json" }, JSON.stringify(payload));
}

export function getJson(url: string): PreparedRequest {
  return prepareRequest("GET", url, { accept: "application/json" });
}

export class HttpClient {
  readonly #agent: Agent;

  /**
   * `idleTimeoutMs`: an idle kept-alive socket is closed after this long (below the server's keep-alive timeout,
   * 5 s for the gateway, so a client that paused never reuses a socket the server is closing at that moment).
   */
  constructor(maxSockets: number, options: { idleTimeoutMs?: number } = {}) {
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets,
      maxFreeSockets: maxSockets,
      ...(options.idleTimeoutMs === undefined ? {} : { timeout: options.idleTimeoutMs }),
    });
  }

  /** Sends the request; resolves with the body of a 200, rejects with HttpStatusError otherwise. */
  send(prepared: PreparedRequest): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const req = request({ ...prepared.options, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          if (res.statusCode === 200) resolve(body);
          else reject(new HttpStatusError(res.statusCode ?? 0, body));
        });
      });
      req.on("error", reject);
      req.end(prepared.body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
