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

/** What Codat told us about a failed call; never the URL, headers or body. */
export interface UpstreamInfo {
  status?: number;
  correlationId?: string;
  /** The JSON pointer of the first field of a malformed answer (never its value). */
  field?: string;
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
  // Apollo Server's own request-level codes.
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
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
