/**
 * How the gateway opens a Redis connection (ioredis), and the small helpers of the Redis-backed parts. Only the
 * hub (hub.ts) opens connections, plus the one-off protocol check at startup.
 *
 * A connection is lazy (connect() starts it), every command bounded — no offline queue (a command while
 * disconnected fails at once), no per-request retries, a command timeout — and it reconnects for ever with a
 * capped backoff, so a Redis that comes back is used again. One 'error' handler is attached here so none is
 * ever thrown.
 */
import { Redis } from "ioredis";
import type { RedisConfig } from "../config.js";

export type RedisSettings = Pick<RedisConfig, "url" | "commandTimeoutMs" | "connectTimeoutMs">;

export function newRedisClient(settings: RedisSettings, connectionName: string): Redis {
  const redis = new Redis(settings.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The subscribers subscribe again themselves on 'ready', catching a failure (push-bus.ts, cache/redis-store.ts).
    // ioredis's own re-subscribe does not catch: a connection lost again just then (no offline queue) was an
    // unhandled rejection, which would end the process.
    autoResubscribe: false,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    connectionName,
    // Reconnect for ever, at most every 2 s; callers run on their local fallback meanwhile.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  });
  redis.on("error", () => undefined);
  return redis;
}

/**
 * Connects, resolving once the connection is ready. A connection refused or unreachable rejects at once; one
 * that was made but closed before it was ready (its ready check timed out: a busy Redis or process) is waited
 * for while the client reconnects by itself.
 */
export function connectReady(redis: Redis): Promise<void> {
  return new Promise((resolve, reject) => {
    let reached = false;
    const onConnect = (): void => {
      reached = true;
    };
    const onReady = (): void => {
      settle();
      resolve();
    };
    const onClose = (): void => {
      if (reached) return;
      settle();
      reject(new Error("connection closed"));
    };
    const settle = (): void => {
      redis.off("connect", onConnect).off("ready", onReady).off("close", onClose);
    };
    redis.on("connect", onConnect).on("ready", onReady).on("close", onClose);
    redis.connect().catch(() => undefined);
  });
}

/** Closes a connection: QUIT when it is open (commands sent before it are answered), else at once. */
export async function closeRedisClient(redis: Redis): Promise<void> {
  if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/**
 * Whether what listens at REDIS_URL speaks Redis: a connection of its own and one PING, the two within
 * REDIS_COMMAND_TIMEOUT_MS (short: startup waits for it), no reconnecting. Something that answers in another
 * protocol (an HTTP server, another service's port) is a wrong REDIS_URL, which no waiting fixes: the answer is
 * the one-line problem naming REDIS_URL (password masked). Undefined when Redis answered (an error reply such as
 * NOAUTH is Redis speaking), or when nothing did in time: an unreachable or slow Redis is left to the connections
 * that follow (REDIS_CONNECT_TIMEOUT_MS, REDIS_FAILURE_MODE).
 */
export async function redisProtocolProblem(settings: RedisSettings): Promise<string | undefined> {
  let protocolError: string | undefined;
  const redis = new Redis(settings.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.commandTimeoutMs,
    retryStrategy: () => null,
  });
  // ioredis reports bytes that are not RESP as a ParserError, before it fails the pending commands.
  redis.on("error", (error: Error) => {
    if (error.name === "ParserError") protocolError ??= error.message.replace(/\s*Please report this\.?$/, "").replace(/\.$/, "");
  });
  try {
    const pinged = (async () => {
      await redis.connect();
      await redis.ping();
    })();
    await withTimeout(pinged, settings.commandTimeoutMs);
  } catch {
    // Unreachable, timed out, or a Redis error reply: only a protocol error (seen above) is this check's business.
  } finally {
    redis.disconnect();
  }
  if (protocolError === undefined) return undefined;
  return `REDIS_URL (${withoutRedisPassword(settings.url, settings.url)}) answered, but not as Redis (${protocolError}): check its host and port`;
}

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

/** Where Redis is, for messages: scheme, host and port only (never the password). */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}`;
  } catch {
    return "(unparsable URL)";
  }
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
