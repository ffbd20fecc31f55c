/**
 * The one Redis hub of a replica (REDIS_URL): every feature that needs Redis — the company slots (permits), the
 * request budget, the APQ cache, the push status bus and its poll lease, the webhook dedupe — asks it for its
 * store, and they all share two connections: one for commands, one for the bus's subscriptions (a subscribed
 * connection can issue nothing else). It also keeps the one health state (health.ts): down while the command
 * connection is not open, or once commands on it have failed for a whole lease; one slow command is not down.
 * The slots and the budget report their commands to it (one streak for both) and fall back on it; the poll lease
 * reads it; the APQ cache and the webhook dedupe answer each failed command themselves (a miss, the process's
 * own dedupe). The hub is the one reporter of an outage: the slots, which run whenever REDIS_URL is set, tell it
 * when they fall back (reportDown) and when they are shared again (reportUp); it writes one warn line naming
 * everything that falls back and one info line when Redis is back, and keeps `up` and `outages` for the metrics.
 *
 * Connections are built by start() (listen() calls it; ioredis is loaded then, by a dynamic import), which waits
 * for Redis up to REDIS_CONNECT_TIMEOUT_MS and never throws: an unreachable Redis is a problem the features act
 * on (the slots decide REDIS_FAILURE_MODE), while the connections keep reconnecting by themselves. The hub closes
 * them last, after every feature has stopped.
 */
import type { Redis } from "ioredis";
import type { RedisConfig } from "../config.js";
import { FailureStreak, reasonOf, type OutageLog } from "./health.js";

export interface RedisConnections {
  command: Redis;
  subscriber: Redis;
  /** Undefined when Redis answered within REDIS_CONNECT_TIMEOUT_MS, else the one-line problem (no password). */
  problem: string | undefined;
}

export class RedisHub {
  readonly config: RedisConfig;
  /** Commands failed in a row on the open command connection, whichever feature sent them. */
  readonly streak: FailureStreak;
  /** The replica's logger, for the features' lines about Redis. */
  readonly log: OutageLog;
  #started: Promise<RedisConnections> | undefined;
  #reportedDown = false;
  #outages = 0;
  #connections: RedisConnections | undefined;

  constructor(config: RedisConfig, log: OutageLog) {
    this.config = config;
    this.log = log;
    this.streak = new FailureStreak(config.leaseMs);
  }

  /** `<REDIS_KEY_PREFIX><name>`: every key and channel of the gateway carries the prefix. */
  key(name: string): string {
    return `${this.config.keyPrefix}${name}`;
  }

  /** The connections once start() has built them (open or reconnecting), else undefined. */
  get connections(): RedisConnections | undefined {
    return this.#connections;
  }

  /** Whether the command connection is open (a command sent now is answered or times out). */
  get connected(): boolean {
    return this.#connections?.command.status === "ready";
  }

  /** Redis is down: the command connection is not open, or commands have failed on it for a whole lease. */
  get down(): boolean {
    return !this.connected || this.streak.down;
  }

  /** A command answered (whatever it answered): Redis is up. */
  succeeded(): void {
    this.streak.reset();
  }

  /** Whether Redis is up as last reported (reportDown/reportUp): the metric's codat_gateway_redis_up. */
  get up(): boolean {
    return !this.#reportedDown;
  }

  /** Outages reported so far (reportDown while up): the metric's codat_gateway_redis_outages_total. */
  get outages(): number {
    return this.#outages;
  }

  /**
   * Redis is down (the slots fell back, or startup could not reach it): one warn line per outage naming what
   * falls back; `reason` names no password. `slotsPerCompany` is the slots' fallback share.
   */
  reportDown(reason: string, slotsPerCompany: number): void {
    if (this.#reportedDown) return;
    this.#reportedDown = true;
    this.#outages += 1;
    this.log.warn(
      `Redis down (${maskPassword(reason, this.config.url)}): until it is back, company slots fall back to at most ${slotsPerCompany} per company on this replica (floor(cap / REDIS_EXPECTED_REPLICAS), from a lease after Redis last answered), the request budget to this replica's share, APQ lookups miss (queries are sent in full), webhook dedupe runs in this process only, and push operations are polled by this replica`,
    );
  }

  /** Redis is back (the slots are shared again): one info line. */
  reportUp(): void {
    if (!this.#reportedDown) return;
    this.#reportedDown = false;
    this.log.info("Redis back: company slots, request budget, APQ cache, webhook dedupe and push status are shared by the replicas again");
  }

  /** Builds and connects both connections (once; later calls share the first). */
  start(): Promise<RedisConnections> {
    this.#started ??= this.#connect();
    return this.#started;
  }

  async close(): Promise<void> {
    const started = this.#started;
    this.#started = undefined;
    this.#connections = undefined;
    if (started === undefined) return;
    const { command, subscriber } = await started;
    const { closeRedisClient } = await import("./connection.js");
    await Promise.all([closeRedisClient(command), closeRedisClient(subscriber)]);
  }

  async #connect(): Promise<RedisConnections> {
    const { connectReady, newRedisClient, redisAddress, withTimeout, withoutRedisPassword } = await import("./connection.js");
    const settings = this.config;
    const command = newRedisClient(settings, "codat-gateway");
    const subscriber = newRedisClient(settings, "codat-gateway-subscriber");
    let lastError: string | undefined;
    const onError = (error: unknown): void => {
      lastError = reasonOf(error);
    };
    command.on("error", onError);
    // The subscriber connects meanwhile; it reconnects by itself too, and the bus subscribes its channels
    // whenever it is ready.
    const subscriberConnected = subscriber.connect().catch(() => undefined);
    let problem: string | undefined;
    try {
      const deadline = Date.now() + settings.connectTimeoutMs;
      await withTimeout(connectReady(command), settings.connectTimeoutMs, "connect timed out");
      // A PING slower than the command timeout on an open connection is a busy Redis (or process), not an absent
      // one: asked again while startup may still wait.
      for (;;) {
        try {
          await command.ping();
          break;
        } catch (error) {
          if (command.status !== "ready" || Date.now() >= deadline) throw error;
        }
      }
    } catch (error) {
      const reason = lastError ?? reasonOf(error);
      problem = `REDIS_URL: cannot reach Redis at ${redisAddress(settings.url)} (${withoutRedisPassword(reason, settings.url)})`;
      // Keep reconnecting (REDIS_FAILURE_MODE=local runs on while Redis is away).
      if (command.status === "end") void command.connect().catch(() => undefined);
    } finally {
      command.off("error", onError);
    }
    await withTimeout(subscriberConnected, settings.connectTimeoutMs).catch(() => undefined);
    this.#connections = { command, subscriber, problem };
    return this.#connections;
  }
}

/** `reason` with REDIS_URL's password masked (connection.ts's withoutRedisPassword, which loads ioredis). */
function maskPassword(reason: string, url: string): string {
  let password = "";
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // An unparsable URL carries no password we could find; config.ts refuses one anyway.
  }
  return password ? reason.split(password).join("***") : reason;
}
