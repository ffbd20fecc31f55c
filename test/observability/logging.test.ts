/**
 * The operator's view: what the gateway logs, and what it never logs. Every test reads the JSON lines of a real
 * gateway (pino at `trace`, the most verbose level, so nothing is hidden by the level) in front of the simulator
 * with a real API key, and the last test scans every line written for any form of a secret.
 */
import { Buffer } from "node:buffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DEMO_COMPANY_ID, SECOND_COMPANY_ID } from "codat-simulator";
import type { CodatObserver } from "../../src/codat/observer.js";
import { createLogger } from "../../src/observability/logger.js";
import { startStack, type Stack } from "../helpers/stack.js";
import { memoryDestination, type LogLine } from "../helpers/logs.js";
import { waitFor, waitForValue } from "../helpers/wait.js";
import { OTHER_SECRET, bearer, jwtEnv, mint } from "../security/support.js";

const API_KEY = "logging-suite-codat-api-key-0123456789";
const COOKIE = "session=cookie-value-that-must-never-be-logged-42";
const CORRELATION_ID = "c0ffee00-1234-4abc-9def-0123456789ab";
const PAGE = `query CustomerPage($companyId: ID!) { customers(companyId: $companyId, first: 2) { totalCount } }`;

/** An observer standing in for a bug: one Codat call throws a plain Error, which the client must see masked. */
function bugOnce(): CodatObserver & { arm(): void } {
  let armed = false;
  return {
    arm() {
      armed = true;
    },
    around(_info, run) {
      if (!armed) return run();
      armed = false;
      return Promise.reject(new Error("resolver bug: undefined is not a function"));
    },
  };
}

