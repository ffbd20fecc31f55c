/**
 * Retries, Retry-After, per-attempt timeouts, the overall deadline, cancellation, and the write rules.
 *
 * No assertion reads the clock: the client reports each planned retry (`onRetry`: which retry, the wait, the
 * failed status), and a bound that must hold ("stops at the deadline", "aborts the wait") is set up so that
 * breaking it would make the test hang past its timeout instead of finishing a little late.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { GraphQLError } from "graphql";
import { beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { CodatClient, type CodatClientOptions, type RetryEvent } from "../../src/codat/client.js";
import { errorCodeOf } from "../../src/errors.js";
import {
  COMPANY,
  CONNECTION,
  useFakeCodat,
  after,
  customersPage,
  hang,
  pushOperation,
  resetConnection,
  resetMidBody,
  sendJson,
  sendText,
  type Responder,
} from "./fake-codat.js";

const fake = useFakeCodat();
/** Every retry the clients of the current test planned. */
let retries: RetryEvent[];

beforeEach(() => {
  retries = [];
});

/** Short timings so the suite stays fast; individual tests override what they measure. */
function client(overrides: Partial<CodatClientOptions> = {}): CodatClient {
  return new CodatClient({
    baseUrl: fake.origin,
    apiKey: "secret-key",
    attemptTimeoutMs: 1_000,
    deadlineMs: 3_000,
    retryLimit: 3,
    retryInitialDelayMs: 5,
    retryMaxDelayMs: 20,
    maxRetryAfterMs: 2_000,
    onRetry: (event) => retries.push(event),
    ...overrides,
  });
}

const list = (codat: CodatClient, signal?: AbortSignal) =>
  codat.listCustomers(COMPANY, { page: 1, pageSize: 10 }, signal ? { signal } : {});

const ok: Responder = (_request, response) => sendJson(response, 200, customersPage(1));
const status =
  (code: number, body: unknown = { statusCode: code, error: `status ${code}` }, headers: Record<string, string> = {}): Responder =>
  (_request, response) =>
    sendJson(response, code, body, headers);

async function failure(promise: Promise<unknown>): Promise<{ error: unknown; json: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return { error, json: JSON.parse(JSON.stringify(error)) as Record<string, unknown> };
  }
  throw new Error("expected a rejection");
}

