/**
 * The logger of the request being served, for code that has no context to read it from: the Codat client is
 * shared by every request, yet its call lines should carry the request id of the request that made the call.
 * The HTTP layer runs each request's handler inside `withRequestLog`; outside one, callers fall back to the
 * gateway's own logger.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { FastifyBaseLogger } from "fastify";

const storage = new AsyncLocalStorage<FastifyBaseLogger>();

export function withRequestLog<T>(log: FastifyBaseLogger, run: () => T): T {
  return storage.run(log, run);
}

/** The current request's logger, or undefined outside a request (startup checks, timers). */
export function currentRequestLog(): FastifyBaseLogger | undefined {
  return storage.getStore();
}
