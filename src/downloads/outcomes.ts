/** The download route's metric labels and hooks (a leaf module: observability/metrics.ts reads it without the route). */

/**
 * Why a download that began did not deliver its last byte (a bounded label):
 * - `upstream_idle`: Codat sent nothing for the stream idle timeout;
 * - `upstream_error`: Codat's body broke otherwise (connection reset or closed early);
 * - `client_idle`: the client took no bytes for the client idle timeout, and was dropped;
 * - `client_gone`: the client went away (before or after the headers).
 * Codat's error answers before the bytes are answered as JSON errors, not counted here.
 */
export type DownloadFailureReason = "upstream_idle" | "upstream_error" | "client_idle" | "client_gone";

export const DOWNLOAD_FAILURE_REASONS: readonly DownloadFailureReason[] = ["upstream_idle", "upstream_error", "client_idle", "client_gone"];

/** Hooks for the download metrics, called on the route's own path: no extra stream step, one call per chunk. */
export interface DownloadMetrics {
  /** A verified link's download began (its upstream call is about to start). */
  started(): void;
  /** This many body bytes were handed to the client's socket. */
  bytes(count: number): void;
  /** That download's response ended, completely or not. */
  ended(): void;
  /** That download did not deliver its last byte, for this reason (once per download, before `ended`). */
  failed(reason: DownloadFailureReason): void;
}