describe("GET retries", () => {
  it("waits for Retry-After on 429, then succeeds", async () => {
    fake.script(status(429, { statusCode: 429, error: "Too many" }, { "retry-after": "1" })).always(ok);
    const page = await list(client());
    expect(page.totalResults).toBe(1);
    expect(fake.received).toHaveLength(2);
    expect(retries).toEqual([{ method: "GET", retryNumber: 1, delayMs: 1_000, status: 429 }]);
  });

  it("fails fast with RATE_LIMITED when Retry-After exceeds the cap", async () => {
    fake.always(status(429, { statusCode: 429, error: "Quota", correlationId: "corr-429" }, { "retry-after": "120" }));
    const { json } = await failure(list(client({ maxRetryAfterMs: 1_000 })));
    expect(json).toMatchObject({
      extensions: { code: "RATE_LIMITED", retryAfterSeconds: 120, upstream: { status: 429, correlationId: "corr-429" } },
    });
    expect(fake.received).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it("honours an HTTP-date Retry-After", async () => {
    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
    fake.always(status(429, {}, { "retry-after": inTwoMinutes }));
    const { json } = await failure(list(client({ maxRetryAfterMs: 1_000 })));
    expect(json).toMatchObject({ extensions: { code: "RATE_LIMITED" } });
    const seconds = (json["extensions"] as Record<string, unknown>)["retryAfterSeconds"];
    expect(seconds).toBeGreaterThan(100);
    expect(seconds).toBeLessThanOrEqual(120);
  });

  it("retries 503 and 500, then succeeds", async () => {
    fake.script(status(503), status(500), status(502)).always(ok);
    const page = await list(client({ random: () => 0.5 }));
    expect(page.results).toHaveLength(1);
    expect(fake.received).toHaveLength(4);
    // Full jitter over a doubling ceiling (5, 10, 20 ms; capped at 20), here at its midpoint.
    expect(retries).toEqual([
      { method: "GET", retryNumber: 1, delayMs: 2, status: 503 },
      { method: "GET", retryNumber: 2, delayMs: 5, status: 500 },
      { method: "GET", retryNumber: 3, delayMs: 10, status: 502 },
    ]);
  });

  it("gives up after the retry limit with the upstream status and correlation id", async () => {
    fake.always(status(503, { statusCode: 503, error: "Down", correlationId: "a1b2c3d4e5" }));
    const { json } = await failure(list(client({ retryLimit: 2 })));
    expect(json).toEqual({
      message: "Codat is unavailable",
      extensions: { code: "UPSTREAM_UNAVAILABLE", upstream: { status: 503, correlationId: "a1b2c3d4e5" } },
    });
    expect(fake.received).toHaveLength(3);
  });

  it("does not retry other 4xx", async () => {
    fake.always(status(400, { statusCode: 400, error: "Invalid query" }));
    const { json } = await failure(list(client()));
    expect(json).toMatchObject({ message: "Codat rejected the request as invalid: Invalid query", extensions: { code: "BAD_USER_INPUT" } });
    expect(fake.received).toHaveLength(1);
  });

  it("retries a per-attempt timeout, then reports UPSTREAM_TIMEOUT", async () => {
    fake.always(hang);
    const { json } = await failure(list(client({ attemptTimeoutMs: 80, retryLimit: 2 })));
    expect(json).toMatchObject({ extensions: { code: "UPSTREAM_TIMEOUT" } });
    expect(fake.received).toHaveLength(3);
    expect(retries.map((r) => [r.retryNumber, r.status])).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
  });

  it("recovers when a timed-out attempt is followed by a prompt one", async () => {
    fake.script(hang).always(ok);
    await expect(list(client({ attemptTimeoutMs: 80 }))).resolves.toMatchObject({ totalResults: 1 });
    expect(fake.received).toHaveLength(2);
  });

  it("respects the overall deadline even when attempts would take longer", async () => {
    fake.always(hang);
    // An attempt timeout longer than the test's own: only the deadline can end this call in time.
    const { json } = await failure(list(client({ attemptTimeoutMs: 60_000, deadlineMs: 250, retryLimit: 5 })));
    expect(json).toMatchObject({ extensions: { code: "UPSTREAM_TIMEOUT" } });
    expect(fake.received).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it("stops instead of sleeping past the deadline, reporting the last failure", async () => {
    fake.always(status(503, { statusCode: 503, correlationId: "corr-503" }, { "retry-after": "1" }));
    const { json } = await failure(list(client({ deadlineMs: 500 })));
    expect(json).toMatchObject({ extensions: { code: "UPSTREAM_UNAVAILABLE", retryAfterSeconds: 1, upstream: { status: 503 } } });
    expect(fake.received).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it("never exceeds the deadline across many slow failures", async () => {
    fake.always(after(60, status(500)));
    const { json } = await failure(list(client({ deadlineMs: 300, retryLimit: 1_000, retryInitialDelayMs: 20, retryMaxDelayMs: 40 })));
    expect(["UPSTREAM_ERROR", "UPSTREAM_TIMEOUT"]).toContain((json["extensions"] as Record<string, unknown>)["code"]);
    // 1 000 retries of at least 60 ms each cannot fit in 300 ms: the deadline stopped it, long before the limit.
    // (On a busy machine an attempt may be cut by the deadline before Codat sees it, so at most one request
    // more than the retries planned reached Codat, and possibly fewer.)
    expect(retries.length).toBeLessThan(1_000);
    expect(fake.received.length).toBeLessThanOrEqual(retries.length + 1);
  });

  it("retries a connection reset before and in the middle of the response", async () => {
    fake.script(resetConnection, resetMidBody).always(ok);
    await expect(list(client())).resolves.toMatchObject({ totalResults: 1 });
    expect(fake.received).toHaveLength(3);
  });

  it("reports UPSTREAM_UNAVAILABLE when resets persist", async () => {
    fake.always(resetMidBody);
    const { json } = await failure(list(client({ retryLimit: 1 })));
    expect(json).toEqual({ message: "Codat is unavailable", extensions: { code: "UPSTREAM_UNAVAILABLE" } });
    expect(fake.received).toHaveLength(2);
  });

  it("does not retry a malformed JSON body on 200", async () => {
    fake.always((_request, response) => sendText(response, 200, '{"results": [', { "content-type": "application/json" }));
    const { json } = await failure(list(client()));
    expect(json).toMatchObject({ extensions: { code: "UPSTREAM_ERROR", upstream: { status: 200 } } });
    expect(fake.received).toHaveLength(1);
  });
});

describe("cancellation", () => {
  it("aborts the request in flight with the caller's reason", async () => {
    fake.always(hang);
    const controller = new AbortController();
    // Aborted once Codat has the request; attempt timeout and deadline are longer than the test's own.
    const pending = failure(list(client({ attemptTimeoutMs: 60_000, deadlineMs: 60_000 }), controller.signal));
    await waitFor(() => fake.received.length === 1, { timeoutMs: 10_000 });
    controller.abort();
    const { error } = await pending;
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: "AbortError" });
  });

  it("aborts a wait between attempts", async () => {
    // A 60 s wait the test could never sit out, aborted as soon as it is planned.
    fake.always(status(429, {}, { "retry-after": "60" }));
    const controller = new AbortController();
    const codat = client({
      maxRetryAfterMs: 120_000,
      deadlineMs: 120_000,
      onRetry: () => controller.abort(new Error("caller gave up")),
    });
    const { error } = await failure(list(codat, controller.signal));
    expect(error).toEqual(new Error("caller gave up"));
    expect(fake.received).toHaveLength(1);
  });

  it("rejects at once when the signal is already aborted, sending nothing", async () => {
    await expect(list(client(), AbortSignal.abort())).rejects.toMatchObject({ name: "AbortError" });
    expect(fake.received).toHaveLength(0);
  });
});

describe("POST createCustomer", () => {
  const create = (codat: CodatClient, key = "7d4c1e0a-1111-4222-8333-944455556666") =>
    codat.createCustomer(COMPANY, CONNECTION, { customerName: "Acme", status: "Active" }, { idempotencyKey: key });

  it("retries a reset with the same Idempotency-Key and body", async () => {
    fake.script(resetConnection, resetMidBody).always((_request, response) => sendJson(response, 200, pushOperation()));
    await expect(create(client())).resolves.toMatchObject({ status: "Pending" });
    expect(fake.received).toHaveLength(3);
    expect(new Set(fake.received.map((r) => r.headers["idempotency-key"]))).toEqual(new Set(["7d4c1e0a-1111-4222-8333-944455556666"]));
    expect(new Set(fake.received.map((r) => r.body))).toEqual(new Set([JSON.stringify({ customerName: "Acme", status: "Active" })]));
  });

  it("retries 429 and a timeout", async () => {
    fake.script(status(429, {}, { "retry-after": "0" }), hang).always((_request, response) => sendJson(response, 200, pushOperation()));
    await expect(create(client({ attemptTimeoutMs: 100 }))).resolves.toMatchObject({ status: "Pending" });
    expect(fake.received).toHaveLength(3);
  });

  it.each([500, 503])("does not retry %i (Codat replays it for the same key)", async (code) => {
    fake.always(status(code, { statusCode: code, correlationId: "c-1" }));
    const { json } = await failure(create(client()));
    expect(json).toMatchObject({ extensions: { upstream: { status: code, correlationId: "c-1" } } });
    expect(fake.received).toHaveLength(1);
  });

  it("maps 422 (same key, different body) to CONFLICT without retrying", async () => {
    fake.script(status(422));
    expect(errorCodeOf((await failure(create(client()))).error)).toBe("CONFLICT");
    expect(fake.received).toHaveLength(1);
  });

  it("retries a 409 (same key still running) with the same key, and maps a lasting 409 to CONFLICT", async () => {
    fake.always(status(409));
    expect(errorCodeOf((await failure(create(client()))).error)).toBe("CONFLICT");
    expect(fake.received.length).toBeGreaterThan(1);
    expect(new Set(fake.received.map((r) => r.headers["idempotency-key"])).size).toBe(1);
  });
});

describe("PUT updateCustomer", () => {
  const update = (codat: CodatClient) => codat.updateCustomer(COMPANY, CONNECTION, "cust-1", { customerName: "Acme", status: "Active" });

  it("does not retry 500", async () => {
    fake.always(status(500));
    expect(errorCodeOf((await failure(update(client()))).error)).toBe("UPSTREAM_ERROR");
    expect(fake.received).toHaveLength(1);
  });

  it("does not retry a reset after Codat received the request", async () => {
    fake.always(resetConnection);
    expect(errorCodeOf((await failure(update(client()))).error)).toBe("UPSTREAM_UNAVAILABLE");
    expect(fake.received).toHaveLength(1);
  });

  it("does not retry a timeout", async () => {
    fake.always(hang);
    expect(errorCodeOf((await failure(update(client({ attemptTimeoutMs: 80 })))).error)).toBe("UPSTREAM_TIMEOUT");
    expect(fake.received).toHaveLength(1);
  });

  it("retries 429", async () => {
    fake.script(status(429, {}, { "retry-after": "0" })).always((_request, response) => sendJson(response, 200, pushOperation()));
    await expect(update(client())).resolves.toMatchObject({ pushOperationKey: expect.any(String) });
    expect(fake.received).toHaveLength(2);
  });

  it("retries when the connection is refused (nothing reached Codat)", async () => {
    // Find a free port, leave it closed for the first attempt, then start listening on it.
    const probe = createServer();
    probe.listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, "close");

    let received = 0;
    const late = createServer((request, response) => {
      received += 1;
      request.resume();
      sendJson(response, 200, pushOperation());
    });
    // The port opens once the first refusal has been seen and its retry planned.
    let opened: Promise<void> | undefined;
    try {
      const codat = new CodatClient({
        baseUrl: `http://127.0.0.1:${port}`,
        retryLimit: 20,
        retryInitialDelayMs: 40,
        retryMaxDelayMs: 40,
        random: () => 0.99,
        onRetry: () => {
          opened ??= new Promise<void>((resolve) => late.listen(port, "127.0.0.1", resolve));
        },
      });
      await expect(update(codat)).resolves.toMatchObject({ status: "Pending" });
      expect(received).toBe(1);
    } finally {
      await opened;
      late.closeAllConnections();
      late.close();
    }
  });
});

describe("error mapping", () => {
  it.each([
    [400, "BAD_USER_INPUT"],
    [401, "UNAUTHENTICATED"],
    [402, "FORBIDDEN"],
    [403, "FORBIDDEN"],
    [404, "NOT_FOUND"],
    [409, "CONFLICT"],
    [422, "CONFLICT"],
    [429, "RATE_LIMITED"],
    [408, "UPSTREAM_TIMEOUT"],
    [500, "UPSTREAM_ERROR"],
    [501, "UPSTREAM_ERROR"],
    [502, "UPSTREAM_UNAVAILABLE"],
    [503, "UPSTREAM_UNAVAILABLE"],
    [504, "UPSTREAM_UNAVAILABLE"],
    [418, "UPSTREAM_ERROR"],
  ])("maps %i to %s with the upstream status", async (code, expected) => {
    fake.always(status(code, { statusCode: code, correlationId: "corr-x" }));
    const { json } = await failure(list(client({ retryLimit: 0 })));
    expect(json).toMatchObject({ extensions: { code: expected, upstream: { status: code, correlationId: "corr-x" } } });
  });

  it("never leaks the URL, host:port or credentials from a 500 body", async () => {
    const key = "secret-key";
    const basic = Buffer.from(key).toString("base64");
    fake.always((request, response) =>
      sendJson(response, 500, {
        statusCode: 500,
        error: `Upstream ${fake.origin}${request.path} failed; Authorization: Basic ${basic}; key=${key}`,
        correlationId: "corr-500",
        stack: "at handler (/srv/codat.js:1:1)",
      }),
    );
    const { error, json } = await failure(list(client({ retryLimit: 1 })));
    expect(error).toBeInstanceOf(GraphQLError);
    const extensions = error instanceof GraphQLError ? error.extensions : undefined;
    const everything = `${String(error)} ${JSON.stringify(json)} ${JSON.stringify(extensions)}`;
    for (const secret of [fake.origin, `127.0.0.1:${fake.port}`, String(fake.port), key, basic, "Basic", "/companies/", "stack"]) {
      expect(everything).not.toContain(secret);
    }
    expect(json).toEqual({
      message: "Codat failed to process the request",
      extensions: { code: "UPSTREAM_ERROR", upstream: { status: 500, correlationId: "corr-500" } },
    });
  });

  it("sanitises Codat's text on a 4xx", async () => {
    const basic = Buffer.from("secret-key").toString("base64");
    fake.always((_request, response) =>
      sendJson(response, 403, {
        statusCode: 403,
        error: `Company not accessible via ${fake.origin}/companies/x (see api.codat.io:443) Authorization: Basic ${basic}`,
      }),
    );
    const { error, json } = await failure(list(client()));
    const everything = `${String(error)} ${JSON.stringify(json)}`;
    for (const secret of [fake.origin, `127.0.0.1:${fake.port}`, "api.codat.io:443", basic, "Basic"]) {
      expect(everything).not.toContain(secret);
    }
    expect(json["message"]).toBe("Codat refused access to this resource: Company not accessible via (see )");
  });

  it("does not include a non-JSON body or a bogus correlation id", async () => {
    fake.always((_request, response) => sendText(response, 502, `<html>Bad gateway at ${fake.origin}</html>`));
    const { json } = await failure(list(client({ retryLimit: 0 })));
    expect(json).toEqual({ message: "Codat is unavailable", extensions: { code: "UPSTREAM_UNAVAILABLE", upstream: { status: 502 } } });
  });
});
