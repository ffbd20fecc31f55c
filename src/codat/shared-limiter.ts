/**
 * Company slots shared by every replica through Redis (REDIS_URL). Codat's limit is per company, however many
 * gateways call it, so each slot is also a permit in Redis: a lease in a sorted set per company (and one per
 * company for the download share), scored by its expiry. A replica renews the leases it holds every quarter
 * lease; one that dies stops renewing, and its permits return once their lease runs out.
 *
 * A local KeyedLimiter stays in front with the same cap, queues and download share: waiting happens there, and
 * only requests that hold a local slot ask Redis, one batched script call per company and kind at a time
 * (redis/permits.ts), again every REDIS_RETRY_INTERVAL_MS while every permit is taken.
 *
 * Slow is not down. A command that fails while the connection is open (it timed out: Redis, the network or this
 * process was busy) grants nothing: the request keeps waiting, within its own wait limit, and the take is asked
 * again (a take whose answer was lost may have taken the permit: asked again, it is found). Redis counts as down
 * only when its connection closes, or when commands have failed without a success in between for a whole lease
 * (three at least): that is when the replica falls back.
 *
 * On the fallback (also when Redis is unreachable at start with REDIS_FAILURE_MODE=local) a replica keeps at most
 * floor(cap / REDIS_EXPECTED_REPLICAS) (at least 1) of a company's requests in flight, counting those that still
 * hold a Redis permit, so all replicas on the fallback together stay within the cap; and it grants none before a
 * lease has passed since Redis last answered, by when the permits other replicas took through Redis have run
 * out too (as Redis would have them). One warn line when that starts, one info line when Redis is back (the hub's,
 * through `outage`, naming every feature's fallback; the limiter's own on `log` when it has no hub), and
 * `fallback` for the metrics. Back means a renewal went through: it registers every request in flight, the
 * fallback's too, before any new permit is taken from Redis; requests still waiting on the fallback queue ask
 * Redis instead; and for one more lease the replica keeps to its fallback share, while the others come back.
 *
 * The residual risk: while one replica is on the fallback and others still reach Redis (the network between it
 * and Redis is cut, or Redis answers some but not it for a whole lease), that replica's fallback requests are
 * invisible to the others, so a company may see up to cap + floor(cap / REDIS_EXPECTED_REPLICAS) while that
 * lasts; and requests that outlive a lease (a long download) still count nowhere after it. No Redis code is
 * loaded here: the store comes from the Redis hub (redis/permits.ts), and the streak of failed commands is the
 * hub's one health state, shared with the request budget.
 */
import { randomBytes } from "node:crypto";
import { KeyedLimiter, SlotUnavailable, type AcquireOptions, type Release, type SlotLimiter } from "./limiter.js";
import type { RedisConfig } from "../config.js";
import { FailureStreak, RedisUnavailableError, reasonOf } from "../redis/health.js";
import type { PermitStore, PermitStoreEvents } from "../redis/permits.js";

export { RedisUnavailableError, reasonOf, type PermitStore, type PermitStoreEvents };

export interface SharedLimiterOptions {
  maxPerKey: number;
  maxDownloadsPerKey: number;
  maxQueuedPerKey: number;
  maxQueuedDownloadsPerKey: number;
  redis: RedisConfig;
  log: { warn(message: string): void; info(message: string): void };
  /** The store: Redis's through the hub (redis/permits.ts), or the tests' own. */
  connect: (events: PermitStoreEvents) => Promise<PermitStore>;
  /** The hub's streak of failed commands (its health state); default one of the limiter's own. */
  streak?: FailureStreak;
  /**
   * The hub, the one reporter of a Redis outage: told when the slots fall back and when they are shared again,
   * instead of the limiter's own lines on `log`.
   */
  outage?: { reportDown(reason: string, slotsPerCompany: number): void; reportUp(): void };
}

/** Renewals sent while earlier ones are still unanswered (a slow Redis must not stop the leases' renewal). */
const MAX_RENEWALS_IN_FLIGHT = 2;

interface PermitWaiter {
  id: string;
  key: string;
  download: boolean;
  settled: boolean;
  /** A take for it is unanswered or failed: Redis may hold its permit, so giving up gives that back. */
  uncertain: boolean;
  /** Hands it the slot (registered as held at once); false when it had already given up. */
  grant(shared: boolean): boolean;
  fail(error: Error): void;
}

