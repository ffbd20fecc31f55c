/**
 * The `fetch` under ky: every Codat attempt goes out through undici's `Agent.request`, the cheapest HTTP client
 * Node has (a quarter of the CPU per call of undici's own `fetch`, and about half of `node:http`'s, measured in
 * README "Benchmarks"). ky does what it is there for (building the Request, HTTPError with the error body read,
 * NetworkError for a failed fetch) and receives real `Response`s:
 *
 * - a JSON answer (`body: "json"`) is read whole inside the attempt, decoded and counted against `maxBodyBytes`
 *   (CODAT_MAX_RESPONSE_BYTES: beyond it the attempt fails with `ResponseTooLargeError`, never retried), and
 *   returned as a Response whose body holds those bytes (a one-chunk stream: once read, the Response keeps
 *   nothing of them) and whose headers are Codat's. A connection that breaks mid-body fails the attempt as a
 *   network error (retried like any), and the company slot is free as soon as Codat is done;
 * - a streamed answer (`body: "stream"`, downloads) resolves at the headers; its body is a web `ReadableStream`
 *   fed from undici's Node stream one chunk per read (no buffering of its own, so backpressure reaches the
 *   socket), whose failures are coded (`streamError()`), and `onStreamDone` is told once when it is over
 *   (ended, failed, or cancelled by its reader);
 * - an error status (any 4xx/5xx) carries its (capped) text as its body, which ky reads into HTTPError
 *   and errors.ts quotes from.
 *
 * Failures are what any `fetch` reports: the signal's reason when aborted, otherwise `TypeError("fetch failed",
 * { cause })` (ky's NetworkError), the cause naming what failed — undici's `UND_ERR_HEADERS_TIMEOUT` or
 * `UND_ERR_BODY_TIMEOUT` for an attempt that took too long (retry.ts `isAttemptTimeout`). A body that does not
 * decode is passed on as zlib's error, one too large as `ResponseTooLargeError` (Codat's answer, not a network
 * failure). Errors never carry the URL.
 *
 * Time limits cost no JavaScript timer here: undici's own `headersTimeout` bounds the wait for the headers (the
 * attempt timeout) and `bodyTimeout` every gap between body chunks (the attempt timeout for JSON, the stream
 * idle timeout for downloads). The call's deadline (call.ts) is the one timer per call.
 *
 * What it does not do: follow redirects (a 3xx is an HTTP error for ky), decompress by itself (`decodedBody`;
 * JSON calls accept gzip/deflate/br and are decoded here, downloads ask for identity), cache, or send
 * credentials it was not given.
 */
import { Readable, pipeline, type Duplex } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { Agent, type Dispatcher } from "undici";

export interface AttemptOptions {
  /** Aborts the attempt (before the headers: the send; after them: the body). Default: the request's signal. */
  signal?: AbortSignal | undefined;
  /** `json`: the body is read whole before the Response is returned. `stream`: returned at the headers. */
  body: "json" | "stream";
  /** Longest wait for the response headers; for JSON also the longest gap between two body chunks. */
  timeoutMs: number;
  /** Longest gap between two chunks of a streamed body before it fails with `streamError()`. */
  streamIdleTimeoutMs: number;
  /**
   * The error a streamed body fails with when it breaks part-way for any reason other than the request's abort
   * signal (connection reset or closed early, malformed framing, idle timeout), so its reader never sees a raw
   * socket error, which can name addresses.
   */
  streamError: () => Error;
  /** Largest decoded JSON body accepted (CODAT_MAX_RESPONSE_BYTES); beyond it `ResponseTooLargeError`. */
  maxBodyBytes?: number | undefined;
  /** A streamed body is over (ended, failed, or cancelled by its reader): called once, for streamed bodies only. */
  onStreamDone?: (() => void) | undefined;
}

/**
 * A JSON answer larger, once decoded, than CODAT_MAX_RESPONSE_BYTES: read no further, its bytes dropped. Not a
 * network failure (the same answer would come again): errors.ts reports it as UPSTREAM_ERROR, retry.ts never
 * repeats it. Counted while decoding, so a small compressed body that decodes to gigabytes stops at the cap.
 */
export class ResponseTooLargeError extends Error {
  readonly code = "CODAT_RESPONSE_TOO_LARGE";
  constructor(readonly limitBytes: number) {
    super(`Codat's answer is larger than ${limitBytes} bytes`);
    this.name = "ResponseTooLargeError";
  }
}

/** Most of an error answer that is kept (Codat's are a few hundred bytes; errors.ts quotes at most 200 chars). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Kept-alive connections, shared by every call: the TLS/TCP handshake is paid once per socket, not per request.
 * Idle sockets are closed after 4 s, before a typical server's 5 s keep-alive timeout, so a request rarely
 * lands on a socket the server is closing (a GET that does is retried as a network error). Per-request
 * timeouts are passed with each request; the defaults here only apply to a request that names none.
 */
