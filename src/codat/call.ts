/**
 * The per-call half of the client's request pipeline. ky runs each attempt (the Request, its headers and JSON
 * body, HTTPError and network-error classification); the client runs the attempts, one ky request each, and a
 * `CodatCall` binds them to what only this call knows. (ky's own retry loop clones every Request in advance for
 * a possible retry, ~15 µs per call whether or not it is ever retried; a failed attempt builds its successor
 * only when it is needed.)
 *
 * - its deadline: one timer for the whole call, covering queueing, attempts and sleeps. Before each sleep the
 *   retry plan checks that the wait ends before the deadline; if not, the call stops and reports the last
 *   failure rather than sleeping into a timeout;
 * - its company slot, then its budget token: taken at the start of each attempt (the token only once the slot is
 *   held, so only a request about to be sent spends one) (the attempt timeout only starts once the request is
 *   sent, so queueing does not eat into it) and given back when the attempt's response body is finished —
 *   never held during a sleep between attempts;
 * - its transport: undici's Agent under ky (transport.ts). The attempt timeout is undici's headers/body
 *   timeout, so the deadline is the only JavaScript timer a call sets. JSON answers are read completely inside
 *   the attempt, so a connection that breaks mid-body fails that attempt (and is retried like any network error)
 *   and the slot is released as soon as Codat is done. Streamed downloads hand the body on as a Node stream and
 *   release the slot when that stream ends, fails or is destroyed, or the request is aborted.
 */
import { HTTPError, type Options } from "ky";
import { budgetExhausted, mapUpstreamError, slotUnavailable, upstreamTimeout, upstreamUnavailable } from "./errors.js";
import { SlotUnavailable, type Release, type SlotLimiter } from "./limiter.js";
import { BudgetExhausted, type RequestBudget } from "./request-budget.js";
import { send } from "./transport.js";
import { nextRetryDelay, type RetryPolicy } from "./retry.js";

export type Transport = "json" | "stream";

export interface CallSettings {
  method: "GET" | "HEAD" | "POST" | "PUT";
  limiter: SlotLimiter;
  limiterKey: string;
  policy: RetryPolicy;
  deadlineMs: number;
  /** Longest wait for an attempt's headers (and, for JSON, for each gap in its body). */
  attemptTimeoutMs: number;
  /** Longest gap in a streamed body. */
  streamIdleTimeoutMs: number;
  /** Largest decoded JSON answer accepted (CODAT_MAX_RESPONSE_BYTES); beyond it UPSTREAM_ERROR, not retried. */
  maxResponseBytes?: number | undefined;
  transport: Transport;
  /** The caller's signal: aborts the attempt in flight, a queued slot request and any wait. */
  signal: AbortSignal | undefined;
  /** Told about each retry before its wait (see CodatClientOptions.onRetry). */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Backoff jitter source in [0, 1). */
  random?: (() => number) | undefined;
  /** Longest wait for a company slot per attempt (within the deadline); default the deadline alone. */
  maxQueueWaitMs?: number | undefined;
  /** Codat's per-IP request budget: each attempt takes one request from it once it holds its slot, just before sending. */
  budget?: RequestBudget | undefined;
  /** Told each time an attempt got its slot (observers only: without it no clock is read). */
  onSlot?: ((waitMs: number, queued: number) => void) | undefined;
}

/** One planned retry: which retry it is, the wait before it, and what failed. */
export interface RetryEvent {
  method: CallSettings["method"];
  /** 1 for the first retry. */
  retryNumber: number;
  delayMs: number;
  /** The HTTP status of the failed attempt; undefined for a timeout or a network failure. */
  status: number | undefined;
}

/** Abort reason used when the call's own deadline fires, to tell it apart from the caller's abort. */
class DeadlineExceeded extends Error {
  override readonly name = "DeadlineExceeded";
}

