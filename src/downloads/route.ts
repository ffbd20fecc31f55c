/**
 * The download route, `GET|HEAD /downloads/<token>`: verifies the signed link (before anything reaches Codat),
 * then streams the attachment's bytes from Codat to the client.
 *
 * Streaming: the upstream body goes through `stream.pipeline` into the response, so it moves at the client's
 * pace (backpressure) in constant memory, whatever the file size. A client that goes away aborts the upstream
 * request (and frees the company's concurrency slot). An upstream failure before the headers is a JSON error
 * with a status and a contract code; after the headers it destroys the response, so the browser reports a
 * failed download instead of saving a truncated file as if it were complete.
 *
 * Bounded time both ways, so neither side can hold a slot for ever:
 * - Codat's body: no byte for the client's stream idle timeout (CODAT_STREAM_IDLE_TIMEOUT_MS) while the route
 *   could take one fails the body (undici's own timer, transport.ts): the response is destroyed, the slot freed,
 *   one warn line, `upstream_idle` counted.
 * - The client: a socket that takes no bytes for `clientIdleTimeoutMs` (DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS) while
 *   a write waits for it is dropped and Codat's request aborted (freeing the slot); one info line,
 *   `client_idle` counted. One interval timer per download watches a counter the sink keeps; nothing per chunk.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Writable, finished } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GraphQLError } from "graphql";
import { isStreamIdleTimeout, type CodatClient } from "../codat/client.js";
import { ErrorCode, upstreamStatus, type Code } from "../errors.js";
import { AuthenticationError } from "../auth/caller.js";
import { HttpError, sendError } from "../http/errors.js";
import type { RawRoute } from "../http/server.js";
import { httpDefaults } from "../config/http.js";
import { currentRequestLog } from "../observability/request-log.js";
import type { DownloadFailureReason, DownloadMetrics } from "./outcomes.js";
import { freeChunk } from "./free-chunk.js";
import { DOWNLOAD_SECURITY_HEADERS, contentDisposition, safeContentType } from "./headers.js";
import { DOWNLOAD_PATH_PREFIX } from "../paths.js";
import { type DownloadLinks, type RefusalReason } from "./links.js";

export interface DownloadRouteOptions {
  client: CodatClient;
  links: DownloadLinks;
  /**
   * The authenticated caller of a download request, when it carries credentials (undefined when it carries
   * none, as a browser following a plain link does). Throws AuthenticationError for bad credentials.
   */
  callerOf?: (req: IncomingMessage) => Promise<string | undefined>;
  onError?: (error: unknown) => void;
  /** Told about each download (observability/metrics.ts); absent, the route counts nothing. */
  metrics?: DownloadMetrics | undefined;
  /**
   * A client whose socket takes no bytes for this long while the route waits for it is dropped, and Codat's
   * request aborted (DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS); default 30 000 ms.
   */
  clientIdleTimeoutMs?: number | undefined;
  /** The Codat client's stream idle timeout, for the log line of a stalled body only (it is the client's to apply). */
  upstreamIdleTimeoutMs?: number | undefined;
}

const REFUSALS: Record<RefusalReason, string> = {
  invalid: "This download link is not valid. Query Attachment.downloadUrl again for a fresh link.",
  expired: "This download link has expired. Query Attachment.downloadUrl again for a fresh link.",
  wrong_caller: "This download link was issued to someone else.",
};

/** Why the client's request ended: it went away. Used as the abort reason, so it is never reported as an error. */
class ClientGone extends Error {
  override readonly name = "ClientGone";
}

/** The abort reason when the client stopped taking bytes and was dropped. */
class ClientIdle extends Error {
  override readonly name = "ClientIdle";
}

/** The client watchdog looks this many times per idle timeout, so a drop comes 1 to 1¼ timeouts after the last byte. */
const CLIENT_IDLE_CHECKS = 4;

