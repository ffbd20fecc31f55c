/**
 * One log line per Codat call: method, route template (never the URL: it carries company and customer ids and
 * Codat query text), status, attempts, duration and Codat's `correlationId` — what Codat support asks for. The
 * line carries the request id of the request that made the call (see request-log.ts).
 *
 * Levels: an answered call at info (a 404 lookup included: "not there" is an answer); a call that failed at warn
 * (Codat's 5xx, timeouts, 429s that outlived the retries, refusals of the key); a call the client abandoned
 * (it went away) at debug, as the client's disconnect itself is. Each retry is a debug line. A call made inside
 * `expectingCodatErrors` whose failure is one of the codes it expects is an answer too, at info (the readiness
 * probe's 404: see readiness.ts).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { FastifyBaseLogger } from "fastify";
import type { CodatObserver } from "../codat/observer.js";
import { currentRequestLog } from "./request-log.js";

const expectedErrors = new AsyncLocalStorage<readonly string[]>();

/**
 * Runs `call` with these error codes (ErrorCode values) expected of the Codat calls it makes: a call failing with
 * one of them is the answer the caller asked for, logged as `codat call` at info, never as a failure at warn.
 */
export function expectingCodatErrors<T>(codes: readonly string[], call: () => T): T {
  return expectedErrors.run(codes, call);
}

export function codatLoggingObserver(fallback: FastifyBaseLogger): CodatObserver {
  const log = (): FastifyBaseLogger => currentRequestLog() ?? fallback;
  return {
    ended(info, outcome) {
      const line = {
        codat: {
          method: info.method,
          route: info.route,
          status: outcome.status ?? null,
          attempts: outcome.attempts,
          durationMs: Math.round(outcome.durationMs * 10) / 10,
          ...(outcome.correlationId !== undefined ? { correlationId: outcome.correlationId } : {}),
          ...(outcome.errorCode !== undefined ? { error: outcome.errorCode } : {}),
        },
      };
      const logger = log();
      if (outcome.aborted === true) logger.debug(line, "codat call abandoned by the client");
      else if (outcome.errorCode !== undefined && expectedErrors.getStore()?.includes(outcome.errorCode) !== true)
        logger.warn(line, "codat call failed");
      else logger.info(line, "codat call");
    },
    retried(info, retry) {
      log().debug(
        {
          codat: { method: info.method, route: info.route, retry: retry.retryNumber, delayMs: retry.delayMs, status: retry.status ?? null },
        },
        "codat call retried",
      );
    },
  };
}
