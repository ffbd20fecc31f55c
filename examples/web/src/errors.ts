/**
 * The gateway's errors, for display: every one carries `extensions.code` (FORBIDDEN, BAD_USER_INPUT, …), and a
 * BAD_USER_INPUT about one argument names it in `extensions.argumentName` (`input.customer.customerName`).
 */
import { CombinedGraphQLErrors } from "@apollo/client";

export interface ShownError {
  code: string;
  message: string;
  /** The form field the error is about, when it names one. */
  field?: string | undefined;
}

/** A form field from an argument path: `input.customer.customerName` → `customerName`. */
export function fieldOfArgument(argumentName: unknown): string | undefined {
  if (typeof argumentName !== "string") return undefined;
  const match = /^input\.customer\.([A-Za-z]+)/.exec(argumentName);
  return match?.[1];
}

/**
 * A form field from one of Codat's validation messages, which name the field in Codat's PascalCase first
 * (`CustomerName is required`, `RegistrationNumber must be at most 50 characters`); undefined when it names
 * none of `fields`.
 */
export function fieldOfMessage<F extends string>(message: string, fields: readonly F[]): F | undefined {
  const first = /^([A-Za-z]+)/.exec(message)?.[1]?.toLowerCase();
  return fields.find((field) => field.toLowerCase() === first);
}

export function shownErrors(error: unknown): ShownError[] {
  if (CombinedGraphQLErrors.is(error)) {
    return error.errors.map((e) => ({
      code: typeof e.extensions?.["code"] === "string" ? e.extensions["code"] : "ERROR",
      message: e.message,
      field: fieldOfArgument(e.extensions?.["argumentName"]),
    }));
  }
  return [{ code: "NETWORK_ERROR", message: error instanceof Error ? error.message : String(error) }];
}