const agent = new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 60_000, connect: { timeout: 10_000 } });

/** Statuses whose Response may not carry a body (the Response constructor throws otherwise). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/**
 * One attempt: `request` (ky's Request) over undici. Rejects with `options.signal`'s reason when aborted, and
 * with `TypeError("fetch failed", { cause })` for any other failure before the answer is complete (the headers,
 * or a JSON body, taking longer than `timeoutMs` included: see `isAttemptTimeout`).
 */
export async function send(request: Request, options: AttemptOptions): Promise<Response> {
  const signal = options.signal ?? request.signal;
  signal.throwIfAborted();
  const url = new URL(request.url);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError("fetch failed", { cause: new Error(`unsupported protocol ${url.protocol}`) });
  }
  const headers: string[] = [];
  for (const [name, value] of request.headers) headers.push(name, value);
  const payload = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());

  const json = options.body === "json";
  let answer: Dispatcher.ResponseData;
  try {
    answer = await agent.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      signal,
      headersTimeout: options.timeoutMs,
      bodyTimeout: json ? options.timeoutMs : options.streamIdleTimeoutMs,
    });
  } catch (error) {
    throw failure(error, signal);
  }

  const { statusCode: status, body } = answer;
  // A body nobody reads must not crash the process when it fails.
  body.on("error", () => undefined);
  const ok = status >= 200 && status < 300;
  let responseHeaders: [string, string][];
  try {
    responseHeaders = headerPairs(answer.headers);
  } catch (error) {
    body.destroy();
    throw new TypeError("fetch failed", { cause: error });
  }
  const hasBody = request.method !== "HEAD" && !NULL_BODY_STATUSES.has(status);

  let content: Buffer[] | null = null;
  let stream: Readable | undefined;
  try {
    if (!hasBody) body.resume();
    else if (!ok) content = await readChunks(body, answer.headers["content-encoding"], MAX_ERROR_BODY_BYTES);
    else if (json) content = await readJson(body, answer.headers, options.maxBodyBytes ?? Infinity);
    else stream = codedStream(body, signal, options.streamError);
  } catch (error) {
    body.destroy();
    throw failure(error, signal);
  }

  let response: Response;
  try {
    // A successful JSON body is a stream of the chunks as they came rather than the bytes themselves: a
    // Response built from bytes keeps them as its body's source for as long as it lives, and each copy of a
    // page is fresh external memory for V8 to account for (measured: joining the chunks here as well as in
    // the reader's text() doubled the full collections). An error body is small: its bytes, joined.
    const webBody = stream
      ? webStream(stream, options.onStreamDone)
      : content === null
        ? null
        : ok
          ? chunkStream(content)
          : Buffer.concat(content);
    response = new Response(webBody, { status, headers: responseHeaders });
  } catch (error) {
    // A status outside 200–599, or a header the Headers class refuses: not an answer we can pass on.
    body.destroy();
    stream?.destroy();
    throw new TypeError("fetch failed", { cause: error });
  }
  return response;
}

/**
 * A streamed body as a web stream: one chunk handed over per read (the chunks themselves, so the reader may free
 * them), the Node stream paused in between, so the socket is read only as fast as the reader reads. Its
 * failure is the reader's (the coded error object itself: see `isStreamIdleTimeout`); cancelling it destroys
 * the Node stream, which closes Codat's connection. `onDone` runs once when it is over, however it ends.
 */
function webStream(node: Readable, onDone: (() => void) | undefined): ReadableStream<Uint8Array> {
  let over = false;
  const done = (): void => {
    if (over) return;
    over = true;
    onDone?.();
  };
  node.once("close", done);
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        node.on("data", (chunk: Buffer) => {
          controller.enqueue(chunk);
          node.pause();
        });
        node.once("end", () => {
          controller.close();
          done();
        });
        node.once("error", (error) => {
          controller.error(error);
          done();
        });
      },
      pull() {
        node.resume();
      },
      cancel(reason) {
        node.destroy(reason instanceof Error ? reason : undefined);
        done();
      },
    },
    { highWaterMark: 0 },
  );
}

/** A body of the given chunks, each given up as it is read. */
function chunkStream(chunks: Buffer[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

/**
 * What a fetch reports for a failure of the exchange (see `send`): the abort's reason, zlib's own error for a
 * body that does not decode (Codat's answer, not a network failure: errors.ts reports it as UPSTREAM_ERROR and
 * retry.ts does not repeat it), else `TypeError("fetch failed", { cause })`, which ky turns into NetworkError.
 */
function failure(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
  if (error instanceof ResponseTooLargeError || (typeof code === "string" && code.startsWith("Z_"))) return error;
  return new TypeError("fetch failed", { cause: error });
}

function headerPairs(headers: Record<string, string | string[] | undefined>): [string, string][] {
  const pairs: [string, string][] = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === "string") pairs.push([name, value]);
    else if (value !== undefined) for (const item of value) pairs.push([name, item]);
  }
  return pairs;
}

