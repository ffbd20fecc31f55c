/**
 * The one place where a failed Codat call becomes a coded GraphQLError (CONTRACT.md "Errors").
 *
 * What may leave this module: a fixed message per code, for 4xx answers Codat's own `error` text after
 * sanitising, the upstream status, Codat's correlation id, `canBeRetried`, `detailedErrorCode` and `service`
 * (each only when it is the short token or integer Codat's ErrorMessage schema says), and a retry hint. What never leaves it: the request
 * URL or base URL, headers (so never the API key), the raw body, and the original error or its stack — ky's
 * errors put the full URL in their message, so they are never wrapped or chained.
 */
import { GraphQLError } from "graphql";
import { HTTPError, NetworkError } from "ky";
import { ErrorCode, gatewayError, type UpstreamInfo } from "../errors.js";
import { isAttemptTimeout, retryAfterMs } from "./retry.js";
import type { CodatErrorMessage } from "./types.js";
import { ResponseTooLargeError } from "./transport.js";

/** Codat's field-level validation for a rejected write (`ErrorMessage.validation`). */
export type CodatValidation = NonNullable<CodatErrorMessage["validation"]>;

const MESSAGES = {
  [ErrorCode.BadUserInput]: "Codat rejected the request as invalid",
  [ErrorCode.Unauthenticated]: "Codat rejected the gateway's credentials",
  [ErrorCode.Forbidden]: "Codat refused access to this resource",
  [ErrorCode.NotFound]: "Codat could not find the requested resource",
  [ErrorCode.Conflict]: "Codat reported a conflict with the current state of the resource",
  [ErrorCode.RateLimited]: "Codat's rate limit was reached; try again later",
  [ErrorCode.UpstreamTimeout]: "Codat did not respond in time",
  [ErrorCode.UpstreamUnavailable]: "Codat is unavailable",
  [ErrorCode.UpstreamError]: "Codat failed to process the request",
} as const;
type UpstreamCode = keyof typeof MESSAGES;

/**
 * A coded error that came from a Codat answer. `status` and `validation` are non-enumerable own properties, so
 * a mutation can turn validation problems into payload data while nothing serialises them into the response.
 */
export class CodatRequestError extends GraphQLError {
  declare readonly status: number | undefined;
  declare readonly validation: CodatValidation | undefined;

  constructor(base: GraphQLError, status: number | undefined, validation: CodatValidation | undefined) {
    super(base.message, { extensions: base.extensions });
    Object.defineProperty(this, "status", { value: status, enumerable: false, writable: false });
    Object.defineProperty(this, "validation", { value: validation, enumerable: false, writable: false });
  }
}

/** Codat's validation details of a rejected request (a 400 that carried `validation`), else undefined. */
export function codatValidationOf(error: unknown): CodatValidation | undefined {
  return error instanceof CodatRequestError ? error.validation : undefined;
}

/** Maps a thrown ky error (HTTP status, network failure, per-attempt timeout) to a coded GraphQLError. */
export function mapUpstreamError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  if (error instanceof HTTPError) return fromHttpError(error);
  if (isAttemptTimeout(error)) return upstreamTimeout();
  if (error instanceof NetworkError) return upstreamUnavailable();
  if (error instanceof ResponseTooLargeError) {
    return gatewayError(ErrorCode.UpstreamError, "Codat's answer was larger than the gateway accepts (CODAT_MAX_RESPONSE_BYTES)");
  }
  // Anything else escaped ky's classification (a body that did not decode, most likely). Report it as an
  // upstream failure without its message, which may carry the URL.
  return gatewayError(ErrorCode.UpstreamError, MESSAGES[ErrorCode.UpstreamError]);
}

/** The call's overall deadline (or a per-attempt timeout) passed without an answer. */
export function upstreamTimeout(): GraphQLError {
  return gatewayError(ErrorCode.UpstreamTimeout, MESSAGES[ErrorCode.UpstreamTimeout]);
}

