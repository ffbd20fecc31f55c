/**
 * Per-key concurrency limiter with bounded FIFO queues. Codat allows 10 concurrent requests per company and
 * answers 429 beyond that, so the client queues locally instead of spending its retry budget on self-inflicted
 * 429s. Keys are independent: a busy company never delays another one.
 *
 * Two kinds of work share a key's slots. Calls (JSON requests) may use all of them; downloads, which hold their
 * slot for as long as a browser takes to read the file, may hold at most `maxDownloadsPerKey`, so a company's
 * queries and writes always keep the rest however many downloads stall. Each kind waits in its own queue, and
 * a freed slot goes to the longest-waiting eligible waiter of either.
 *
 * Admission is by deadline, not by count (issue 27, part 3): a request that finds no free slot is refused at once
 * only when it cannot start within its wait limit (`maxWaitMs`: the queue timeout, or what is left of its
 * deadline) — estimated as the rounds of the key's slots ahead of it (its place in the queue / the cap) times the
 * observed service time (a moving average of how long a slot is held). Otherwise it waits, and the limit still
 * bounds the wait. A generous hard cap on the waiting requests per key bounds memory (a full queue refuses at
 * once). Overload is refused, never piled up; a burst that drains in time is served.
 */

/** Gives the slot back. Idempotent, so every exit path may call it without double-counting. */
export type Release = () => void;

export type SlotKind = "call" | "download";

/** Why no slot was given: the key's queue was full, the wait would run out (`too_late`), or it did. */
export class SlotUnavailable extends Error {
  override readonly name = "SlotUnavailable";
  constructor(
    readonly reason: "queue_full" | "wait_timeout" | "too_late",
    /** The estimated wait for a slot, when known (the retry hint). */
    readonly retryAfterMs?: number,
  ) {
    super(
      reason === "queue_full"
        ? "too many requests are waiting for a slot"
        : reason === "too_late"
          ? "no slot would become free in time"
          : "no slot became free in time",
    );
  }
}

export interface LimiterOptions {
  /** Slots downloads may hold per key; default all of them. */
  maxDownloadsPerKey?: number;
  /** Calls that may wait per key (the memory cap; admission is by deadline); default unbounded. */
  maxQueuedPerKey?: number;
  /** Downloads that may wait per key; default unbounded. */
  maxQueuedDownloadsPerKey?: number;
}

export interface AcquireOptions {
  signal?: AbortSignal | undefined;
  kind?: SlotKind;
  /**
   * Longest wait in the queue before SlotUnavailable("wait_timeout"); one foreseeably longer is refused at once
   * (SlotUnavailable("too_late")). Default no limit but the signal's.
   */
  maxWaitMs?: number | undefined;
}

/**
 * What the client needs of a limiter: KeyedLimiter (per process) and the Redis-shared one (shared-limiter.ts)
 * both answer it, so call.ts takes either.
 */
export interface SlotLimiter {
  acquire(key: string, options?: AcquireOptions): Promise<Release>;
  /** Requests holding a slot for `key`. */
  inFlight(key: string): number;
  /** Downloads holding a slot for `key`. */
  downloadsInFlight(key: string): number;
  /** Requests waiting for a slot for `key`, both kinds. */
  queued(key: string): number;
  totalInFlight(): number;
  totalQueued(): number;
}

interface Waiter {
  /** Arrival order across both queues. */
  seq: number;
  grant: () => void;
}

/** Weight of the newest observation in the moving average of the service time. */
const SERVICE_ALPHA = 0.2;

interface KeyState {
  /** Moving average of how long this key's calls hold a slot (ms); undefined until one is released. */
  serviceMs: number | undefined;
  active: number;
  downloads: number;
  calls: Waiter[];
  downloadQueue: Waiter[];
}

export class KeyedLimiter implements SlotLimiter {
  readonly #max: number;
  readonly #maxDownloads: number;
  readonly #maxQueued: number;
  readonly #maxQueuedDownloads: number;
  readonly #keys = new Map<string, KeyState>();
  #seq = 0;
  /** Moving average of how long a slot is held (ms), over every key; undefined until one is released. */
  #serviceMs: number | undefined;

  constructor(maxConcurrentPerKey: number, options: LimiterOptions = {}) {
    this.#max = count(maxConcurrentPerKey, "maxConcurrentPerKey", 1);
    this.#maxDownloads = Math.min(this.#max, count(options.maxDownloadsPerKey ?? this.#max, "maxDownloadsPerKey", 1));
    this.#maxQueued = count(options.maxQueuedPerKey ?? Infinity, "maxQueuedPerKey", 0);
    this.#maxQueuedDownloads = count(options.maxQueuedDownloadsPerKey ?? Infinity, "maxQueuedDownloadsPerKey", 0);
  }

