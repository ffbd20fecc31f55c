/**
 * The Apollo plugin behind the GraphQL half of the logs: it names the operation in the request's access line,
 * and logs every error that the client only sees masked (INTERNAL_SERVER_ERROR: a bug, or a library failure)
 * with its stack and the request id, so a production bug always leaves a trace. Errors the gateway raised on
 * purpose (bad input, Codat's refusals) are the client's business, logged at debug only, and so are the fields an
 * operation's own cancellation failed (its client went away, or its deadline passed: the signal's reason).
 */
import type { ApolloServerPlugin } from "@apollo/server";
import type { GatewayContext } from "../context.js";
import { isPublicError } from "../errors.js";
import { OperationLimitError } from "../security/limits.js";

/** Operation names as the access line reports them: a bounded token, never raw text of the document. */
export function operationLabel(name: string | null | undefined): string {
  if (name === null || name === undefined || name === "") return "(anonymous)";
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) ? name : "(invalid name)";
}

/** Whether `error` is the reason the operation's own signal was aborted with. */
function cancelledBy(signal: AbortSignal | undefined, error: unknown): boolean {
  return signal !== undefined && signal.aborted && signal.reason === error;
}

export function operationLoggingPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ operationName, contextValue }) {
          contextValue.facts.operation = operationLabel(operationName);
          return Promise.resolve();
        },
        didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            const original = error.originalError ?? error;
            if (isPublicError(error) || original instanceof OperationLimitError || cancelledBy(contextValue.signal, original)) {
              contextValue.log.debug({ code: error.extensions["code"], path: error.path }, "operation error");
              continue;
            }
            contextValue.log.error(
              { err: original, path: error.path, operation: operationLabel(operationName) },
              "unexpected error, masked for the client",
            );
          }
          return Promise.resolve();
        },
      });
    },
  };
}
