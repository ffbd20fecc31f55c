/**
 * Per-key concurrency limiter with a FIFO queue. Codat allows 10 concurrent requests per company and answers
 * 429 beyond that, so the client queues locally instead of spending its retry budget on self-inflicted 429s.
 * Keys are independent: a busy company never delays another one.
 */

/** Gives the slot back. Idempotent, so every exit path may call it without double-counting. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
}

interface KeyState {
  active: number;
  queue: Waiter[];
}

export class KeyedLimiter {
  readonly #max: number;
  readonly #keys = new Map<string, KeyState>();

  constructor(maxConcurrentPerKey: number) {
    if (!Number.isInteger(maxConcurrentPerKey) || maxConcurrentPerKey < 1) {
      throw new RangeError("maxConcurrentPerKey must be a positive integer");
    }
    this.#max = maxConcurrentPerKey;
  }

  /**
   * Resolves with a release function once a slot for `key` is free. Waiters are served in arrival order. An
   * abort while queued removes the waiter and rejects with the signal's reason; no slot is consumed.
   */
  acquire(key: string, signal?: AbortSignal): Promise<Release> {
    signal?.throwIfAborted();
    const state = this.#state(key);
    if (state.active < this.#max) {
      state.active += 1;
      return Promise.resolve(this.#releaser(key, state));
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        const index = state.queue.indexOf(waiter);
        if (index !== -1) state.queue.splice(index, 1);
        this.#forgetIfIdle(key, state);
        reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted", { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      state.queue.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Requests currently holding a slot for `key`. */
  inFlight(key: string): number {
    return this.#keys.get(key)?.active ?? 0;
  }

  /** Requests waiting for a slot for `key`. */
  queued(key: string): number {
    return this.#keys.get(key)?.queue.length ?? 0;
  }

  /** Requests holding a slot, all keys together (read by the metrics at each scrape; only busy keys are kept). */
  totalInFlight(): number {
    let total = 0;
    for (const state of this.#keys.values()) total += state.active;
    return total;
  }

  /** Requests waiting for a slot, all keys together. */
  totalQueued(): number {
    let total = 0;
    for (const state of this.#keys.values()) total += state.queue.length;
    return total;
  }

  #state(key: string): KeyState {
    let state = this.#keys.get(key);
    if (!state) {
      state = { active: 0, queue: [] };
      this.#keys.set(key, state);
    }
    return state;
  }

  #releaser(key: string, state: KeyState): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = state.queue.shift();
      if (next) {
        // Hand the slot straight to the next waiter: `active` stays the same, and no newcomer can overtake.
        next.grant(this.#releaser(key, state));
      } else {
        state.active -= 1;
        this.#forgetIfIdle(key, state);
      }
    };
  }

  /** Drops idle keys so a long-running gateway does not accumulate one entry per company ever seen. */
  #forgetIfIdle(key: string, state: KeyState): void {
    if (state.active === 0 && state.queue.length === 0 && this.#keys.get(key) === state) {
      this.#keys.delete(key);
    }
  }
}