describe("logs", () => {
  const destination = memoryDestination();
  const bug = bugOnce();
  let stack: Stack;
  const tokens: string[] = [];

  beforeAll(async () => {
    stack = await startStack({
      simulator: { apiKey: API_KEY },
      env: { ...jwtEnv(), CODAT_API_KEY: API_KEY, READY_CHECK_UPSTREAM: "false", CACHE_ENABLED: "false" },
      logger: createLogger({ level: "trace", pretty: false, secrets: [API_KEY], destination }),
      codatObservers: [bug],
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  /** A POST to /graphql as a signed-in caller, with a cookie and optional extra headers. */
  async function post(
    query: string,
    variables: Record<string, unknown>,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    const token = await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID, SECOND_COMPANY_ID] });
    tokens.push(token);
    return fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: COOKIE, ...bearer(token), ...headers },
      body: JSON.stringify({ query, variables }),
      ...(signal ? { signal } : {}),
    });
  }

  const linesOf = (requestId: string): LogLine[] => destination.lines().filter((line) => line.requestId === requestId);
  const accessLineOf = (requestId: string): Promise<LogLine> =>
    waitForValue(() => linesOf(requestId).find((line) => line.msg === "request"));

  it("writes one access line per request, with the caller's request id echoed back", async () => {
    const response = await post(PAGE, { companyId: DEMO_COMPANY_ID }, { "x-request-id": "req-access-1" });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe("req-access-1");
    const access = await accessLineOf("req-access-1");
    expect(access).toMatchObject({
      level: "info",
      method: "POST",
      route: "/graphql",
      status: 200,
      operation: "CustomerPage",
      caller: "alice",
      durationMs: expect.any(Number),
    });
    expect(linesOf("req-access-1").filter((line) => line.msg === "request")).toHaveLength(1);
  });

  it("takes the request id from traceparent, else generates one", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const traced = await post(PAGE, { companyId: DEMO_COMPANY_ID }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(traced.headers.get("x-request-id")).toBe(traceId);
    await accessLineOf(traceId);

    const anonymous = await post(PAGE, { companyId: DEMO_COMPANY_ID });
    const generated = anonymous.headers.get("x-request-id");
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    await accessLineOf(generated ?? "");
  });

  it("writes one line per Codat call: method, route template, status, attempts, duration", async () => {
    await post(PAGE, { companyId: DEMO_COMPANY_ID }, { "x-request-id": "req-codat-1" });
    await accessLineOf("req-codat-1");
    const calls = linesOf("req-codat-1").filter((line) => line.msg === "codat call");
    expect(calls).toHaveLength(1);
    expect(calls[0]?.["codat"]).toEqual({
      method: "GET",
      route: "GET /companies/{companyId}/data/customers",
      status: 200,
      attempts: 1,
      durationMs: expect.any(Number),
    });
    // The template, never the URL: no company id, no query text anywhere in the call's line.
    expect(JSON.stringify(calls[0])).not.toContain(DEMO_COMPANY_ID);
  });

  it("logs a retried call once, with its attempts, and a failed one at warn with Codat's correlationId", async () => {
    stack.simulator.injectFault({ kind: "status", status: 503, path: /\/data\/customers$/, times: 1 });
    await post(PAGE, { companyId: DEMO_COMPANY_ID }, { "x-request-id": "req-retry-1" });
    await accessLineOf("req-retry-1");
    const retried = linesOf("req-retry-1").filter((line) => line.msg === "codat call");
    expect(retried.map((line) => line["codat"])).toEqual([expect.objectContaining({ status: 200, attempts: 2 })]);
    expect(linesOf("req-retry-1").filter((line) => line.msg === "codat call retried")).toHaveLength(1);

    stack.simulator.injectFault({
      kind: "status",
      status: 500,
      path: /\/data\/customers$/,
      times: Infinity,
      body: { statusCode: 500, service: "PublicApi", error: "Internal error", correlationId: CORRELATION_ID },
    });
    const failed = await post(PAGE, { companyId: DEMO_COMPANY_ID }, { "x-request-id": "req-fail-1" });
    stack.simulator.clearFaults();
    expect(((await failed.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe("UPSTREAM_ERROR");
    await accessLineOf("req-fail-1");
    const failure = linesOf("req-fail-1").find((line) => line.msg === "codat call failed");
    expect(failure).toMatchObject({
      level: "warn",
      codat: { status: 500, attempts: 4, correlationId: CORRELATION_ID, error: "UPSTREAM_ERROR" },
    });
  });

  it("logs an error masked for the client with its stack and request id", async () => {
    bug.arm();
    const response = await post(PAGE, { companyId: DEMO_COMPANY_ID }, { "x-request-id": "req-bug-1" });
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe("INTERNAL_SERVER_ERROR");
    expect(body.errors[0]?.message).not.toContain("resolver bug");
    const logged = await waitForValue(() => linesOf("req-bug-1").find((line) => line.msg === "unexpected error, masked for the client"));
    expect(logged.level).toBe("error");
    const err = logged["err"] as { message: string; stack: string };
    expect(err.message).toContain("resolver bug");
    expect(err.stack).toContain("logging.test.ts");
  });

  it("logs a client that went away in its access line only, not as an error", async () => {
    stack.simulator.injectFault({ kind: "hang", path: /\/data\/customers$/ });
    stack.resetUpstream();
    const controller = new AbortController();
    const pending = post(PAGE, { companyId: DEMO_COMPANY_ID }, { "x-request-id": "req-gone-1" }, controller.signal).catch(
      (error: unknown) => error,
    );
    // Go away once Codat has the request (it never answers).
    await waitFor(() => stack.upstream().some((request) => request.path.endsWith("/data/customers")));
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    expect(await accessLineOf("req-gone-1")).toMatchObject({ level: "info", status: 499, incomplete: "client_gone" });
    const lines = linesOf("req-gone-1");
    expect(lines.filter((line) => line.level !== "debug" && line.level !== "trace" && line.msg !== "request")).toEqual([]);
    stack.simulator.clearFaults();
  });

  it("refuses a forged token without logging it", async () => {
    const forged = await mint({ sub: "mallory", codat_company_ids: [DEMO_COMPANY_ID] }, { key: OTHER_SECRET });
    tokens.push(forged);
    const response = await fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(forged), "x-request-id": "req-forged-1" },
      body: JSON.stringify({ query: PAGE, variables: { companyId: DEMO_COMPANY_ID } }),
    });
    expect(response.status).toBe(401);
    expect(await accessLineOf("req-forged-1")).toMatchObject({ status: 401 });
  });

  it("never writes the API key, its base64, Authorization, cookies or JWTs, at any level", async () => {
    // A Codat error answer that echoes the credentials back, as a misbehaving proxy might.
    const basic = Buffer.from(API_KEY, "utf8").toString("base64");
    stack.simulator.injectFault({
      kind: "status",
      status: 401,
      path: /\/data\/customers$/,
      body: { statusCode: 401, error: `Key ${API_KEY} (Authorization: Basic ${basic}) is not valid`, correlationId: CORRELATION_ID },
    });
    await post(PAGE, { companyId: DEMO_COMPANY_ID }, { "x-request-id": "req-echo-1" });
    await accessLineOf("req-echo-1");

    const all = destination.raw.join("");
    expect(destination.raw.length).toBeGreaterThan(20);
    // The scan covers lines at every level the gateway used here.
    expect(new Set(destination.lines().map((line) => line.level))).toEqual(new Set(["debug", "info", "warn", "error"]));
    for (const secret of [API_KEY, basic, `Basic ${basic}`, COOKIE, "cookie-value-that-must-never-be-logged", ...tokens]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\./);
    expect(all).not.toMatch(/Bearer\s+[A-Za-z0-9._~+/=-]{8,}/);
  });
});