export class CodatCall {
  /** The caller's signal combined with the deadline; ky, the limiter and fetch all observe it. */
  readonly signal: AbortSignal;
  readonly #settings: CallSettings;
  readonly #deadline = new AbortController();
  readonly #deadlineAt: number;
  readonly #timer: ReturnType<typeof setTimeout>;
  #onCallerAbort: (() => void) | undefined;
  /** A streamed body holds the slot (and follows the caller's abort) past finish(). */
  #holdingBody = false;
  /** Set when an attempt got no slot: the call fails with it (RATE_LIMITED), whatever else happened. */
  #slotError: Error | undefined;
  /** Attempts started so far (the observers' `attempts`). */
  attempts = 0;
  /** The HTTP status of the last attempt; undefined when it got no answer (yet). */
  lastStatus: number | undefined;

  constructor(settings: CallSettings) {
    this.#settings = settings;
    this.#deadlineAt = Date.now() + settings.deadlineMs;
    this.#timer = setTimeout(() => this.#deadline.abort(new DeadlineExceeded()), settings.deadlineMs);
    // One controller for the deadline and the caller's abort: the caller's is forwarded into it (for the call's
    // life, a streamed body's included), which costs a listener where AbortSignal.any costs ~30 µs per call.
    const caller = settings.signal;
    if (caller?.aborted) this.#deadline.abort(caller.reason);
    else if (caller !== undefined) {
      this.#onCallerAbort = () => this.#deadline.abort(caller.reason);
      caller.addEventListener("abort", this.#onCallerAbort, { once: true });
    }
    this.signal = this.#deadline.signal;
  }

  /**
   * The ky options that bind one attempt to this call; merged over the client's instance defaults (which retry
   * nothing: the client runs the attempts, asking `shouldRetry` between them).
   */
  kyOptions(): Options {
    return {
      // No signal for ky: attempts get this call's signal directly (#attempt), and the wait between attempts is
      // this call's own (shouldRetry), so ky composes none (AbortSignal.any and the Request following it cost
      // ~30 µs per call).
      fetch: (input, init) => this.#attempt(input, init),
    };
  }

  /**
   * Ends the call's bookkeeping: stops the deadline timer. Slots are the attempts' own: each is released when
   * its answer is complete (for a stream, by its body).
   */
  finish(): void {
    clearTimeout(this.#timer);
    // A streamed body still follows the caller's abort; it unlinks when it is over (#attempt's releaseOnce).
    if (!this.#holdingBody) this.#unlinkCaller();
  }

  /** Stops forwarding the caller's abort (one operation's signal serves many calls: no listener may pile up). */
  #unlinkCaller(): void {
    if (this.#onCallerAbort === undefined) return;
    this.#settings.signal?.removeEventListener("abort", this.#onCallerAbort);
    this.#onCallerAbort = undefined;
  }

  /**
   * What the caller sees for a failure: the caller's own abort reason unchanged, UPSTREAM_TIMEOUT when the
   * deadline cut the call short, otherwise the mapped upstream failure.
   */
  failure(error: unknown): unknown {
    if (this.#settings.signal?.aborted) return this.#settings.signal.reason;
    if (this.#slotError !== undefined) return this.#slotError;
    if (this.#deadline.signal.aborted) return upstreamTimeout();
    return mapUpstreamError(error);
  }

  /**
   * After a failed attempt (`error`, as ky threw it): plans retry number `retryNumber` (1 for the first) and waits
   * for it here. False when the call should stop and report `error`: not retryable, out of retries, a wait that
   * would pass the deadline, or the caller's abort or the deadline ending the wait.
   */
  async shouldRetry(error: unknown, retryNumber: number): Promise<boolean> {
    if (this.signal.aborted) return false;
    const wait = nextRetryDelay({
      method: this.#settings.method,
      error,
      retryNumber,
      policy: this.#settings.policy,
      deadlineAt: this.#deadlineAt,
      random: this.#settings.random,
    });
    if (wait === undefined) return false;
    this.#settings.onRetry?.({
      method: this.#settings.method,
      retryNumber,
      delayMs: wait,
      status: error instanceof HTTPError ? error.response.status : undefined,
    });
    return sleep(wait, this.signal);
  }

  /** One attempt, holding this call's slot. */
  async #attempt(input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    this.attempts += 1;
    // The last attempt's status: one that timed out after an answered one had none.
    this.lastStatus = undefined;
    // A deadline (or caller abort) that came before this attempt asked for anything is not busy slots: it is
    // reported as what it is (failure()), not RATE_LIMITED.
    this.signal.throwIfAborted();
    // Queueing for the slot is bounded by the deadline (the signal); the attempt timeout starts at the send.
    const { onSlot, limiter, limiterKey } = this.#settings;
    const queuedAt = onSlot === undefined ? 0 : performance.now();
    let release: Release | undefined;
    try {
      // Waits are bounded by the call's wait limit and by what is left of its deadline: a call that cannot start
      // in time is refused at once (limiter.ts, fair-budget.ts), before anything is sent.
      const maxWaitMs = Math.max(0, Math.min(this.#settings.maxQueueWaitMs ?? Infinity, this.#deadlineAt - Date.now()));
      release = await limiter.acquire(limiterKey, {
        signal: this.signal,
        kind: this.#settings.transport === "stream" ? "download" : "call",
        maxWaitMs,
      });
      // The budget's token last, holding the slot: only a request about to be sent spends one (a call refused
      // or cancelled in the company queue spends nothing; each retry takes its own).
      await this.#settings.budget?.take(limiterKey, this.signal, Math.max(0, Math.min(maxWaitMs, this.#deadlineAt - Date.now())));
    } catch (error) {
      release?.();
      // A full queue, a wait that ran out or would, or the deadline passing in the queue: the company's slots (or
      // the budget) were busy throughout, and nothing was sent. A caller's own abort stays what it was.
      if (error instanceof BudgetExhausted) {
        this.#slotError = budgetExhausted(error.retryAfterMs);
        throw this.#slotError;
      }
      if (error instanceof SlotUnavailable || (this.#deadline.signal.aborted && !this.#settings.signal?.aborted)) {
        this.#slotError = slotUnavailable(error instanceof SlotUnavailable ? error.retryAfterMs : undefined);
        throw this.#slotError;
      }
      throw error;
    }
    onSlot?.(performance.now() - queuedAt, limiter.queued(limiterKey));
    const request = input instanceof Request && (init === undefined || Object.keys(init).length === 0) ? input : new Request(input, init);
    const json = this.#settings.transport === "json";
    // A streamed body keeps the slot until it is over (ended, failed, or cancelled by its reader), or the
    // request is aborted (a body that is never read would otherwise pin the slot for good), released once.
    let released = false;
    const releaseOnce = (): void => {
      if (released) return;
      released = true;
      this.signal.removeEventListener("abort", releaseOnce);
      release();
      if (this.#holdingBody) this.#unlinkCaller();
    };
    let response: Response;
    try {
      response = await send(request, {
        body: json ? "json" : "stream",
        timeoutMs: Math.max(1, Math.min(this.#settings.attemptTimeoutMs, this.#deadlineAt - Date.now())),
        streamIdleTimeoutMs: this.#settings.streamIdleTimeoutMs,
        streamError: upstreamUnavailable,
        maxBodyBytes: this.#settings.maxResponseBytes,
        onStreamDone: releaseOnce,
        signal: this.signal,
      });
    } catch (error) {
      releaseOnce();
      throw error;
    }
    this.lastStatus = response.status;
    // A JSON answer is complete (or an error answer, whose capped text is buffered): Codat is done with the slot.
    if (json || !response.ok || response.body === null) {
      releaseOnce();
      return response;
    }
    this.#holdingBody = true;
    if (this.signal.aborted) releaseOnce();
    else this.signal.addEventListener("abort", releaseOnce, { once: true });
    return response;
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (then no retry follows). */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
