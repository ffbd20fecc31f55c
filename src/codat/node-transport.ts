/**
 * A fetch-compatible transport over node:http/node:https: the `fetch` ky calls for every Codat attempt.
 *
 * Why not the global fetch: undici's fetch hands every body over as a web ReadableStream, and every chunk then
 * costs a promise per read, which held a large download well under half the upstream's speed and was the
 * gateway's largest per-request overhead after GraphQL itself. Here the Response that ky sees is a real
 * `Response` (status, headers, a web body ky can read an error answer from, so HTTPError, retries and error
 * mapping work unchanged), while the bytes of a successful answer are taken as the raw Node `IncomingMessage`
 * (`takeNodeBody`): read whole for JSON, piped straight to the client for downloads. `freeChunk` gives each
 * buffer's memory back as soon as its last user is done, which keeps a GiB download from piling up dead
 * buffers between garbage collections.
 *
 * What it does not do: follow redirects (a 3xx is returned as it is, and ky reports it as an HTTP error),
 * decompress by itself (callers undo a Content-Encoding with `decodedBody`: JSON calls accept gzip/br,
 * downloads ask for identity), cache, or send credentials it was not given.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { pipeline, type Duplex, type Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

export interface NodeFetchOptions {
  /**
   * The error a body is destroyed with when it fails part-way for any reason other than the request's abort
   * signal (connection reset or closed early, malformed chunking, idle timeout). Node's own errors for these
   * name no addresses today, but a caller that must never pass raw socket errors on supplies a coded one.
   * Default: a `TypeError("terminated")`, as undici reports it.
   */
  bodyError?: () => Error;
}

/**
 * Kept-alive connections, shared by every call: the TLS/TCP handshake is paid once per socket, not per
 * request. Idle sockets are closed after 4 s (undici's default too), before a typical server's 5 s
 * keep-alive timeout, so a request rarely lands on a socket the server is closing (and a GET that does is
 * retried as a network error). The 64 KiB read buffer lets each response chunk travel as one piece instead of
 * being queued in 16 KiB steps, with a read stop/start on the socket at every step.
 */
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000, highWaterMark: 64 * 1024 } as const;
const httpAgent = new HttpAgent(AGENT_OPTIONS);
const httpsAgent = new HttpsAgent(AGENT_OPTIONS);

/**
 * Longest a started body may go without any socket activity before it is failed (undici's bodyTimeout): an
 * upstream that stalls mid-body would otherwise pin the company slot for as long as the client waits.
 */
const BODY_IDLE_TIMEOUT_MS = 300_000;

/** Statuses whose Response may not carry a body (the Response constructor throws otherwise). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

interface BodyState {
  message: IncomingMessage;
  /** Who reads the bytes: nobody yet, the Node stream (`takeNodeBody`) or the Response's web body. */
  reader: "none" | "node" | "web";
}

/** The raw body behind each Response this transport made; weak, so a dropped Response takes nothing with it. */
const bodies = new WeakMap<Response, BodyState>();

/**
 * The IncomingMessage behind a Response from `nodeFetch` (undefined for any other Response, or one without a
 * body), for watching its lifecycle. Does not claim it: use `takeNodeBody` to read it.
 */
export function nodeBodyOf(response: Response): IncomingMessage | undefined {
  return bodies.get(response)?.message;
}

/**
 * Claims the body of a Response from `nodeFetch` as a Node stream: its web body refuses to read from then on,
 * so the bytes can never be consumed twice. Undefined for any other Response, or one without a body; throws
 * when the web body has already started reading.
 */
export function takeNodeBody(response: Response): IncomingMessage | undefined {
  const state = bodies.get(response);
  if (state === undefined) return undefined;
  if (state.reader === "web") throw new TypeError("Body is unusable: it is already being read as a web stream");
  state.reader = "node";
  return state.message;
}

/**
 * `fetch(input, init)` over node:http(s), plus `options`. Resolves once the status and headers arrive;
 * rejects with the signal's reason when aborted, and with `TypeError("fetch failed", { cause })` (what ky
 * recognises as a network error, and what undici throws) when the connection fails before the headers.
 * After the headers, an abort destroys the body with the signal's reason.
 */
