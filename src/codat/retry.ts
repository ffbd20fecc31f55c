/**
 * When a failed attempt may be repeated, and after how long. The rules follow what Codat guarantees:
 *
 * - GET and HEAD are safe to repeat: retried on 408, 429, 500, 502, 503, 504, network errors and per-attempt
 *   timeouts.
 * - POST carries an `Idempotency-Key`, so Codat replays the first answer for a repeated key. A 5xx is part of
 *   that replay (repeating it would only return the same 5xx), so POST is retried on 429, network errors and
 *   timeouts, never on a status that Codat produced after processing the request. It is also retried on 409,
 *   which Codat answers while a first request with the same key is still running: the repeat then receives the
 *   first request's replayed answer instead of failing a caller whose write did happen.
 * - PUT is not covered by Codat's idempotency. It is repeated only when Codat provably did not act on it: the
 *   connection was refused (nothing was sent) or Codat answered 429 (it was rejected before processing).
 *
 * Waits use exponential backoff with full jitter, or the server's `Retry-After` when it gives one.
 *
 * A failed attempt is one of ky's errors: HTTPError (an answer with an error status) or NetworkError (the fetch
 * failed; an attempt timeout is one too, told apart by its cause: `isAttemptTimeout`). Anything else (the
 * call's deadline or the caller's abort, an undecodable body) is never retried.
 */
import { HTTPError, NetworkError } from "ky";

export interface RetryPolicy {
  /** Retries after the first attempt. */
  limit: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** A longer `Retry-After` is not waited for: the call fails at once with the advice passed on. */
  maxRetryAfterMs: number;
}

const RETRYABLE_READ_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Whether a failed attempt of `method` may be repeated, ignoring timing. */
export function isRetryable(method: string, error: unknown): boolean {
  switch (method.toUpperCase()) {
    case "GET":
    case "HEAD":
      if (error instanceof HTTPError) return RETRYABLE_READ_STATUSES.has(error.response.status);
      return error instanceof NetworkError;
    case "POST":
      if (error instanceof HTTPError) return error.response.status === 429 || error.response.status === 409;
      return error instanceof NetworkError;
    case "PUT":
      if (error instanceof HTTPError) return error.response.status === 429;
      return error instanceof NetworkError && causeCode(error, "ECONNREFUSED");
    default:
      return false;
  }
}

/**
 * Whether a failed attempt is a per-attempt timeout: a NetworkError whose cause is undici's headers or body
 * timeout (transport.ts), as opposed to a connection that failed.
 */
export function isAttemptTimeout(error: unknown): boolean {
  return error instanceof NetworkError && (causeCode(error, "UND_ERR_HEADERS_TIMEOUT") || causeCode(error, "UND_ERR_BODY_TIMEOUT"));
}

/** `Retry-After` in milliseconds from now (delta-seconds or HTTP-date), or undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP-date always names a day or month; this keeps Date.parse from reading "-1" as a year.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Full-jitter exponential backoff for the `retryNumber`-th retry (1-based): uniform in [0, min(cap, base·2ⁿ⁻¹)). */
export function backoffMs(retryNumber: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (retryNumber - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The wait before the next attempt, or undefined when the call should stop now: the failure is not retryable,
 * the server asks for a longer pause than we are willing to hold a GraphQL request open for, or the wait would
 * run past the call's deadline (then the caller reports the last failure instead of sleeping into a timeout).
 */
export function nextRetryDelay(args: {
  method: string;
  error: unknown;
  retryNumber: number;
  policy: RetryPolicy;
  deadlineAt: number;
  now?: number;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
}): number | undefined {
  const { method, error, retryNumber, policy, deadlineAt } = args;
  const now = args.now ?? Date.now();
  if (retryNumber > policy.limit || !isRetryable(method, error)) return undefined;
  let wait: number;
  const serverWait = error instanceof HTTPError ? retryAfterMs(error.response.headers, now) : undefined;
  if (serverWait !== undefined) {
    if (serverWait > policy.maxRetryAfterMs) return undefined;
    wait = serverWait;
  } else {
    wait = backoffMs(retryNumber, policy, args.random);
  }
  if (now + wait >= deadlineAt) return undefined;
  return wait;
}

/** Whether `code` appears anywhere in the error's cause chain (undici nests the errno two levels down). */
function causeCode(error: unknown, code: string): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if ("code" in current && current.code === code) return true;
    // Happy-eyeballs connects to several addresses and reports an AggregateError; refused on every one counts.
    if (current instanceof AggregateError && current.errors.length > 0) {
      return current.errors.every((inner: unknown) => causeCode(inner, code));
    }
    current = current.cause;
  }
  return false;
}
