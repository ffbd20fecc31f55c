/**
 * Company slots shared by every replica through Redis (REDIS_URL). Codat's limit is per company, however many
 * gateways call it, so each slot is also a permit in Redis: a lease in a sorted set per company (and one per
 * company for the download share), scored by its expiry. A replica renews the leases it holds; one that dies
 * stops renewing, and its permits return once their lease runs out.
 *
 * A local KeyedLimiter stays in front with the same cap, queues and download share: waiting happens there, and
 * only requests that hold a local slot ask Redis, one batched script call per company and kind at a time
 * (redis-permits.ts), again every REDIS_RETRY_INTERVAL_MS while every permit is taken.
 *
 * Without Redis (unreachable at start with REDIS_FAILURE_MODE=local, or lost while serving) each replica takes
 * at most ceil(cap / REDIS_EXPECTED_REPLICAS) of a company's slots from a second local limiter: one warn line
 * when that starts, one info line when Redis is back (then the global cap applies again), and `fallback` for
 * the metrics. No Redis code is loaded here: the store is imported by start().
 */
import { randomBytes } from "node:crypto";
import { KeyedLimiter, SlotUnavailable, type AcquireOptions, type Release, type SlotLimiter } from "./limiter.js";
import type { RedisConfig } from "../config.js";

/** The Redis side (redis-permits.ts): every method bounded by the command timeout; a rejection means "Redis is down". */
export interface PermitStore {
  /** Takes up to ids.length permits of `key` (for downloads within their share too): resolves n, the first n ids took one. */
  take(key: string, download: boolean, ids: readonly string[]): Promise<number>;
  /** Renews the leases of held permits, adding back any Redis lost (a restart); a ping when none are held. */
  renew(held: ReadonlyMap<string, ReadonlyMap<string, boolean>>): Promise<void>;
  give(key: string, download: boolean, id: string): Promise<void>;
  close(): Promise<void>;
}

export interface PermitStoreEvents {
  /** The connection closed or failed: fall back now (no command is waited for). */
  down(reason: string): void;
  /** The connection is ready again: renew, then share again. */
  ready(): void;
}

export interface SharedLimiterOptions {
  maxPerKey: number;
  maxDownloadsPerKey: number;
  maxQueuedPerKey: number;
  maxQueuedDownloadsPerKey: number;
  redis: RedisConfig;
  log: { warn(message: string): void; info(message: string): void };
  /** Tests: the store instead of Redis. */
  connect?: (events: PermitStoreEvents) => Promise<PermitStore>;
}

/** Startup could not reach Redis (REDIS_FAILURE_MODE=fail): one line naming REDIS_URL, never its password. */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
}

interface PermitWaiter {
  id: string;
  key: string;
  download: boolean;
  deadlineAt: number | undefined;
  signal: AbortSignal | undefined;
  settled: boolean;
  grant(shared: boolean, fallbackRelease?: Release): void;
  fail(error: Error): void;
}

interface Pump {
  queue: PermitWaiter[];
  running: boolean;
}

export class SharedSlotLimiter implements SlotLimiter {
  readonly #front: KeyedLimiter;
  readonly #fallback: KeyedLimiter;
  readonly #options: SharedLimiterOptions;
  readonly #replica = `${process.pid.toString(36)}-${randomBytes(6).toString("hex")}`;
  /** Permits held now, per key: id → download. */
  readonly #held = new Map<string, Map<string, boolean>>();
  /** Requests past the local queue, waiting for their permit, per key. */
  readonly #waiting = new Map<string, number>();
  readonly #pumps = new Map<string, Pump>();
  #store: PermitStore | undefined;
  #shared = false;
  #renewing = false;
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #seq = 0;
  #closed = false;
  /** The local share without Redis: ceil(cap / expected replicas). */
  readonly fallbackCap: number;

