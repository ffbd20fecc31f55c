/**
 * Codat-shaped error bodies. Every non-2xx answer of the simulator is an `ErrorMessage` with a fresh
 * `correlationId` (32 hex chars, like Codat's), so clients can rely on that shape everywhere.
 */
import { randomBytes } from "node:crypto";
import type { CodatErrorMessage } from "./codat-types.js";

/** Which Codat service names the error (Codat's own examples use these two). */
export type CodatService = "ClientsApi" | "PublicApi" | "PullApi" | "PushApi";

// Correlation ids only need to be unique, not secret: one random prefix plus a counter is far cheaper than
// drawing 16 random bytes per error under benchmark load.
const prefix = randomBytes(8).toString("hex");
let counter = 0;
export function newCorrelationId(): string {
  counter = (counter + 1) % 0x100000000;
  return prefix + counter.toString(16).padStart(16, "0");
}

/** One entry of `ErrorMessage.validation.errors` / `PushOperation.validation.errors` (same shape in both). */
export interface ValidationItem {
  itemId: string | null;
  message: string;
  validatorName: string;
}

export function errorMessage(
  statusCode: number,
  error: string,
  service: CodatService = "PublicApi",
  validation?: readonly ValidationItem[],
): CodatErrorMessage {
  const body: CodatErrorMessage = {
    statusCode,
    service,
    error,
    correlationId: newCorrelationId(),
    canBeRetried: "Unknown",
    detailedErrorCode: 0,
  };
  // Only bodies that are about the request's content carry `validation` (Codat omits it elsewhere).
  if (validation) body.validation = { errors: [...validation], warnings: [] };
  return body;
}

/** Thrown by route handlers to answer with an ErrorMessage; the server turns it into the response. */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly service: CodatService = "PublicApi",
    readonly headers: Record<string, string> = {},
    /** Rendered as `validation.errors` (immediate 400s for malformed push bodies). */
    readonly validation?: readonly ValidationItem[],
  ) {
    super(message);
    this.name = "SimHttpError";
  }

  body(): CodatErrorMessage {
    return errorMessage(this.status, this.message, this.service, this.validation);
  }
}

/** Default texts for statuses a fault injects without a body (texts from the specs' example responses). */
export function defaultErrorText(status: number): string {
  switch (status) {
    case 400:
      return "Error processing request - not valid.";
    case 401:
      return "Unauthorized";
    case 402:
      return "You have exceeded the 50-company limit that applies to a Free plan.";
    case 403:
      return "You are using an outdated API key or a key not associated with that resource.";
    case 404:
      return "The requested resource was not found.";
    case 409:
      return "The data set has not been requested.";
    case 429:
      return "You have made too many requests in a given amount of time; please retry later.";
    case 500:
      return "There is a problem with our server. Please try again later.";
    case 503:
      return "The Codat API is temporarily offline for maintenance. Please try again later.";
    default:
      return status >= 500 ? "There is a problem with our server. Please try again later." : "Request failed.";
  }
}