/**
 * A whole JSON body, decoded, as its chunks; `ResponseTooLargeError` as soon as it passes `limit` bytes (a
 * declared length beyond it fails before any byte is read).
 */
async function readJson(
  raw: Dispatcher.ResponseData["body"],
  headers: Dispatcher.ResponseData["headers"],
  limit: number,
): Promise<Buffer[]> {
  const encoding = headers["content-encoding"];
  const codings = contentCodings(Array.isArray(encoding) ? encoding.join(",") : (encoding ?? null));
  // The common case, a whole plain body: its chunks as undici hands them over (no async iteration).
  if (codings.length === 0) {
    if (Number(headers["content-length"]) > limit) throw new ResponseTooLargeError(limit);
    return allChunks(raw, limit);
  }
  const source = decodedBody(raw, codings);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    const buffer = chunk as Buffer;
    length += buffer.byteLength;
    if (length > limit) {
      source.destroy();
      throw new ResponseTooLargeError(limit);
    }
    chunks.push(buffer);
  }
  return chunks;
}

/** A whole (JSON or error) body, decoded, as its chunks; at most `limit` bytes of it (the rest is dropped). */
async function readChunks(raw: Dispatcher.ResponseData["body"], encoding: string | string[] | undefined, limit: number): Promise<Buffer[]> {
  const codings = contentCodings(Array.isArray(encoding) ? encoding.join(",") : (encoding ?? null));
  const source = codings.length === 0 ? raw : decodedBody(raw, codings);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    const buffer = chunk as Buffer;
    length += buffer.byteLength;
    if (length >= limit) {
      chunks.push(buffer.subarray(0, buffer.byteLength - (length - limit)));
      source.destroy();
      break;
    }
    chunks.push(buffer);
  }
  return chunks;
}

/**
 * Every chunk of a body, once it has ended; rejects with its error, when it closes before its end, or with
 * `ResponseTooLargeError` as soon as it passes `limit` bytes (the rest unread, the connection closed).
 */
function allChunks(raw: Readable, limit: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    raw.on("data", (chunk: Buffer) => {
      length += chunk.byteLength;
      if (length > limit) {
        reject(new ResponseTooLargeError(limit));
        raw.destroy();
        return;
      }
      chunks.push(chunk);
    });
    raw.once("end", () => {
      resolve(chunks);
    });
    raw.once("error", reject);
    raw.once("close", () => {
      reject(new Error("the body closed before its end"));
    });
  });
}

/** The coded errors of streamed bodies that failed because Codat sent nothing for the stream idle timeout. */
const idleFailures = new WeakSet<object>();

/**
 * Whether a streamed body (see `send`) failed with this error because Codat sent no byte for the stream idle
 * timeout while its reader was ready for more (a reader that is itself slow never trips it: undici does not
 * count the time its parser is paused for backpressure).
 */
export function isStreamIdleTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && idleFailures.has(error);
}

/**
 * The streamed body as its reader sees it: the same chunks (so `freeChunk` still applies), with every failure
 * other than the request's own abort (which keeps the signal's reason) replaced by `streamError()`. Destroying it destroys the upstream body,
 * which closes the connection and frees whatever the body held.
 */
function codedStream(raw: Readable, signal: AbortSignal, streamError: () => Error): Readable {
  const out = new Readable({
    // The upstream body has its own 64 KiB buffer; this one only passes chunks on.
    highWaterMark: 0,
    read() {
      raw.resume();
    },
    destroy(error, callback) {
      raw.destroy();
      callback(error);
    },
  });
  raw.on("data", (chunk: Buffer) => {
    if (!out.push(chunk)) raw.pause();
  });
  raw.once("end", () => out.push(null));
  raw.once("error", (error) => {
    // An abort through the request's signal keeps its reason (the caller's own); anything else is coded.
    if (signal.aborted) {
      out.destroy(toError(signal.reason));
      return;
    }
    const coded = streamError();
    // undici's bodyTimeout: no byte for streamIdleTimeoutMs while the reader was willing to take one.
    if ((error as NodeJS.ErrnoException).code === "UND_ERR_BODY_TIMEOUT") idleFailures.add(coded);
    out.destroy(coded);
  });
  raw.once("close", () => {
    if (!out.destroyed && !out.readableEnded && !raw.readableEnded) out.destroy(signal.aborted ? toError(signal.reason) : streamError());
  });
  raw.pause();
  return out;
}

/**
 * A Content-Encoding header as the list of codings to undo, outermost last; `identity` is no coding. We ask
 * for identity on downloads, so a server that encodes anyway is rare, but the bytes must still leave as the file.
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

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