  constructor(options: SharedLimiterOptions) {
    this.#options = options;
    this.#front = new KeyedLimiter(options.maxPerKey, {
      maxDownloadsPerKey: options.maxDownloadsPerKey,
      maxQueuedPerKey: options.maxQueuedPerKey,
      maxQueuedDownloadsPerKey: options.maxQueuedDownloadsPerKey,
    });
    this.fallbackCap = Math.ceil(options.maxPerKey / options.redis.expectedReplicas);
    this.#fallback = new KeyedLimiter(this.fallbackCap, {
      maxDownloadsPerKey: Math.ceil(options.maxDownloadsPerKey / options.redis.expectedReplicas),
    });
  }

  /** True while the slots run on the local fallback cap (before start, and while Redis is unreachable). */
  get fallback(): boolean {
    return !this.#shared;
  }

  /** Connects to Redis; rejects with RedisUnavailableError when it cannot be reached and REDIS_FAILURE_MODE=fail. */
  async start(): Promise<void> {
    const { redis } = this.#options;
    const events: PermitStoreEvents = { down: (reason) => this.#down(reason), ready: () => void this.#renew() };
    let connect = this.#options.connect;
    if (connect === undefined) {
      const { connectRedisPermits } = await import("./redis-permits.js");
      const caps = { maxPerKey: this.#options.maxPerKey, maxDownloadsPerKey: this.#options.maxDownloadsPerKey };
      connect = (handlers) => connectRedisPermits({ ...redis, ...caps }, handlers);
    }
    let startupProblem: string | undefined;
    try {
      this.#store = await connect(events);
    } catch (error) {
      const store = (error as { store?: PermitStore } | undefined)?.store;
      if (!(error instanceof RedisUnavailableError) || redis.failureMode === "fail") {
        await store?.close();
        throw error;
      }
      startupProblem = error.message;
      this.#store = store;
    }
    if (startupProblem === undefined) {
      this.#shared = true;
    } else {
      this.#options.log.warn(
        `${startupProblem}; REDIS_FAILURE_MODE=local: starting with at most ${this.fallbackCap} slots per company on this replica until Redis is reachable`,
      );
    }
    const every = Math.max(50, Math.floor(redis.leaseMs / 3));
    this.#renewTimer = setInterval(() => void this.#renew(), every);
    this.#renewTimer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#renewTimer);
    this.#shared = false;
    const store = this.#store;
    this.#store = undefined;
    await store?.close();
  }

  async acquire(key: string, options: AcquireOptions = {}): Promise<Release> {
    const startedAt = Date.now();
    const releaseFront = await this.#front.acquire(key, options);
    const download = options.kind === "download";
    this.#count(this.#waiting, key, 1);
    let permit: { id: string; shared: boolean; fallbackRelease: Release | undefined };
    try {
      const deadlineAt = options.maxWaitMs === undefined ? undefined : startedAt + options.maxWaitMs;
      permit = await this.#permit(key, download, options.signal, deadlineAt);
    } catch (error) {
      releaseFront();
      throw error;
    } finally {
      this.#count(this.#waiting, key, -1);
    }
    let held = this.#held.get(key);
    if (held === undefined) this.#held.set(key, (held = new Map<string, boolean>()));
    held.set(permit.id, download);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const current = this.#held.get(key);
      current?.delete(permit.id);
      if (current?.size === 0) this.#held.delete(key);
      permit.fallbackRelease?.();
      // A fallback permit may have been registered by a renewal: give it back too. A failure leaves it to its lease.
      if (this.#store !== undefined && (permit.shared || this.#shared)) this.#store.give(key, download, permit.id).catch(() => undefined);
      releaseFront();
    };
  }

  inFlight(key: string): number {
    return this.#held.get(key)?.size ?? 0;
  }

  downloadsInFlight(key: string): number {
    let downloads = 0;
    for (const download of this.#held.get(key)?.values() ?? []) if (download) downloads += 1;
    return downloads;
  }

  queued(key: string): number {
    return this.#front.queued(key) + (this.#waiting.get(key) ?? 0);
  }

  totalInFlight(): number {
    let total = 0;
    for (const held of this.#held.values()) total += held.size;
    return total;
  }

  totalQueued(): number {
    let total = this.#front.totalQueued();
    for (const waiting of this.#waiting.values()) total += waiting;
    return total;
  }

  #count(map: Map<string, number>, key: string, delta: number): void {
    const next = (map.get(key) ?? 0) + delta;
    if (next <= 0) map.delete(key);
    else map.set(key, next);
  }

  #permit(
    key: string,
    download: boolean,
    signal: AbortSignal | undefined,
    deadlineAt: number | undefined,
  ): Promise<{ id: string; shared: boolean; fallbackRelease: Release | undefined }> {
    const id = `${this.#replica}:${(this.#seq += 1).toString(36)}`;
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        waiter.fail(signal?.reason instanceof Error ? signal.reason : new Error("aborted", { cause: signal?.reason }));
      };
      const settle = (): boolean => {
        if (waiter.settled) return false;
        waiter.settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const waiter: PermitWaiter = {
        id,
        key,
        download,
        deadlineAt,
        signal,
        settled: false,
        grant: (shared, fallbackRelease) => {
          if (settle()) resolve({ id, shared, fallbackRelease });
          else fallbackRelease?.();
        },
        fail: (error) => {
          if (settle()) reject(error);
        },
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      if (deadlineAt !== undefined) {
        timer = setTimeout(() => waiter.fail(new SlotUnavailable("wait_timeout")), Math.max(0, deadlineAt - Date.now()));
      }
      if (this.#shared) this.#enqueue(waiter);
      else this.#toFallback(waiter);
    });
  }

  /** Waits for a slot of the local fallback cap instead (Redis is down). */
  #toFallback(waiter: PermitWaiter): void {
    if (waiter.settled) return;
    const maxWaitMs = waiter.deadlineAt === undefined ? undefined : Math.max(0, waiter.deadlineAt - Date.now());
    this.#fallback.acquire(waiter.key, { signal: waiter.signal, kind: waiter.download ? "download" : "call", maxWaitMs }).then(
      (release) => waiter.grant(false, release),
      (error: unknown) => waiter.fail(error instanceof Error ? error : new Error(String(error))),
    );
  }

  #enqueue(waiter: PermitWaiter): void {
    const name = `${waiter.download ? "d" : "c"}:${waiter.key}`;
    let pump = this.#pumps.get(name);
    if (pump === undefined) this.#pumps.set(name, (pump = { queue: [], running: false }));
    pump.queue.push(waiter);
    if (!pump.running) void this.#run(name, pump, waiter.key, waiter.download);
  }

  /**
   * Asks Redis for the permits of everyone waiting on this company and kind, in one script call; grants them in
   * arrival order, and asks again after the retry interval for those left. One such loop per company and kind.
   */
  async #run(name: string, pump: Pump, key: string, download: boolean): Promise<void> {
    pump.running = true;
    try {
      for (;;) {
        pump.queue = pump.queue.filter((waiter) => !waiter.settled);
        if (pump.queue.length === 0) return;
        const store = this.#store;
        if (!this.#shared || store === undefined) {
          for (const waiter of pump.queue.splice(0)) this.#toFallback(waiter);
          return;
        }
        const batch = pump.queue.slice(0, this.#options.maxPerKey);
        let taken: number;
        try {
          taken = await store.take(
            key,
            download,
            batch.map((waiter) => waiter.id),
          );
        } catch (error) {
          this.#down(reasonOf(error));
          continue;
        }
        for (const [index, waiter] of batch.entries()) {
          if (index >= taken) break;
          pump.queue.splice(pump.queue.indexOf(waiter), 1);
          if (waiter.settled) store.give(key, download, waiter.id).catch(() => undefined);
          else waiter.grant(true);
        }
        if (taken >= batch.length) continue;
        const interval = this.#options.redis.retryIntervalMs;
        await new Promise((resolve) => setTimeout(resolve, interval / 2 + Math.random() * interval));
      }
    } finally {
      pump.running = false;
      if (pump.queue.length === 0 && this.#pumps.get(name) === pump) this.#pumps.delete(name);
    }
  }

  #down(reason: string): void {
    if (this.#closed || !this.#shared) return;
    this.#shared = false;
    this.#options.log.warn(
      `Redis unreachable (${reason}): company slots fall back to at most ${this.fallbackCap} per company on this replica until it is back`,
    );
    for (const [name, pump] of this.#pumps) {
      if (pump.running) continue;
      for (const waiter of pump.queue.splice(0)) this.#toFallback(waiter);
      this.#pumps.delete(name);
    }
  }

  /** Renews the held leases (also the probe that ends a fallback). */
  async #renew(): Promise<void> {
    const store = this.#store;
    if (store === undefined || this.#renewing || this.#closed) return;
    this.#renewing = true;
    try {
      await store.renew(this.#held);
      // A close() meanwhile cleared the store.
      if (!this.#shared && this.#store === store) {
        this.#shared = true;
        this.#options.log.info("Redis reachable again: company slots are shared by the replicas again");
      }
    } catch (error) {
      this.#down(reasonOf(error));
    } finally {
      this.#renewing = false;
    }
  }
}

/** A short reason for a Redis failure: its code or message, never a URL. */
export function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string") return code;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/rediss?:\/\/\S*/gi, "redis://…").slice(0, 200);
}
