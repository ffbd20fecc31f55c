/**
 * Every HTTP error answer of the gateway comes from here: one fastify error handler for the app (every route,
 * /graphql's own refusals included), and the same rendering for the answers written outside fastify's reply
 * (a raw route's Node response, a refused WebSocket upgrade, a malformed request's socket). Codes and statuses
 * come from the one table in errors.ts.
 *
 * The shape: `{ "error": { "code", "message", ...extra } }`, except on /graphql, where an error answer is a
 * GraphQL response, `{ "errors": [{ "message", "extensions": { "code" } }] }` — the same code and message.
 */
import { STATUS_CODES, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { GraphQLError } from "graphql";
import { BODY_TOO_LARGE, ErrorCode, RequestCode, statusOf, type Code } from "../errors.js";

export interface HttpErrorOptions {
  /** Only where errors.ts says the status does not follow from the code (BODY_TOO_LARGE, upstreamStatus). */
  status?: number;
  headers?: Record<string, string>;
  /** More fields of the error object (a download refusal's `reason`, an upstream's `retryAfterSeconds`). */
  extra?: Record<string, unknown>;
}

/** An error answer: thrown from a fastify handler (the error handler sends it), or written by sendError. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(
    readonly code: Code,
    message: string,
    options: HttpErrorOptions = {},
  ) {
    super(message);
    this.statusCode = options.status ?? statusOf(code);
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
  }
}

/** A GraphQL refusal of the admission pipeline (graphql/admission.ts) as an HTTP error: the same code and message. */
export function httpErrorFrom(error: GraphQLError, options: HttpErrorOptions = {}): HttpError {
  const code = error.extensions["code"];
  return new HttpError((typeof code === "string" ? code : ErrorCode.InternalServerError) as Code, error.message, options);
}

export const notFound = (): HttpError => new HttpError(ErrorCode.NotFound, "No such route.");
export const methodNotAllowed = (allowed: readonly string[]): HttpError =>
  new HttpError(RequestCode.MethodNotAllowed, "Method not allowed.", { headers: { allow: allowed.join(", ") } });
const internal = (): HttpError => new HttpError(ErrorCode.InternalServerError, "Internal server error.");

/** The error body of every non-GraphQL route. */
export function errorBody(error: HttpError): { error: Record<string, unknown> } {
  return { error: { code: error.code, message: error.message, ...error.extra } };
}

/** The same error as a GraphQL response (the /graphql route's shape). */
export function graphqlErrorBody(error: HttpError): { errors: { message: string; extensions: { code: string } }[] } {
  return { errors: [{ message: error.message, extensions: { code: error.code } }] };
}

/**
 * What a client may read about a request fastify refused before any handler (its messages name no internals):
 * a body over the route's limit is BODY_TOO_LARGE, the rest BAD_REQUEST.
 */
export function fromFastifyError(error: FastifyError, bodyLimit: number): HttpError {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new HttpError(BODY_TOO_LARGE.code, `Request body larger than ${bodyLimit} bytes.`, {
        status: BODY_TOO_LARGE.status,
        // The rest of the body is never read: the connection cannot carry another request.
        headers: { connection: "close" },
      });
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new HttpError(RequestCode.BadRequest, "Request body is not valid JSON.");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new HttpError(RequestCode.BadRequest, "Unsupported content type.");
    default:
      return new HttpError(RequestCode.BadRequest, "Bad request.");
  }
}

/** The error a thrown value is answered with: an HttpError as it is, a client error of fastify's, else a 500. */
export function httpErrorOf(error: unknown, request: FastifyRequest): HttpError {
  if (error instanceof HttpError) return error;
  const status = (error as FastifyError).statusCode ?? 500;
  if (status >= 500) return internal();
  return fromFastifyError(error as FastifyError, request.routeOptions.bodyLimit);
}

/** Whether a route answers errors as GraphQL responses. */
const isGraphQLRoute = (request: FastifyRequest): boolean => request.routeOptions.url === "/graphql";

/** Sends an error with fastify's reply, in the route's shape. */
export function replyError(request: FastifyRequest, reply: FastifyReply, error: HttpError): FastifyReply {
  return reply
    .code(error.statusCode)
    .headers(error.headers)
    .send(isGraphQLRoute(request) ? graphqlErrorBody(error) : errorBody(error));
}

/** The app's one error handler (fastify's setErrorHandler). */
export function httpErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = httpErrorOf(error, request);
  if (answer.statusCode >= 500) request.log.error({ err: error }, "request failed");
  else request.log.debug({ err: { code: error.code, message: error.message } }, "request refused");
  return replyError(request, reply, answer);
}

/** Writes an error on Node's own response (a raw route that took the response over from fastify). */
export function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(errorBody(error));
  res.writeHead(error.statusCode, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...error.headers,
  });
  res.end(text);
}

/**
 * Writes an error as a whole HTTP/1.1 response on a socket no HTTP response object owns (a malformed request,
 * a refused WebSocket upgrade), and closes it.
 */
export function endSocketWithError(socket: Duplex, error: HttpError): void {
  socket.on("error", () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(error));
  const headers = Object.entries(error.headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? ""}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`,
    () => socket.destroy(),
  );
}