/**
 * No company slot could be had: too many of the company's requests are already waiting, or none became free
 * before the call's queue wait or deadline ran out. Nothing was sent to Codat; the client may try again.
 */
export function slotUnavailable(retryAfterMs?: number): GraphQLError {
  return gatewayError(ErrorCode.RateLimited, "Too many requests for this company are waiting for Codat; try again shortly", {
    extensions: { retryAfterSeconds: Math.max(1, Math.ceil((retryAfterMs ?? 0) / 1000)) },
  });
}

/** Codat's per-IP request budget (CODAT_REQUESTS_PER_MINUTE) is spent until the next window, `retryAfterMs` away. */
export function budgetExhausted(retryAfterMs: number): GraphQLError {
  return gatewayError(ErrorCode.RateLimited, "The gateway's budget of requests to Codat for this minute is spent; try again later", {
    extensions: { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) },
  });
}

/** Codat could not be reached, or the connection broke. */
export function upstreamUnavailable(): GraphQLError {
  return gatewayError(ErrorCode.UpstreamUnavailable, MESSAGES[ErrorCode.UpstreamUnavailable]);
}

/** A 2xx answer whose body was not JSON, or not the shape the endpoint documents (`field` names the first fault). */
export function malformedResponse(status: number, fault?: { field: string; problem: string }): GraphQLError {
  if (!fault)
    return gatewayError(ErrorCode.UpstreamError, "Codat returned a response the gateway could not read", { upstream: { status } });
  return gatewayError(ErrorCode.UpstreamError, `Codat returned a malformed response: ${fault.field} ${fault.problem}`, {
    upstream: { status, field: fault.field },
  });
}

/** Which code a Codat HTTP status maps to. Exported for documentation and tests. */
export function codeForStatus(status: number): UpstreamCode {
  switch (status) {
    case 400:
      return ErrorCode.BadUserInput;
    case 401:
      return ErrorCode.Unauthenticated;
    case 402: // Codat: the account's plan does not include this (still an authorization matter for the caller)
    case 403:
      return ErrorCode.Forbidden;
    case 404:
      return ErrorCode.NotFound;
    case 409: // Idempotency-Key reused while the first request is still running
    case 422: // Idempotency-Key reused with a different body
      return ErrorCode.Conflict;
    case 429:
      return ErrorCode.RateLimited;
    case 408:
      return ErrorCode.UpstreamTimeout;
    case 502:
    case 503:
    case 504:
      return ErrorCode.UpstreamUnavailable;
    default:
      // Other 4xx (405, 415, ...) mean the gateway built a request Codat does not accept: not the caller's fault.
      return ErrorCode.UpstreamError;
  }
}

const MAX_UPSTREAM_TEXT = 200;

/**
 * Makes Codat's `error` text safe to show: drops URLs (`scheme://…`) and host:port pairs, cuts everything from
 * an `Authorization`, `Basic ` or `Bearer ` mention onwards (an echoed credential), removes control characters
 * and caps the length. Returns undefined when nothing useful is left.
 */
const secrets = new Set<string>();

/**
 * Registers values that must never reach a client even if Codat echoes them back (the client registers its
 * API key and the base64 form it sends).
 */
export function redactFromUpstreamText(...values: (string | undefined)[]): void {
  for (const value of values) if (value !== undefined && value.length >= 6) secrets.add(value);
}

