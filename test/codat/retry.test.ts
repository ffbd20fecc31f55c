/** The retry rules as pure functions: which failures repeat per method, Retry-After parsing, backoff bounds. */
import ky, { HTTPError, NetworkError } from "ky";
import { describe, expect, it } from "vitest";
import { backoffMs, isRetryable, nextRetryDelay, retryAfterMs, type RetryPolicy } from "../../src/codat/retry.js";

const request = new Request("http://codat.invalid/companies/x");
/** A real HTTPError, produced by ky itself from a canned response. */
async function httpError(status: number, headers: Record<string, string> = {}): Promise<HTTPError> {
  const error: unknown = await ky
    .get("http://codat.invalid/", { retry: 0, fetch: async () => new Response(null, { status, headers }) })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  if (!(error instanceof HTTPError)) throw new Error("expected an HTTPError");
  return error;
}
const refused = new NetworkError(request, {
  cause: new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) }),
});
const reset = new NetworkError(request, {
  cause: new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) }),
});
/** An attempt timeout as the transport reports it: fetch's network error, caused by undici's headers timeout. */
const timeout = new NetworkError(request, {
  cause: new TypeError("fetch failed", { cause: Object.assign(new Error("Headers Timeout Error"), { code: "UND_ERR_HEADERS_TIMEOUT" }) }),
});
const policy: RetryPolicy = { limit: 3, initialDelayMs: 100, maxDelayMs: 300, maxRetryAfterMs: 1_000 };

describe("isRetryable", () => {
  it.each([
    ["GET", [408, 429, 500, 502, 503, 504], [400, 401, 403, 404, 409, 422, 501]],
    ["HEAD", [429, 503], [404]],
    ["POST", [409, 429], [408, 500, 502, 503, 504, 400, 422]],
    ["PUT", [429], [408, 500, 502, 503, 504, 400]],
  ] as const)("%s statuses", async (method, yes, no) => {
    for (const status of yes) expect(isRetryable(method, await httpError(status)), `${method} ${status}`).toBe(true);
    for (const status of no) expect(isRetryable(method, await httpError(status)), `${method} ${status}`).toBe(false);
  });

  it("network errors and timeouts", async () => {
    expect([refused, reset, timeout].map((e) => isRetryable("GET", e))).toEqual([true, true, true]);
    expect([refused, reset, timeout].map((e) => isRetryable("POST", e))).toEqual([true, true, true]);
    expect([refused, reset, timeout].map((e) => isRetryable("PUT", e))).toEqual([true, false, false]);
    expect(isRetryable("GET", new Error("bug"))).toBe(false);
    expect(isRetryable("DELETE", await httpError(503))).toBe(false);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2024-05-01T12:00:00Z");
  it.each([
    ["3", 3_000],
    ["0", 0],
    ["Wed, 01 May 2024 12:00:05 GMT", 5_000],
    ["Wed, 01 May 2024 11:59:00 GMT", 0],
    ["soon", undefined],
    ["-1", undefined],
  ])("%j → %j", (value, expected) => {
    expect(retryAfterMs(new Headers({ "retry-after": value }), now)).toBe(expected);
  });
  it("is undefined without the header", () => {
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});

describe("backoff and planning", () => {
  it("grows ×2 under full jitter and respects the cap", () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, policy, () => 0.999_999))).toEqual([99, 199, 299, 299]);
    expect(backoffMs(3, policy, () => 0)).toBe(0);
  });

  it("uses Retry-After, refuses one above the cap, and never plans past the deadline", async () => {
    const now = 1_000_000;
    const plan = (error: unknown, deadlineAt = now + 10_000, retryNumber = 1) =>
      nextRetryDelay({ method: "GET", error, retryNumber, policy, deadlineAt, now });
    expect(plan(await httpError(429, { "retry-after": "1" }))).toBe(1_000);
    expect(plan(await httpError(429, { "retry-after": "2" }))).toBeUndefined();
    expect(plan(await httpError(503, { "retry-after": "1" }), now + 900)).toBeUndefined();
    expect(plan(await httpError(503), now + 10_000, 4)).toBeUndefined();
    expect(plan(await httpError(400))).toBeUndefined();
    expect(plan(await httpError(503))).toBeLessThan(100);
  });
});