interface Pump {
  queue: PermitWaiter[];
  running: boolean;
}

export class SharedSlotLimiter implements SlotLimiter {
  readonly #front: KeyedLimiter;
  readonly #options: SharedLimiterOptions;
  readonly #replica = `${process.pid.toString(36)}-${randomBytes(6).toString("hex")}`;
  /** Permits held now, per key: id → download. */
  readonly #held = new Map<string, Map<string, boolean>>();
  /** Requests past the local queue, waiting for their permit, per key. */
  readonly #waiting = new Map<string, number>();
  /** Waiting for a Redis permit: one loop per company and kind. */
  readonly #pumps = new Map<string, Pump>();
  /** Requests in a take not yet answered, per key (the share after a fallback counts them as in flight). */
  readonly #asking = new Map<string, number>();
  /** Waiting for a slot of the fallback share, per key, in arrival order. */
  readonly #fallbackQueues = new Map<string, PermitWaiter[]>();
  #store: PermitStore | undefined;
  #shared = false;
  #renewals = 0;
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #seq = 0;
  #closed = false;
  /** Commands failed in a row with the connection open: down after three over a whole lease. */
  readonly #streak: FailureStreak;
  /** When Redis last answered (or start): the fallback grants nothing until a lease after it. */
  #answeredAt = Date.now();
  #quarantine: ReturnType<typeof setTimeout> | undefined;
  /** Until then (a lease after the fallback ended) Redis permits too are taken only within the fallback share. */
  #graceUntil = 0;
  /** Slots granted on the fallback share so far: a renewal that raced one does not end the fallback. */
  #fallbackGrants = 0;
  /** A company's share on the fallback: floor(cap / expected replicas), at least 1. */
  readonly fallbackCap: number;
  readonly #fallbackDownloadCap: number;

