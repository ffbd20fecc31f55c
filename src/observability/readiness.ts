/**
 * Readiness that means something (READY_CHECK_UPSTREAM): before /readyz says ready, Codat must have accepted
 * the gateway's credentials once. The check is one cheap call — the connections of a company that cannot exist
 * (the nil UUID): Codat answers 404 for a key it accepts and 401 for one it refuses. That 404 (or a 403) is the
 * answer the probe asks for, so its call is logged at info like any answer, never as a failed call at warn. A
 * refusal or an unreachable Codat is retried at most once per interval, and only while someone asks /readyz; once
 * accepted, it is never asked again (a key revoked later shows up in the logs and metrics of real calls, not as a
 * flapping readiness that would take every replica out of the load balancer at once).
 */
import type { CodatClient } from "../codat/client.js";
import { errorCodeOf, ErrorCode } from "../errors.js";
import type { Readiness } from "../http/server.js";
import { expectingCodatErrors } from "./codat-logging.js";
import type { Logger } from "./logger.js";

const NIL_COMPANY = "00000000-0000-0000-0000-000000000000";
/** What Codat answers a key it accepts about a company that cannot exist. */
const PROBE_ANSWERS: readonly string[] = [ErrorCode.NotFound, ErrorCode.Forbidden];

export class UpstreamReadiness {
  #state: Readiness = { ready: false, reason: "checking Codat credentials" };
  #lastCheckAt = -Infinity;
  #running: Promise<void> | undefined;
  readonly #client: Pick<CodatClient, "listConnections">;
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(options: { client: Pick<CodatClient, "listConnections">; intervalSeconds: number; log: Logger; now?: () => number }) {
    this.#client = options.client;
    this.#intervalMs = options.intervalSeconds * 1000;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** The current answer; starts a new check when the last one failed and the interval has passed. */
  current(): Readiness {
    if (!this.#state.ready && this.#running === undefined && this.#now() - this.#lastCheckAt >= this.#intervalMs) void this.check();
    return this.#state;
  }

  /** Runs one check (at most one at a time); resolves when it is done. */
  check(): Promise<void> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<void> {
    this.#lastCheckAt = this.#now();
    let verdict: Readiness;
    try {
      await expectingCodatErrors(PROBE_ANSWERS, () => this.#client.listConnections(NIL_COMPANY, { page: 1, pageSize: 1 }));
      verdict = { ready: true };
    } catch (error) {
      const code = errorCodeOf(error);
      if (code !== undefined && PROBE_ANSWERS.includes(code)) verdict = { ready: true };
      else if (code === ErrorCode.Unauthenticated)
        verdict = { ready: false, reason: "Codat refused the API key (401): check CODAT_API_KEY" };
      else verdict = { ready: false, reason: `Codat could not be reached to check the credentials (${code ?? "unexpected error"})` };
    }
    if (verdict.ready) this.#log.info("Codat accepted the credentials: ready");
    else this.#log.error({ reason: verdict.reason }, "not ready");
    this.#state = verdict;
  }
}
