/**
 * The download route, `GET|HEAD /downloads/<token>`: verifies the signed link (before anything reaches Codat),
 * then streams the attachment's bytes from Codat to the client.
 *
 * Streaming: the upstream body goes through `stream.pipeline` into the response, so it moves at the client's
 * pace (backpressure) in constant memory, whatever the file size. A client that goes away aborts the upstream
 * request (and frees the company's concurrency slot). An upstream failure before the headers is a JSON error
 * with a status and a contract code; after the headers it destroys the response, so the browser reports a
 * failed download instead of saving a truncated file as if it were complete.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Writable, finished } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GraphQLError } from "graphql";
import type { CodatClient } from "../codat/client.js";
import { freeChunk } from "../codat/transport.js";
import { ErrorCode } from "../errors.js";
import { AuthenticationError } from "../auth/caller.js";
import { sendJson } from "../http/respond.js";
import type { RawRoute } from "../http/server.js";
import { DOWNLOAD_SECURITY_HEADERS, contentDisposition, safeContentType } from "./headers.js";
import { DOWNLOAD_PATH_PREFIX, type DownloadLinks, type RefusalReason } from "./links.js";

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
}

/** Hooks for the download metrics, called on the route's own path: no extra stream step, one call per chunk. */
export interface DownloadMetrics {
  /** A verified link's download began (its upstream call is about to start). */
  started(): void;
  /** This many body bytes were handed to the client's socket. */
  bytes(count: number): void;
  /** That download's response ended, completely or not. */
  ended(): void;
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

export function createDownloadRoute(options: DownloadRouteOptions): RawRoute {
  const { client, links, metrics } = options;
  return {
    method: ["GET", "HEAD"],
    url: `${DOWNLOAD_PATH_PREFIX}:token`,
    async handle(req, res, params) {
      let caller: string | undefined;
      try {
        caller = await options.callerOf?.(req);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        sendJson(
          res,
          401,
          { error: { code: ErrorCode.Unauthenticated, message: error.message } },
          { "www-authenticate": 'Bearer realm="codat-gateway"' },
        );
        return;
      }
      const verdict = await links.verify(params["token"] ?? "", { caller });
      if (!verdict.ok) {
        sendJson(res, 403, { error: { code: ErrorCode.Forbidden, reason: verdict.reason, message: REFUSALS[verdict.reason] } });
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
          if (upstream.signal.aborted) return;
          sendUpstreamError(res, error, options.onError);
          return;
        }
        const body = download.body;
        if (upstream.signal.aborted) {
          body?.destroy();
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
        try {
          await pipeline(body, responseSink(res, metrics));
        } catch (error) {
          // pipeline destroyed both ends already (so the browser sees a broken download, never a complete
          // truncated file, and the upstream body and its slot are let go); repeating it states the intent.
          res.destroy();
          body.destroy();
          // Read at this point (an abort may have come in while the pipeline ran).
          if (!isAborted(upstream.signal)) options.onError?.(error);
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
function responseSink(res: ServerResponse, metrics: DownloadMetrics | undefined): Writable {
  return new Writable({
    // The chunks are handed on as they are; the sink itself queues nothing beyond the chunk being written.
    highWaterMark: 0,
    write(chunk: Buffer, _encoding, callback) {
      // Read before freeChunk takes the memory away.
      const length = chunk.length;
      res.write(chunk, (error) => {
        freeChunk(chunk);
        if (!error) metrics?.bytes(length);
        callback(error);
      });
    },
    final(callback) {
      res.end();
      // Done when the last byte is handed to the socket, or failed when the client went away first.
      finished(res, (error) => callback(error));
    },
    destroy(error, callback) {
      // A broken download must look broken to the browser, never like a complete (truncated) file.
      if (error) res.destroy();
      callback(error);
    },
  });
}

/** HTTP status and body for a coded upstream failure; never the upstream URL or headers. */
function sendUpstreamError(res: ServerResponse, error: unknown, onError: ((error: unknown) => void) | undefined): void {
  if (!(error instanceof GraphQLError)) {
    onError?.(error);
    sendJson(res, 500, { error: { code: ErrorCode.InternalServerError, message: "Internal server error." } });
    return;
  }
  const code = typeof error.extensions["code"] === "string" ? error.extensions["code"] : ErrorCode.UpstreamError;
  const body: Record<string, unknown> = { code, message: error.message };
  if (error.extensions["upstream"] !== undefined) body["upstream"] = error.extensions["upstream"];
  const headers: Record<string, string> = {};
  const status = statusFor(code);
  if (status === 429 || status === 503) {
    const retryAfter = error.extensions["retryAfterSeconds"];
    const seconds = typeof retryAfter === "number" && Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : 1;
    headers["retry-after"] = String(seconds);
    body["retryAfterSeconds"] = seconds;
  }
  sendJson(res, status, { error: body }, headers);
}

function statusFor(code: string): number {
  switch (code) {
    case ErrorCode.NotFound:
      return 404;
    case ErrorCode.BadUserInput:
      return 400;
    case ErrorCode.Forbidden:
      return 403;
    case ErrorCode.Conflict:
      return 409;
    case ErrorCode.RateLimited:
      return 429;
    case ErrorCode.UpstreamTimeout:
      return 504;
    // UNAUTHENTICATED means Codat refused the gateway's own key: the browser can do nothing about it.
    default:
      return 502;
  }
}

function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
