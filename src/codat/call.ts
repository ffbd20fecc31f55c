/**
 * The per-call half of the client's request pipeline. ky runs the attempt loop (per-attempt timeout, the sleep
 * between attempts, abort wiring); a `CodatCall` binds that loop to what only this call knows:
 *
 * - its deadline: one timer for the whole call, covering queueing, attempts and sleeps. Before each sleep the
 *   retry plan checks that the wait ends before the deadline; if not, the call stops and reports the last
 *   failure rather than sleeping into a timeout;
 * - its company slot: taken in ky's `beforeRequest`/`beforeRetry` hooks (so time spent queueing does not eat
 *   into the per-attempt timeout) and given back when the attempt's response body is finished — never held
 *   during a sleep between attempts;
 * - its transport: both go through node:http (node-transport.ts; undici's fetch costs several times the CPU per
 *   response). JSON answers are read completely inside the attempt, so a connection that breaks mid-body fails
 *   that attempt (and is retried like any network error) and the slot is released as soon as Codat is done.
 *   Streamed downloads hand the body on as a Node stream and release the slot when that stream ends, fails or
 *   is destroyed, or the request is aborted.
 */
import { HTTPError, type Options, type ShouldRetryState } from "ky";
import { mapUpstreamError, upstreamTimeout, upstreamUnavailable } from "./errors.js";
import type { KeyedLimiter, Release } from "./limiter.js";
import type { Readable } from "node:stream";
import { contentCodings, decodedBody, nodeBodyOf, nodeFetch, takeNodeBody } from "./node-transport.js";
import { nextRetryDelay, type RetryPolicy } from "./retry.js";

export type Transport = "json" | "stream";

export interface CallSettings {
  method: "GET" | "HEAD" | "POST" | "PUT";
  limiter: KeyedLimiter;
  limiterKey: string;
  policy: RetryPolicy;
  deadlineMs: number;
  transport: Transport;
  /** The caller's signal: aborts the attempt in flight, a queued slot request and any wait. */
  signal: AbortSignal | undefined;
  /** Told about each retry before its wait (see CodatClientOptions.onRetry). */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Backoff jitter source in [0, 1). */
  random?: (() => number) | undefined;
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
  #slot: Release | undefined;
  #finished = false;
  #plannedDelayMs = 0;

