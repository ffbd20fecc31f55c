/**
 * Small helpers for the Redis-backed parts (permits, budget, APQ cache, webhook dedupe, push status bus) that
 * load no Redis client: modules loaded without REDIS_URL may import them.
 */
/** `reason` with the Redis URL's password (if any) masked: what an error message may say of a connection. */
export function withoutRedisPassword(reason: string, url: string): string {
  let password = "";
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // An unparsable URL carries no password we could find; config.ts refuses one anyway.
  }
  return password ? reason.split(password).join("***") : reason;
}

/** `promise`, or a rejection with `message` once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message = `no answer within ${ms} ms`): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

/**
 * Whether the commands failing on an open connection mean Redis is down. One that times out says only that
 * Redis, the network or this process was busy (slow, not down): down is `count` failures in a row, no success
 * in between, spread over at least `windowMs` (the permits' lease).
 */
export class FailureStreak {
  #failures = 0;
  #since = 0;

  constructor(
    readonly windowMs: number,
    readonly count = 3,
  ) {}

  /** A command went through (or the streak was acted on): it ends. */
  reset(): void {
    this.#failures = 0;
  }

  /** Counts a failed command: a description of the streak once it means down, else undefined. */
  failed(): string | undefined {
    const now = Date.now();
    if (this.#failures === 0) this.#since = now;
    this.#failures += 1;
    const ms = now - this.#since;
    if (this.#failures < this.count || ms < this.windowMs) return undefined;
    return `${this.#failures} commands failed in a row over ${ms} ms`;
  }
}