export function sanitizeUpstreamText(text: string): string | undefined {
  let safe = text;
  // Codat may echo what it was sent: the key itself, or its base64 form, anywhere in the text.
  for (const secret of secrets) safe = safe.split(secret).join(" ");
  // Long opaque tokens (keys, signatures) are never useful to a frontend; ids with dashes stay readable.
  safe = safe.replace(/[A-Za-z0-9+/_=]{32,}/g, " ");
  const credential = /authorization|basic\s|bearer\s/i.exec(safe);
  if (credential) safe = safe.slice(0, credential.index);
  safe = safe
    .replace(/[a-z][a-z0-9+.-]*:\/\/\S*/gi, "")
    .replace(/\b(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+|\[[0-9a-f:.]+\]):\d{1,5}\b/gi, "")
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (safe.length > MAX_UPSTREAM_TEXT) safe = `${safe.slice(0, MAX_UPSTREAM_TEXT - 1).trimEnd()}…`;
  safe = safe.replace(/[\s:;,.-]+$/u, "");
  return safe.length > 0 ? safe : undefined;
}

function fromHttpError(error: HTTPError): GraphQLError {
  const status = error.response.status;
  const body = errorBody(error.data);
  const code = codeForStatus(status);
  const upstream: UpstreamInfo = { status };
  const correlationId = safeCorrelationId(body?.correlationId);
  if (correlationId !== undefined) upstream.correlationId = correlationId;
  // Codat's own detail, passed on when it is the short token or number the ErrorMessage schema says it is.
  const canBeRetried = safeToken(body?.canBeRetried, 16);
  if (canBeRetried !== undefined) upstream.canBeRetried = canBeRetried;
  const detailedErrorCode = body?.detailedErrorCode;
  if (typeof detailedErrorCode === "number" && Number.isSafeInteger(detailedErrorCode)) upstream.detailedErrorCode = detailedErrorCode;
  const service = safeToken(body?.service, 64);
  if (service !== undefined) upstream.service = service;

  const extensions: Record<string, unknown> = {};
  if (status === 429 || status === 503) {
    const wait = retryAfterMs(error.response.headers);
    if (wait !== undefined) extensions["retryAfterSeconds"] = Math.ceil(wait / 1000);
  }

  let message: string = MESSAGES[code];
  // Codat's explanation helps the caller fix a 4xx; a 5xx text is Codat's internal business and may echo
  // request details, so it is never shown.
  if (status >= 400 && status < 500 && typeof body?.error === "string") {
    const detail = sanitizeUpstreamText(body.error);
    if (detail !== undefined) message = `${message}: ${detail}`;
  }

  const base = gatewayError(code, message, { upstream, extensions });
  // Only a 400 means "this record is invalid"; a 409/422 carrying validation is still an idempotency conflict.
  const validation = status === 400 ? validationOf(body?.validation) : undefined;
  return new CodatRequestError(base, status, validation);
}

/** ky parses a JSON error body only when the content type says JSON; Codat's bodies are JSON either way. */
function errorBody(data: unknown): Partial<Record<keyof CodatErrorMessage, unknown>> | undefined {
  let value = data;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return isRecord(value) ? value : undefined;
}

/** A short word (letters, digits, `.`, `_`, `-`), else undefined: nothing else in these fields is passed on. */
function safeToken(value: unknown, max: number): string | undefined {
  return typeof value === "string" && value.length <= max && /^[A-Za-z0-9._-]+$/.test(value) ? value : undefined;
}

/** Correlation ids are opaque tokens; anything else in that field is not passed on. */
function safeCorrelationId(value: unknown): string | undefined {
  return typeof value === "string" && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}

function validationOf(value: unknown): CodatValidation | undefined {
  if (!isRecord(value)) return undefined;
  const errors = validationItems(value["errors"]);
  const warnings = validationItems(value["warnings"]);
  if (errors === undefined && warnings === undefined) return undefined;
  return { errors: errors ?? [], warnings: warnings ?? [] };
}

function validationItems(value: unknown): NonNullable<CodatValidation["errors"]> | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter(isRecord).map((item) => ({
    itemId: optionalString(item["itemId"]),
    // Shown to end users next to form fields: the same redaction as error texts.
    message: typeof item["message"] === "string" ? (sanitizeUpstreamText(item["message"]) ?? null) : null,
    validatorName: optionalString(item["validatorName"]),
  }));
}

function optionalString(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