  constructor(options: SharedLimiterOptions) {
    this.#options = options;
    this.#streak = options.streak ?? new FailureStreak(options.redis.leaseMs);
    this.#front = new KeyedLimiter(options.maxPerKey, {
      maxDownloadsPerKey: options.maxDownloadsPerKey,
      maxQueuedPerKey: options.maxQueuedPerKey,
      maxQueuedDownloadsPerKey: options.maxQueuedDownloadsPerKey,
    });
    const replicas = options.redis.expectedReplicas;
    this.fallbackCap = Math.max(1, Math.floor(options.maxPerKey / replicas));
    this.#fallbackDownloadCap = Math.min(this.fallbackCap, Math.max(1, Math.floor(options.maxDownloadsPerKey / replicas)));
  }

  /** True while the slots run on the local fallback share (before start, and while Redis is down). */
  get fallback(): boolean {
    return !this.#shared;
  }

  /** Connects to Redis; rejects with RedisUnavailableError when it cannot be reached and REDIS_FAILURE_MODE=fail. */
  async start(): Promise<void> {
    const { redis } = this.#options;
    const events: PermitStoreEvents = { down: (reason) => this.#down(reason), ready: () => void this.#renew() };
    const connect = this.#options.connect;
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
    this.#answeredAt = Date.now();
    if (startupProblem === undefined) {
      this.#shared = true;
      this.#toShared();
    } else if (this.#options.outage !== undefined) {
      this.#options.outage.reportDown(`${startupProblem}; REDIS_FAILURE_MODE=local`, this.fallbackCap);
    } else {
      this.#options.log.warn(
        `${startupProblem}; REDIS_FAILURE_MODE=local: starting with at most ${this.fallbackCap} slots per company on this replica (after ${this.#options.redis.leaseMs} ms) until Redis is reachable`,
      );
    }
    const every = Math.max(50, Math.floor(redis.leaseMs / 4));
    this.#renewTimer = setInterval(() => void this.#renew(), every);
    this.#renewTimer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#renewTimer);
    clearTimeout(this.#quarantine);
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
    let id: string;
    try {
      const deadlineAt = options.maxWaitMs === undefined ? undefined : startedAt + options.maxWaitMs;
      id = await this.#permit(key, download, options.signal, deadlineAt);
    } catch (error) {
      releaseFront();
      throw error;
    } finally {
      this.#count(this.#waiting, key, -1);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const current = this.#held.get(key);
      current?.delete(id);
      if (current?.size === 0) this.#held.delete(key);
      // Whichever way it was granted, Redis may hold it (a renewal registers the fallback's): give it back. A
      // failure leaves it to its lease (it is no longer renewed).
      this.#store?.give(key, download, id).catch(() => undefined);
      releaseFront();
      this.#grantFallback(key);
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

  /** Waits for a permit (Redis, or the fallback share) and registers it as held: resolves its id. */
  #permit(key: string, download: boolean, signal: AbortSignal | undefined, deadlineAt: number | undefined): Promise<string> {
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
        settled: false,
        uncertain: false,
        grant: (shared) => {
          if (!settle()) return false;
          let held = this.#held.get(key);
          if (held === undefined) this.#held.set(key, (held = new Map<string, boolean>()));
          held.set(id, download);
          if (!shared) this.#fallbackGrants += 1;
          resolve(id);
          return true;
        },
        fail: (error) => {
          if (!settle()) return;
          if (waiter.uncertain) this.#store?.give(key, download, id).catch(() => undefined);
          reject(error);
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

  /** Queues the waiter for a slot of the fallback share (Redis is down). */
  #toFallback(waiter: PermitWaiter): void {
    if (waiter.settled) return;
    let queue = this.#fallbackQueues.get(waiter.key);
    if (queue === undefined) this.#fallbackQueues.set(waiter.key, (queue = []));
    queue.push(waiter);
    this.#grantFallback(waiter.key);
  }

  /**
   * Grants fallback waiters of `key` in arrival order while the replica's requests in flight for it (those
   * holding a Redis permit included) are under the fallback share, downloads under theirs, from a lease after
   * Redis last answered. Back on Redis, the waiters left ask Redis instead.
   */
  #grantFallback(key: string): void {
    const queue = this.#fallbackQueues.get(key);
    if (queue === undefined) return;
    if (this.#shared) {
      this.#fallbackQueues.delete(key);
      for (const waiter of queue) if (!waiter.settled) this.#enqueue(waiter);
      return;
    }
    for (let i = queue.length - 1; i >= 0; i -= 1) if (queue[i]?.settled) queue.splice(i, 1);
    // Requests granted through Redis before it went away may still run on other replicas, unknown to this one:
    // until a lease after Redis last answered (the time Redis itself gives a holder that stops renewing).
    const quarantineMs = this.#answeredAt + this.#options.redis.leaseMs - Date.now();
    if (quarantineMs > 0 && queue.length > 0) {
      if (this.#quarantine === undefined) {
        this.#quarantine = setTimeout(() => {
          this.#quarantine = undefined;
          for (const waiting of [...this.#fallbackQueues.keys()]) this.#grantFallback(waiting);
        }, quarantineMs);
        this.#quarantine.unref();
      }
      return;
    }
    let index = 0;
    while (index < queue.length && this.#fallbackRoom(key, false) > 0) {
      const waiter = queue[index];
      if (waiter === undefined) break;
      if (waiter.settled) {
        queue.splice(index, 1);
      } else if (waiter.download && this.#fallbackRoom(key, true) <= 0) {
        index += 1;
      } else {
        queue.splice(index, 1);
        waiter.grant(false);
      }
    }
    for (let i = queue.length - 1; i >= 0; i -= 1) if (queue[i]?.settled) queue.splice(i, 1);
    if (queue.length === 0) this.#fallbackQueues.delete(key);
  }

  #enqueue(waiter: PermitWaiter): void {
    const name = `${waiter.download ? "d" : "c"}:${waiter.key}`;
    let pump = this.#pumps.get(name);
    if (pump === undefined) this.#pumps.set(name, (pump = { queue: [], running: false }));
    pump.queue.push(waiter);
    if (!pump.running) void this.#run(name, pump, waiter.key, waiter.download);
  }

  /**
   * Asks Redis for the permits of everyone waiting on this company and kind, in one script call; grants those
   * Redis gave, and asks again after the retry interval for those left (also after a failed call: slow is not
   * down). One such loop per company and kind; on the fallback, its waiters move to the fallback queue.
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
        // Just back from the fallback, the replica keeps to its fallback share a while (see #renew).
        const room =
          Date.now() < this.#graceUntil ? this.#fallbackRoom(key, download) - (this.#asking.get(key) ?? 0) : this.#options.maxPerKey;
        const batch = pump.queue.slice(0, Math.max(0, room));
        if (batch.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, this.#options.redis.retryIntervalMs));
          continue;
        }
        // Until Redis answers, each of them may hold a permit there: one that gives up meanwhile gives it back.
        for (const waiter of batch) waiter.uncertain = true;
        this.#count(this.#asking, key, batch.length);
        let granted: ReadonlySet<string> | undefined;
        try {
          granted = new Set(
            await store.take(
              key,
              download,
              batch.map((waiter) => waiter.id),
            ),
          );
          this.#succeeded();
        } catch (error) {
          this.#failed(error);
        } finally {
          this.#count(this.#asking, key, -batch.length);
        }
        if (granted !== undefined) {
          for (const waiter of batch) {
            waiter.uncertain = false;
            if (!granted.has(waiter.id)) continue;
            const index = pump.queue.indexOf(waiter);
            if (index !== -1) pump.queue.splice(index, 1);
            if (!waiter.grant(true)) store.give(key, download, waiter.id).catch(() => undefined);
          }
          if (granted.size >= batch.length) continue;
        }
        const interval = this.#options.redis.retryIntervalMs;
        await new Promise((resolve) => setTimeout(resolve, interval / 2 + Math.random() * interval));
      }
    } finally {
      pump.running = false;
      if (pump.queue.length === 0 && this.#pumps.get(name) === pump) this.#pumps.delete(name);
    }
  }

  /** Slots of `key` the fallback share has free (for a download, within the download share too). */
  #fallbackRoom(key: string, download: boolean): number {
    const room = this.fallbackCap - this.inFlight(key);
    return download ? Math.min(room, this.#fallbackDownloadCap - this.downloadsInFlight(key)) : room;
  }

  #succeeded(): void {
    this.#answeredAt = Date.now();
    this.#streak.reset();
  }

  /** A command failed with the connection open: down once that has lasted a whole lease, three in a row at least. */
  #failed(error: unknown): void {
    if (this.#closed || !this.#shared) return;
    const streak = this.#streak.failed();
    if (streak !== undefined) this.#down(`${streak}: ${reasonOf(error)}`);
  }

  #down(reason: string): void {
    if (this.#closed || !this.#shared) return;
    this.#shared = false;
    this.#streak.reset();
    if (this.#options.outage !== undefined) this.#options.outage.reportDown(reason, this.fallbackCap);
    else
      this.#options.log.warn(
        `Redis unreachable (${reason}): company slots fall back to at most ${this.fallbackCap} per company on this replica (from a lease after Redis last answered) until it is back`,
      );
    // Every waiter moves now, those of a take still unanswered too (should Redis grant it after all, the permit
    // goes back: the waiter is settled, or it is granted once, as shared).
    for (const pump of this.#pumps.values()) for (const waiter of pump.queue.splice(0)) this.#toFallback(waiter);
    this.#pumps.clear();
  }

  /** Back on Redis: the waiters left on the fallback queues ask Redis now. */
  #toShared(): void {
    for (const key of [...this.#fallbackQueues.keys()]) this.#grantFallback(key);
  }

  /**
   * Renews the held leases, also the probe that ends a fallback: a renewal that went through registered every
   * request in flight (the fallback's included) unless one was granted meanwhile (then again, up to three times
   * in a row, else at the next tick). For a lease after that the replica still keeps to its fallback share, its
   * permits now from Redis: the other replicas, whose fallback requests Redis does not know yet, come back
   * within that time when it was Redis that went away (a restart: they reconnect within seconds).
   */
  async #renew(): Promise<void> {
    const store = this.#store;
    if (store === undefined || this.#renewals >= MAX_RENEWALS_IN_FLIGHT || this.#closed) return;
    this.#renewals += 1;
    try {
      let registered = false;
      for (let attempt = 0; attempt < 3 && !registered; attempt += 1) {
        const grants = this.#fallbackGrants;
        await store.renew(this.#held);
        // A close() meanwhile cleared the store.
        if (this.#store !== store) return;
        this.#succeeded();
        registered = this.#shared || grants === this.#fallbackGrants;
      }
      if (registered && !this.#shared) {
        this.#shared = true;
        this.#graceUntil = Date.now() + this.#options.redis.leaseMs;
        if (this.#options.outage !== undefined) this.#options.outage.reportUp();
        else this.#options.log.info("Redis reachable again: company slots are shared by the replicas again");
        this.#toShared();
      }
    } catch (error) {
      this.#failed(error);
    } finally {
      this.#renewals -= 1;
    }
  }
}