export async function nodeFetch(input: string | URL | Request, init?: RequestInit, options: NodeFetchOptions = {}): Promise<Response> {
  // ky passes its Request and an (empty) init; a new Request is only needed when init changes something.
  const request = input instanceof Request && (init === undefined || Object.keys(init).length === 0) ? input : new Request(input, init);
  const signal = request.signal;
  signal.throwIfAborted();
  const url = new URL(request.url);
  const send = url.protocol === "https:" ? httpsRequest : url.protocol === "http:" ? httpRequest : undefined;
  if (send === undefined) throw new TypeError("fetch failed", { cause: new Error(`unsupported protocol ${url.protocol}`) });

  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  // Read before connecting (downloads send none; this keeps the transport correct for a request that does).
  const payload = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
  if (payload !== undefined) headers["content-length"] = String(payload.byteLength);
  signal.throwIfAborted();

  const bodyError = options.bodyError ?? (() => new TypeError("terminated"));
  const agent = url.protocol === "https:" ? httpsAgent : httpAgent;

  return new Promise<Response>((resolve, reject) => {
    const req: ClientRequest = send(url, { method: request.method, headers, agent });
    let message: IncomingMessage | undefined;
    let socket: Socket | undefined;

    /**
     * Fails the exchange: before the headers by rejecting (a network error ky may retry), after them by
     * destroying the body, which also destroys its socket (it is never handed back to the pool half-read).
     * The body goes first: destroying the request first would `_dump()` it, dropping its reader's listeners.
     */
    const fail = (beforeHeaders: Error, afterHeaders: () => Error): void => {
      if (message === undefined) {
        req.destroy(beforeHeaders);
        reject(beforeHeaders);
      } else if (!message.complete && !message.destroyed) {
        message.destroy(afterHeaders());
      }
    };
    const onAbort = (): void => {
      const reason = toError(signal.reason);
      fail(reason, () => reason);
    };
    /**
     * Node fails an unfinished body from the socket's `close` listener with its own "aborted" error. This one is
     * prepended so the body is destroyed with `bodyError()` first (a destroyed stream keeps its first error),
     * and never reaches its reader as a raw socket error.
     */
    const onSocketClose = (): void => {
      if (message !== undefined && !message.complete && !message.destroyed) message.destroy(bodyError());
    };
    const done = (): void => {
      signal.removeEventListener("abort", onAbort);
      socket?.removeListener("close", onSocketClose);
      socket?.removeListener("data", freeChunk);
    };
    signal.addEventListener("abort", onAbort, { once: true });

    // Node emits socket errors on the request, before and after the response: always listened for, so a late
    // one never becomes an uncaught exception.
    req.on("error", (error) => {
      if (message === undefined) done();
      if (signal.aborted) fail(toError(signal.reason), () => toError(signal.reason));
      else fail(new TypeError("fetch failed", { cause: error }), bodyError);
    });
    req.setTimeout(BODY_IDLE_TIMEOUT_MS, () => {
      fail(new TypeError("fetch failed", { cause: new Error("idle timeout") }), bodyError);
    });

    req.on("response", (response) => {
      message = response;
      // Prepended for this exchange only: the socket is pooled and reused, so `done` takes the listener off.
      socket = response.socket;
      socket.prependListener("close", onSocketClose);
      // An error listener from the start: a body destroyed while nobody reads it must not crash the process.
      response.on("error", () => undefined);
      response.once("end", done);
      response.once("close", done);

      const status = response.statusCode ?? 0;
      let result: Response;
      try {
        const responseHeaders = new Headers();
        const raw = response.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) responseHeaders.append(raw[i] ?? "", raw[i + 1] ?? "");
        const hasBody = request.method !== "HEAD" && !NULL_BODY_STATUSES.has(status);
        const state: BodyState = { message: response, reader: "none" };
        result = new Response(hasBody ? lazyWebBody(state) : null, {
          status,
          statusText: response.statusMessage ?? "",
          headers: responseHeaders,
        });
        if (hasBody) {
          bodies.set(result, state);
          // Node's parser (the socket's first `data` listener) copies the body bytes out of each socket read
          // and is done with it when it returns: give the read buffer back then, instead of letting a GiB
          // download pile up dead 64 KiB buffers between garbage collections (tens of MB of RSS).
          socket.on("data", freeChunk);
        }
        // Nothing will read a body-less answer; reading its (empty) end hands the socket back to the pool.
        else response.resume();
      } catch (error) {
        // A status outside 200–599 or a header the Headers class rejects: not an answer we can pass on.
        response.destroy();
        reject(new TypeError("fetch failed", { cause: error }));
        return;
      }
      resolve(result);
    });

    req.end(payload);
  });
}

