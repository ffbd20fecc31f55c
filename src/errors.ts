/**
 * The gateway's error vocabulary (CONTRACT.md "Errors"). Every error that reaches a client because of its input
 * or because of Codat is a GraphQLError built here, so codes and extension shapes are defined once.
 */
import { GraphQLError, type GraphQLFormattedError } from "graphql";

export const ErrorCode = {
  BadUserInput: "BAD_USER_INPUT",
  Unauthenticated: "UNAUTHENTICATED",
  Forbidden: "FORBIDDEN",
  NotFound: "NOT_FOUND",
  Conflict: "CONFLICT",
  RateLimited: "RATE_LIMITED",
  UpstreamTimeout: "UPSTREAM_TIMEOUT",
  UpstreamUnavailable: "UPSTREAM_UNAVAILABLE",
  UpstreamError: "UPSTREAM_ERROR",
  InternalServerError: "INTERNAL_SERVER_ERROR",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Request-level codes: the request itself was refused before any operation ran (by Apollo, the admission
 * pipeline in graphql/admission.ts, or the HTTP layer), or a route's own refusal (a webhook's signature).
 * With ErrorCode they are the gateway's one vocabulary: nothing reaches a client with a code outside the two.
 */
export const RequestCode = {
  BadRequest: "BAD_REQUEST",
  GraphQLParseFailed: "GRAPHQL_PARSE_FAILED",
  GraphQLValidationFailed: "GRAPHQL_VALIDATION_FAILED",
  PersistedQueryNotFound: "PERSISTED_QUERY_NOT_FOUND",
  PersistedQueryNotSupported: "PERSISTED_QUERY_NOT_SUPPORTED",
  OperationResolutionFailure: "OPERATION_RESOLUTION_FAILURE",
  MethodNotAllowed: "METHOD_NOT_ALLOWED",
  RequestTimeout: "REQUEST_TIMEOUT",
  HeaderFieldsTooLarge: "REQUEST_HEADER_FIELDS_TOO_LARGE",
  ServiceUnavailable: "SERVICE_UNAVAILABLE",
  MissingSignature: "MISSING_SIGNATURE",
  StaleTimestamp: "STALE_TIMESTAMP",
  InvalidSignature: "INVALID_SIGNATURE",
} as const;
export type RequestCode = (typeof RequestCode)[keyof typeof RequestCode];

/** Any code a client may see. */
export type Code = ErrorCode | RequestCode;

/**
 * The one code → HTTP status table, for every HTTP answer that is an error: non-GraphQL routes, WebSocket upgrade
 * refusals and the gateway's own refusals on /graphql (Apollo sets the status of its own). Upstream failures
 * keep their code; a route streaming Codat's bytes maps them through upstreamStatus.
 *
 * One row the status does not follow from the code: a body over its limit (MAX_REQUEST_BYTES,
 * CODAT_WEBHOOK_MAX_BODY_BYTES) is HTTP 413 with code BAD_USER_INPUT on every route — the contract's code for
 * input the gateway refuses, also on /graphql, where a GraphQL error carries one of the contract's codes.
 */
export const HTTP_STATUS: Readonly<Record<Code, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_ERROR: 502,
  INTERNAL_SERVER_ERROR: 500,
  BAD_REQUEST: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  PERSISTED_QUERY_NOT_FOUND: 400,
  PERSISTED_QUERY_NOT_SUPPORTED: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 431,
  SERVICE_UNAVAILABLE: 503,
  MISSING_SIGNATURE: 401,
  STALE_TIMESTAMP: 401,
  INVALID_SIGNATURE: 401,
};

/** The body too large row of the table (see HTTP_STATUS). */
export const BODY_TOO_LARGE = { status: 413, code: ErrorCode.BadUserInput } as const;

/** The HTTP status of a code (500 for one outside the vocabulary). */
export function statusOf(code: string): number {
  return (HTTP_STATUS as Record<string, number | undefined>)[code] ?? 500;
}

/**
 * The status a route streaming Codat's answer (a download) gives an upstream failure: the table's, except that
 * Codat refusing the gateway's own key (UNAUTHENTICATED) or failing is the gateway's trouble, never the
 * client's: 502.
 */
export function upstreamStatus(code: string): number {
  const status = statusOf(code);
  return code === ErrorCode.Unauthenticated || status === 500 ? 502 : status;
}

/** What Codat told us about a failed call; never the URL, headers or body. */
export interface UpstreamInfo {
  status?: number;
  correlationId?: string;
  /** The JSON pointer of the first field of a malformed answer (never its value). */
  field?: string;
  /** Codat's `canBeRetried` as it says it (`True`, `False`, `Unknown`). */
  canBeRetried?: string;
  /** Codat's machine-readable `detailedErrorCode`. */
  detailedErrorCode?: number;
  /** The Codat service that answered (`PublicApi`, `PushApi`, …). */
  service?: string;
}

export interface GatewayErrorOptions {
  upstream?: UpstreamInfo;
  /** Extra, safe-to-show extension fields (for example `retryAfterSeconds`, `argumentName`). */
  extensions?: Record<string, unknown>;
}

export function gatewayError(code: ErrorCode, message: string, options: GatewayErrorOptions = {}): GraphQLError {
  const extensions: Record<string, unknown> = { code, ...options.extensions };
  if (options.upstream && (options.upstream.status !== undefined || options.upstream.correlationId !== undefined)) {
    extensions["upstream"] = { ...options.upstream };
  }
  return new GraphQLError(message, { extensions });
}

export function badUserInput(message: string, argumentName?: string): GraphQLError {
  return gatewayError(ErrorCode.BadUserInput, message, argumentName ? { extensions: { argumentName } } : {});
}

export function errorCodeOf(error: unknown): string | undefined {
  if (error instanceof GraphQLError) {
    const code = error.extensions["code"];
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** Codes that are safe to pass to clients as they are; anything else is masked. */
const PUBLIC_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  // The request-level codes a GraphQL response carries (Apollo's own, and the admission pipeline's).
  RequestCode.GraphQLParseFailed,
  RequestCode.GraphQLValidationFailed,
  RequestCode.BadRequest,
  RequestCode.PersistedQueryNotFound,
  RequestCode.PersistedQueryNotSupported,
  RequestCode.OperationResolutionFailure,
]);

/**
 * Whether a client sees this error as it is (a code the gateway or Apollo set on purpose), rather than masked
 * as INTERNAL_SERVER_ERROR by maskError.
 */
export function isPublicError(error: GraphQLError): boolean {
  const code = error.extensions["code"];
  return typeof code === "string" && PUBLIC_CODES.has(code) && code !== ErrorCode.InternalServerError;
}

/**
 * Apollo Server's formatError: errors the gateway built on purpose pass through; anything unexpected (a bug, a
 * library error whose message may carry a URL or header) becomes a generic INTERNAL_SERVER_ERROR.
 */
export function maskError(
  formatted: GraphQLFormattedError,
  error: unknown,
  options: { includeStacktrace: boolean },
): GraphQLFormattedError {
  const code = formatted.extensions?.["code"];
  if (typeof code === "string" && PUBLIC_CODES.has(code) && code !== ErrorCode.InternalServerError) {
    if (options.includeStacktrace) return formatted;
    const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  return {
    message: "Internal server error",
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: {
      code: ErrorCode.InternalServerError,
      ...(options.includeStacktrace && error instanceof Error ? { detail: error.message } : {}),
    },
  };
}