export function createDownloadRoute(options: DownloadRouteOptions): RawRoute {
  const { client, links, metrics } = options;
  const clientIdleTimeoutMs = options.clientIdleTimeoutMs ?? httpDefaults.DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS;
  return {
    method: ["GET", "HEAD"],
    url: `${DOWNLOAD_PATH_PREFIX}:token`,
    // A browser app on one of CORS_ORIGINS may fetch() the link and read the file's name and size.
    cors: {
      methods: ["GET", "HEAD"],
      allowedHeaders: ["authorization", "x-request-id", "traceparent", "baggage", "sentry-trace"],
      exposedHeaders: ["content-disposition", "content-length", "content-type", "x-request-id"],
    },
    async handle(req, res, params, accessFacts) {
      let caller: string | undefined;
      try {
        caller = await options.callerOf?.(req);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        sendError(
          res,
          new HttpError(ErrorCode.Unauthenticated, error.message, { headers: { "www-authenticate": 'Bearer realm="codat-gateway"' } }),
        );
        return;
      }
      const verdict = await links.verify(params["token"] ?? "", { caller });
      if (!verdict.ok) {
        sendError(res, new HttpError(ErrorCode.Forbidden, REFUSALS[verdict.reason], { extra: { reason: verdict.reason } }));
        return;
      }
      const { grant } = verdict;
      const head = req.method === "HEAD";

      const upstream = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) upstream.abort(new ClientGone());
      };
      res.once("close", onClose);
      metrics?.started();
      try {
        let download;
        try {
          download = await client.downloadCustomerAttachment(grant.companyId, grant.connectionId, grant.customerId, grant.attachmentId, {
            signal: upstream.signal,
            method: head ? "HEAD" : "GET",
          });
        } catch (error) {
          if (upstream.signal.aborted) {
            metrics?.failed("client_gone");
            return;
          }
          sendUpstreamError(res, error, options.onError);
          return;
        }
        const body = download.body;
        if (upstream.signal.aborted) {
          body?.destroy();
          metrics?.failed("client_gone");
          return;
        }

        const headers: Record<string, string> = {
          ...DOWNLOAD_SECURITY_HEADERS,
          "content-type": safeContentType(download.contentType),
          "content-disposition": contentDisposition(grant.name),
        };
        // The client drops the length when Codat's body was content-encoded (it is decoded, so that length is stale).
        if (download.contentLength !== undefined) headers["content-length"] = String(download.contentLength);
        res.writeHead(200, headers);
        if (head || body === null) {
          body?.destroy();
          res.end();
          return;
        }
        const progress: SinkProgress = { waiting: false, bytes: 0 };
        const watchdog = watchClient(progress, clientIdleTimeoutMs, () => {
          res.destroy();
          upstream.abort(new ClientIdle());
        });
        try {
          await pipeline(body, responseSink(res, metrics, progress));
        } catch (error) {
          // pipeline destroyed both ends already (so the browser sees a broken download, never a complete
          // truncated file, and the upstream body and its slot are let go); repeating it states the intent.
          res.destroy();
          body.destroy();
          const reason = watchdog.fired ? "client_idle" : failureReason(error, upstream.signal);
          metrics?.failed(reason);
          // The access line says why the response is incomplete (server.ts).
          accessFacts.incomplete = reason;
          const facts = { reason, bytesSent: progress.bytes };
          if (reason === "client_idle") {
            currentRequestLog()?.info(
              { download: { ...facts, idleTimeoutMs: clientIdleTimeoutMs } },
              "download dropped: the client stopped reading",
            );
          } else if (reason === "upstream_idle") {
            const idle = options.upstreamIdleTimeoutMs !== undefined ? { idleTimeoutMs: options.upstreamIdleTimeoutMs } : {};
            currentRequestLog()?.warn({ download: { ...facts, ...idle } }, "download failed: Codat's body stalled");
          } else if (reason === "upstream_error") {
            options.onError?.(error);
          }
        } finally {
          watchdog.stop();
        }
      } finally {
        res.off("close", onClose);
        metrics?.ended();
      }
    },
  };
}

/**
 * The response as a pipeline destination that gives each chunk's memory back as soon as the socket has taken
 * it (see freeChunk): a 1 GiB download then runs in a few MB of buffers instead of leaving ~100 MB of dead
 * ones for the garbage collector. One chunk is in flight at a time, and the next is asked for when the socket
 * has accepted it, which is the same backpressure `pipe` gives, without per-chunk promises. The metrics count
 * each chunk there too, so counting adds no step to the pipeline.
 */
function responseSink(res: ServerResponse, metrics: DownloadMetrics | undefined, progress: SinkProgress): Writable {
  return new Writable({
    // The chunks are handed on as they are; the sink itself queues nothing beyond the chunk being written.
    highWaterMark: 0,
    write(chunk: Buffer, _encoding, callback) {
      // Read before freeChunk takes the memory away.
      const length = chunk.length;
      progress.waiting = true;
      res.write(chunk, (error) => {
        progress.waiting = false;
        freeChunk(chunk);
        if (!error) {
          progress.bytes += length;
          metrics?.bytes(length);
        }
        callback(error);
      });
    },
    final(callback) {
      progress.waiting = true;
      res.end();
      // Done when the last byte is handed to the socket, or failed when the client went away first.
      finished(res, (error) => {
        progress.waiting = false;
        callback(error);
      });
    },
    destroy(error, callback) {
      // A broken download must look broken to the browser, never like a complete (truncated) file.
      if (error) res.destroy();
      callback(error);
    },
  });
}

