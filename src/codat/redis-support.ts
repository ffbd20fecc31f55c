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
