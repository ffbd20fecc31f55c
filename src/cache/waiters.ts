/** Reads waiting for a key's wake-up (a fill, a sync's delta), each for at most its own time. */
export class KeyWaiters {
  readonly #waiters = new Map<string, Set<() => void>>();

  /** Resolves at `wake(key)` (or `wakeAll()`), or after `ms`. */
  wait(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(key);
      if (waiters === undefined) {
        waiters = new Set();
        this.#waiters.set(key, waiters);
      }
      const set = waiters;
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  wake(key: string): void {
    const waiters = this.#waiters.get(key);
    if (waiters === undefined) return;
    this.#waiters.delete(key);
    for (const wake of waiters) wake();
  }

  wakeAll(): void {
    for (const waiters of [...this.#waiters.values()]) for (const wake of waiters) wake();
    this.#waiters.clear();
  }
}