/**
 * Gives a chunk's memory back now rather than at some later garbage collection, for a chunk nobody will read
 * again: detaching its ArrayBuffer (`transfer(0)`) frees the backing store at once. A large download allocates
 * fresh buffers at network speed while creating little else for the collector to notice, so without this the
 * dead ones pile up to the collector's external-memory limit (about +100 MB RSS at 1 GB/s).
 *
 * Only a chunk that spans its whole ArrayBuffer is released: a view of part of one may share it with other
 * views (pooled small Buffers, slices a parser or decoder hands out one by one), which must stay intact.
 * The caller must be the chunk's last user: a write is done with it only once its callback has run.
 */
export function freeChunk(chunk: Uint8Array): void {
  const buffer = chunk.buffer;
  if (!(buffer instanceof ArrayBuffer) || chunk.byteOffset !== 0 || chunk.byteLength === 0) return;
  if (chunk.byteLength !== buffer.byteLength) return;
  // ES2024 (Node ≥ 21); the project's lib is ES2023, so the method is declared here.
  const detachable: { readonly byteLength: number; transfer?: (newLength?: number) => ArrayBuffer } = buffer;
  detachable.transfer?.(0);
}

/**
 * A Content-Encoding header as the list of codings to undo, outermost last; `identity` is no coding. We ask
 * for identity, so a server that encodes anyway is rare, but the bytes must still leave as the file itself.
 */
export function contentCodings(header: string | null): string[] {
  if (header === null) return [];
  return header
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
}

/**
 * Undoes gzip, deflate and br as fetch would; another coding is passed on as it is (as fetch does too). The
 * raw body stays the first stage, so destroying the result destroys it too and releases its slot; a failure of
 * any stage fails the result (with the raw body's coded error, or zlib's, which names no address).
 */
export function decodedBody(raw: Readable, encodings: readonly string[]): Readable {
  const stages: Duplex[] = [];
  for (const coding of [...encodings].reverse()) {
    if (coding === "gzip" || coding === "x-gzip") stages.push(createGunzip());
    else if (coding === "deflate") stages.push(createInflate());
    else if (coding === "br") stages.push(createBrotliDecompress());
    else return raw;
  }
  const last = stages.at(-1);
  if (last === undefined) return raw;
  // Errors are seen by whoever reads `last`: pipeline destroys every stage with the first one.
  pipeline([raw, ...stages], () => undefined);
  return last;
}

/**
 * The Response's web body: attaches to the IncomingMessage only when first pulled (ky reads an error answer's
 * body through it), so a successful body taken by `takeNodeBody` never has a web stream in its path.
 * `highWaterMark: 0` keeps it from reading ahead of its reader.
 */
function lazyWebBody(state: BodyState): ReadableStream<Uint8Array> {
  const { message } = state;
  let attached = false;
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (state.reader === "node") {
          controller.error(new TypeError("Body is unusable: it is being read as a Node stream"));
          return;
        }
        state.reader = "web";
        if (!attached) {
          attached = true;
          message.on("data", (chunk: Buffer) => {
            if (settled) return;
            controller.enqueue(chunk);
            if ((controller.desiredSize ?? 0) <= 0) message.pause();
          });
          message.once("end", () => {
            if (settled) return;
            settled = true;
            controller.close();
          });
          message.once("error", (error) => {
            if (settled) return;
            settled = true;
            controller.error(error);
          });
          message.once("close", () => {
            if (settled) return;
            // Closed without an end or an error: destroyed by someone without a reason.
            settled = true;
            controller.error(new TypeError("terminated"));
          });
        }
        message.resume();
      },
      cancel() {
        settled = true;
        message.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