  constructor(settings: CallSettings) {
    this.#settings = settings;
    this.#deadlineAt = Date.now() + settings.deadlineMs;
    this.#timer = setTimeout(() => this.#deadline.abort(new DeadlineExceeded()), settings.deadlineMs);
    this.signal = settings.signal ? AbortSignal.any([settings.signal, this.#deadline.signal]) : this.#deadline.signal;
  }

  /** The ky options that bind one request to this call; merged over the client's instance defaults. */
  kyOptions(): Options {
    return {
      signal: this.signal,
      retry: {
        shouldRetry: (state) => this.#shouldRetry(state),
        // Called by ky right after shouldRetry answered true; the wait was planned there.
        delay: () => this.#plannedDelayMs,
      },
      hooks: {
        beforeRequest: [() => this.#acquireSlot()],
        beforeRetry: [() => this.#acquireSlot()],
      },
      fetch: (input, init) => this.#attempt(input, init),
    };
  }

  /**
   * Ends the call's bookkeeping: stops the deadline timer and returns a slot that was taken but never used.
   * For a stream, the slot now belongs to the body and is released by it.
   */
  finish(): void {
    this.#finished = true;
    clearTimeout(this.#timer);
    this.#releaseSlot();
  }

  /**
   * What the caller sees for a failure: the caller's own abort reason unchanged, UPSTREAM_TIMEOUT when the
   * deadline cut the call short, otherwise the mapped upstream failure.
   */
  failure(error: unknown): unknown {
    if (this.#settings.signal?.aborted) return this.#settings.signal.reason;
    if (this.#deadline.signal.aborted) return upstreamTimeout();
    return mapUpstreamError(error);
  }

  #shouldRetry({ error, retryCount }: ShouldRetryState): boolean {
    if (this.signal.aborted) return false;
    const wait = nextRetryDelay({
      method: this.#settings.method,
      error,
      retryNumber: retryCount,
      policy: this.#settings.policy,
      deadlineAt: this.#deadlineAt,
      random: this.#settings.random,
    });
    if (wait === undefined) return false;
    this.#plannedDelayMs = wait;
    this.#settings.onRetry?.({
      method: this.#settings.method,
      retryNumber: retryCount,
      delayMs: wait,
      status: error instanceof HTTPError ? error.response.status : undefined,
    });
    return true;
  }

  async #acquireSlot(): Promise<void> {
    this.#releaseSlot();
    const slot = await this.#settings.limiter.acquire(this.#settings.limiterKey, this.signal);
    // ky awaits its hooks, so the call cannot have ended meanwhile; if it somehow did, nobody would release this.
    if (this.#finished) slot();
    else this.#slot = slot;
  }

  #releaseSlot(): void {
    const slot = this.#slot;
    this.#slot = undefined;
    slot?.();
  }

  /** One attempt, run inside ky's per-attempt timeout, holding this call's slot. */
  async #attempt(input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    // The hooks took the slot; taking it over here means finish() will not release it a second time.
    const release = this.#slot ?? (await this.#settings.limiter.acquire(this.#settings.limiterKey, this.signal));
    this.#slot = undefined;
    let response: Response;
    try {
      // Both transports use node:http: undici's fetch costs several times the CPU per response (web streams,
      // per-chunk promises), the gateway's largest overhead after GraphQL execution itself.
      response = await nodeFetch(input, init, { bodyError: this.#settings.transport === "json" ? bodyCutShort : upstreamUnavailable });
    } catch (error) {
      release();
      throw error;
    }
    if (this.#settings.transport === "json") {
      try {
        const body = takeNodeBody(response);
        const bytes =
          body === undefined ? null : await readAll(decodedBody(body, contentCodings(response.headers.get("content-encoding"))));
        const headers = new Headers(response.headers);
        // The bytes are decoded now: the length and coding of the wire form no longer describe them.
        headers.delete("content-encoding");
        headers.delete("content-length");
        return new Response(bytes, { status: response.status, statusText: response.statusText, headers });
      } finally {
        release();
      }
    }
    const requestSignal = input instanceof Request ? input.signal : (init?.signal ?? undefined);
    return holdSlotUntilBodyEnds(response, release, requestSignal);
  }
}

/**
 * A JSON body is read inside the attempt, so a connection that breaks mid-body fails the attempt the way
 * fetch does (a TypeError ky classifies as a network error), and is retried like one.
 */
const bodyCutShort = (): Error => new TypeError("fetch failed", { cause: new Error("connection closed mid-body") });

/** Reads a whole (small, JSON) body; a mid-body failure rejects with `bodyCutShort`. */
async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Keeps a streamed response's slot until its body is finished, then releases it exactly once: when the body
 * ends, fails or is destroyed by its reader, or the request is aborted (a body that is never read would
 * otherwise pin the slot for good; the abort is also what releases at once, while the body's own `close`
 * follows only once its socket has closed). A response without a body releases at once.
 */
function holdSlotUntilBodyEnds(response: Response, release: Release, requestSignal: AbortSignal | undefined): Response {
  const body = nodeBodyOf(response);
  if (body === undefined) {
    release();
    return response;
  }
  let released = false;
  const done = (): void => {
    if (released) return;
    released = true;
    requestSignal?.removeEventListener("abort", done);
    body.off("end", done);
    body.off("error", done);
    body.off("close", done);
    release();
  };
  if (requestSignal?.aborted || body.destroyed) {
    done();
    return response;
  }
  requestSignal?.addEventListener("abort", done, { once: true });
  body.once("end", done);
  body.once("error", done);
  body.once("close", done);
  return response;
}