/** What the client watchdog reads: whether a write waits for the client's socket, and the bytes it has taken. */
interface SinkProgress {
  waiting: boolean;
  bytes: number;
}

/**
 * Calls `onIdle` once the client's socket has taken no bytes for `timeoutMs` while a write waited for it. One
 * interval timer per download (unref'd), ticking CLIENT_IDLE_CHECKS times per timeout: the write path only
 * sets a flag and adds to a counter. A write waiting at two ticks with no byte taken between them is the same
 * write (another one needs this one's bytes counted first), so CLIENT_IDLE_CHECKS such intervals in a row mean
 * it has waited at least `timeoutMs`, and at most a quarter more (it may have begun just after the tick before
 * the first). A tick that finds the route waiting for Codat, or bytes taken, starts the count again.
 */
function watchClient(progress: SinkProgress, timeoutMs: number, onIdle: () => void): { readonly fired: boolean; stop(): void } {
  let seenBytes = progress.bytes;
  let seenWaiting = progress.waiting;
  let idleIntervals = 0;
  let fired = false;
  const timer = setInterval(
    () => {
      const stuck = progress.waiting && seenWaiting && progress.bytes === seenBytes;
      seenBytes = progress.bytes;
      seenWaiting = progress.waiting;
      idleIntervals = stuck ? idleIntervals + 1 : 0;
      if (idleIntervals >= CLIENT_IDLE_CHECKS) {
        clearInterval(timer);
        fired = true;
        onIdle();
      }
    },
    Math.max(1, Math.ceil(timeoutMs / CLIENT_IDLE_CHECKS)),
  );
  timer.unref();
  return {
    get fired() {
      return fired;
    },
    stop: () => clearInterval(timer),
  };
}

/** HTTP status and body for a coded upstream failure (the table's, see upstreamStatus); never the upstream URL or headers. */
function sendUpstreamError(res: ServerResponse, error: unknown, onError: ((error: unknown) => void) | undefined): void {
  if (!(error instanceof GraphQLError)) {
    onError?.(error);
    sendError(res, new HttpError(ErrorCode.InternalServerError, "Internal server error."));
    return;
  }
  const code = (typeof error.extensions["code"] === "string" ? error.extensions["code"] : ErrorCode.UpstreamError) as Code;
  const extra: Record<string, unknown> = {};
  if (error.extensions["upstream"] !== undefined) extra["upstream"] = error.extensions["upstream"];
  const headers: Record<string, string> = {};
  const status = upstreamStatus(code);
  if (status === 429 || status === 503) {
    const retryAfter = error.extensions["retryAfterSeconds"];
    const seconds = typeof retryAfter === "number" && Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : 1;
    headers["retry-after"] = String(seconds);
    extra["retryAfterSeconds"] = seconds;
  }
  sendError(res, new HttpError(code, error.message, { status, headers, extra }));
}

/**
 * Which side broke a download whose pipeline failed. The first error decides (pipeline keeps it): Codat's body
 * fails only with a coded GraphQLError (transport.ts codes every break of it) or a decoder's (zlib) error;
 * anything else is the client's side: the abort reason once it went away, or a write to its closed socket
 * (ECONNRESET, EPIPE, a premature close), which can come before the response's `close` aborts the signal.
 */
function failureReason(error: unknown, signal: AbortSignal): DownloadFailureReason {
  if (isStreamIdleTimeout(error)) return "upstream_idle";
  if (error instanceof GraphQLError || isDecoderError(error)) return "upstream_error";
  if (signal.aborted || isSocketError(error)) return "client_gone";
  return "upstream_error";
}

function isDecoderError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && code.startsWith("Z_");
}

/** Errors of writing to a client's socket that went away (Node's codes; never Codat's, which are coded). */
function isSocketError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    code === "ECONNABORTED" ||
    // A write queued on a connection the client has just closed (libuv cancels it).
    code === "ECANCELED" ||
    code === "ERR_STREAM_PREMATURE_CLOSE" ||
    code === "ERR_STREAM_DESTROYED" ||
    code === "ERR_STREAM_WRITE_AFTER_END"
  );
}