describe("readiness", () => {
  it("reports 503 with the reason when Codat refuses the key, and asks Codat at most once per interval", async () => {
    const stack = await startStack({
      simulator: { apiKey: "the-key-codat-knows-0123456789" },
      env: { CODAT_API_KEY: "a-key-codat-refuses-0123456789", READY_CHECK_UPSTREAM: "true", READY_CHECK_INTERVAL_SECONDS: "3600" },
    });
    try {
      const answer = await waitForValue(async () => {
        const response = await fetch(`${stack.origin}/readyz`);
        const body = (await response.json()) as { status: string; reason?: string };
        return body.reason?.includes("refused") ? { status: response.status, body } : undefined;
      });
      expect(answer.status).toBe(503);
      expect(answer.body).toEqual({ status: "not ready", reason: "Codat refused the API key (401): check CODAT_API_KEY" });
      for (let i = 0; i < 5; i += 1) expect((await fetch(`${stack.origin}/readyz`)).status).toBe(503);
      expect(stack.upstream().filter((request) => request.path.endsWith("/connections"))).toHaveLength(1);
    } finally {
      await stack.close();
    }
  });

  it("logs the probe's expected 404 as an answer at info, with no warn line on a healthy start", async () => {
    const key = "the-key-codat-knows-0123456789";
    const destination = memoryDestination();
    const stack = await startStack({
      simulator: { apiKey: key },
      env: { CODAT_API_KEY: key, READY_CHECK_UPSTREAM: "true" },
      logger: createLogger({ level: "debug", pretty: false, secrets: [key], destination }),
    });
    try {
      await waitFor(async () => (await fetch(`${stack.origin}/readyz`)).status === 200);
      const lines = destination.lines();
      expect(lines.filter((line) => line.level === "warn" || line.level === "error" || line.level === "fatal")).toEqual([]);
      const probe = lines.filter(
        (line) => (line["codat"] as { route?: string } | undefined)?.route === "GET /companies/{companyId}/connections",
      );
      expect(probe).toEqual([
        expect.objectContaining({ level: "info", msg: "codat call", codat: expect.objectContaining({ status: 404, error: "NOT_FOUND" }) }),
      ]);
    } finally {
      await stack.close();
    }
  });

  it("is ready once Codat accepted the key", async () => {
    const key = "the-key-codat-knows-0123456789";
    const stack = await startStack({ simulator: { apiKey: key }, env: { CODAT_API_KEY: key, READY_CHECK_UPSTREAM: "true" } });
    try {
      await waitFor(async () => (await fetch(`${stack.origin}/readyz`)).status === 200);
      expect(stack.upstream().filter((request) => request.path.endsWith("/connections"))).toHaveLength(1);
    } finally {
      await stack.close();
    }
  });
});
