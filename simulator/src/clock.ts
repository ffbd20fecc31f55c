/**
 * The simulator's sense of time: timestamps, Idempotency-Key expiry, artificial latency, `delay` faults and push
 * completion all read it. The real clock is the default; a `ManualClock` lets a test move time itself, so
 * "stays Pending for 300 ms" or "answers after the latency" is shown by advancing the clock, not by sleeping.
 */

export interface SimulatorClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `task` once `ms` have passed; returns a function that cancels it. */
  setTimer(ms: number, task: () => void): () => void;
}

/** Wall-clock time and Node timers (unref'd: a forgotten simulator must not keep a process alive). */
export function realClock(now: () => number = Date.now): SimulatorClock {
  return {
    now,
    setTimer(ms, task) {
      const timer = setTimeout(task, ms);
      timer.unref();
      return () => {
        clearTimeout(timer);
      };
    },
  };
}

interface ManualTimer {
  due: number;
  order: number;
  task: () => void;
}

/** Time that moves only when `advance()` is called; timers fire in due order, ties in the order they were set. */
export class ManualClock implements SimulatorClock {
  #now: number;
  #order = 0;
  readonly #timers = new Set<ManualTimer>();

  constructor(start: number = Date.UTC(2024, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, task: () => void): () => void {
    const timer: ManualTimer = { due: this.#now + Math.max(0, ms), order: this.#order++, task };
    this.#timers.add(timer);
    return () => {
      this.#timers.delete(timer);
    };
  }

  /** Timers waiting to fire (a request held by latency or a `delay` fault, a Pending push). */
  get pending(): number {
    return this.#timers.size;
  }

  /** The waits of the pending timers, soonest first (what a test expects the simulator to be waiting for). */
  pendingDelays(): number[] {
    return [...this.#timers].sort(byDue).map((timer) => timer.due - this.#now);
  }

  /** Moves time forward by `ms`, running every timer that falls due, including ones those timers set. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const next = [...this.#timers].filter((timer) => timer.due <= target).sort(byDue)[0];
      if (!next) break;
      this.#timers.delete(next);
      this.#now = next.due;
      next.task();
    }
    this.#now = target;
  }
}

function byDue(a: ManualTimer, b: ManualTimer): number {
  return a.due - b.due || a.order - b.order;
}
