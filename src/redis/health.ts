/**
 * What the Redis-backed parts share about Redis's health, with no Redis client loaded (modules loaded without
 * REDIS_URL may import it). Redis is down when its connection is not open (a command then fails at once: no
 * offline queue), or when commands on the open connection have failed without a success in between for a whole
 * lease (three at least): one slow command (it timed out: Redis, the network or this process was busy) is slow,
 * not down. The hub keeps one such state per replica and every feature reports to it and reads it.
 */

/** Startup could not reach Redis (REDIS_FAILURE_MODE=fail): one line naming REDIS_URL, never its password. */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
}

/**
 * Whether the commands failing on an open connection mean Redis is down: `count` failures in a row, no success
 * in between, spread over at least `windowMs` (the permits' lease). Shared by every feature on the hub's command
 * connection, so any answer from Redis ends a streak and any failure adds to it.
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

  /** Whether the failures so far mean down (counts nothing). */
  get down(): boolean {
    return this.#failures >= this.count && Date.now() - this.#since >= this.windowMs;
  }
}

/** A short reason for a Redis failure: its code or message, never a URL. */
export function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string") return code;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/rediss?:\/\/\S*/gi, "redis://…").slice(0, 200);
}

export interface OutageLog {
  warn(message: string): void;
  info(message: string): void;
}