  /**
   * Resolves with a release function once a slot of `kind` for `key` is free. An abort while queued removes the
   * waiter and rejects with the signal's reason; a full queue or an expired `maxWaitMs` rejects with
   * SlotUnavailable. No slot is consumed by a waiter that gave up.
   */
  acquire(key: string, options: AcquireOptions = {}): Promise<Release> {
    const { signal, kind = "call", maxWaitMs } = options;
    signal?.throwIfAborted();
    const state = this.#state(key);
    const download = kind === "download";
    const queue = download ? state.downloadQueue : state.calls;
    if (queue.length === 0 && this.#eligible(state, download)) {
      this.#take(state, download);
      return Promise.resolve(this.#releaser(key, state, download));
    }
    if (queue.length >= (download ? this.#maxQueuedDownloads : this.#maxQueued)) {
      this.#forgetIfIdle(key, state);
      return Promise.reject(new SlotUnavailable("queue_full", this.estimateWaitMs(key)));
    }
    const estimate = download ? 0 : this.estimateWaitMs(key);
    if (maxWaitMs !== undefined && estimate > maxWaitMs) {
      this.#forgetIfIdle(key, state);
      return Promise.reject(new SlotUnavailable("too_late", estimate));
    }
    return new Promise<Release>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const leave = (error: Error): void => {
        const index = queue.indexOf(waiter);
        if (index !== -1) queue.splice(index, 1);
        signal?.removeEventListener("abort", onAbort);
        clearTimeout(timer);
        this.#forgetIfIdle(key, state);
        reject(error);
      };
      const onAbort = (): void => {
        leave(signal?.reason instanceof Error ? signal.reason : new Error("aborted", { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        seq: (this.#seq += 1),
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          clearTimeout(timer);
          resolve(this.#releaser(key, state, download));
        },
      };
      queue.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (maxWaitMs !== undefined) timer = setTimeout(() => leave(new SlotUnavailable("wait_timeout")), Math.max(0, maxWaitMs));
    });
  }

  /**
   * The estimated wait of a call arriving now for `key`: the rounds of slots ahead of it (the waiting calls
   * ahead and itself / the cap) times the observed service time of the key's calls (of every key's until the
   * key has its own). 0 when a slot is free, or before any call released one.
   */
  estimateWaitMs(key: string): number {
    const state = this.#keys.get(key);
    const serviceMs = state?.serviceMs ?? this.#serviceMs;
    if (state === undefined || serviceMs === undefined) return 0;
    if (state.calls.length === 0 && this.#eligible(state, false)) return 0;
    return Math.ceil(Math.ceil((state.calls.length + 1) / this.#max) * serviceMs);
  }

  /** The moving average of how long a slot is held (ms); undefined before any was released. */
  get serviceMs(): number | undefined {
    return this.#serviceMs;
  }

  /** Requests currently holding a slot for `key`. */
  inFlight(key: string): number {
    return this.#keys.get(key)?.active ?? 0;
  }

  /** Downloads currently holding a slot for `key`. */
  downloadsInFlight(key: string): number {
    return this.#keys.get(key)?.downloads ?? 0;
  }

  /** Requests waiting for a slot for `key`, both kinds. */
  queued(key: string): number {
    const state = this.#keys.get(key);
    return state === undefined ? 0 : state.calls.length + state.downloadQueue.length;
  }

  /** Requests holding a slot, all keys together. */
  totalInFlight(): number {
    let total = 0;
    for (const state of this.#keys.values()) total += state.active;
    return total;
  }

  /** Requests waiting for a slot, all keys together. */
  totalQueued(): number {
    let total = 0;
    for (const state of this.#keys.values()) total += state.calls.length + state.downloadQueue.length;
    return total;
  }

  #eligible(state: KeyState, download: boolean): boolean {
    return state.active < this.#max && (!download || state.downloads < this.#maxDownloads);
  }

  #take(state: KeyState, download: boolean): void {
    state.active += 1;
    if (download) state.downloads += 1;
  }

  #state(key: string): KeyState {
    let state = this.#keys.get(key);
    if (!state) {
      state = { serviceMs: undefined, active: 0, downloads: 0, calls: [], downloadQueue: [] };
      this.#keys.set(key, state);
    }
    return state;
  }

  #releaser(key: string, state: KeyState, download: boolean): Release {
    let released = false;
    const grantedAt = performance.now();
    return () => {
      if (released) return;
      released = true;
      // Calls only: a download holds its slot for as long as a browser takes to read.
      if (!download) {
        const held = performance.now() - grantedAt;
        state.serviceMs = average(state.serviceMs, held);
        this.#serviceMs = average(this.#serviceMs, held);
      }
      state.active -= 1;
      if (download) state.downloads -= 1;
      this.#grantWaiters(state);
      this.#forgetIfIdle(key, state);
    };
  }

  /**
   * Hands free slots to waiters, longest-waiting first among those eligible (a download only while downloads
   * are under their share). Runs synchronously inside a release, so no newcomer can overtake a waiter.
   */
  #grantWaiters(state: KeyState): void {
    while (state.active < this.#max) {
      const call = state.calls[0];
      const download = state.downloads < this.#maxDownloads ? state.downloadQueue[0] : undefined;
      const next = call !== undefined && (download === undefined || call.seq < download.seq) ? call : download;
      if (next === undefined) return;
      const isDownload = next === download;
      (isDownload ? state.downloadQueue : state.calls).shift();
      this.#take(state, isDownload);
      next.grant();
    }
  }

  /** Drops idle keys so a long-running gateway does not accumulate one entry per company ever seen. */
  #forgetIfIdle(key: string, state: KeyState): void {
    if (state.active === 0 && state.calls.length === 0 && state.downloadQueue.length === 0 && this.#keys.get(key) === state) {
      this.#keys.delete(key);
    }
  }
}

function average(current: number | undefined, sample: number): number {
  return current === undefined ? sample : current + SERVICE_ALPHA * (sample - current);
}

function count(value: number, name: string, min: number): number {
  if (value === Infinity) return value;
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}`);
  return value;
}
