import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CodatCustomersPage, CodatErrorMessage } from "../src/codat-types.js";
import {
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  LARGE_ATTACHMENT_SIZE,
  ManualClock,
  SECOND_COMPANY_ID,
  startSimulator,
  type Simulator,
} from "../src/index.js";
import { waitFor } from "../../test/helpers/wait.js";
import { customersPath, getJson, useSimulator } from "./helpers.js";

/** A promise's outcome, readable without awaiting it (has the simulator answered yet?). */
function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  return { settled: () => settled, promise: tracked };
}

describe("requests, faults and auth", () => {
  const sim = useSimulator();
  afterEach(() => {
    sim.clearFaults();
    sim.resetRequests();
  });

  it("records every request in order, decoded, with query and headers", async () => {
    await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID, { page: 2, query: "status=Active" })}`, {
      headers: { "X-Test": "one" },
    }).then((r) => r.text());
    await fetch(`${sim.url}/companies/${DEMO_COMPANY_ID}/data/customers/${encodeURIComponent("a b{c}")}`).then((r) => r.text());
    await fetch(`${sim.url}/nowhere`).then((r) => r.text());
    expect(sim.requests).toHaveLength(3);
    const [first, second, third] = sim.requests;
    expect(first).toMatchObject({
      method: "GET",
      path: `/companies/${DEMO_COMPANY_ID}/data/customers`,
      query: { page: "2", query: "status=Active" },
    });
    expect(first?.headers["x-test"]).toBe("one");
    expect(second?.path).toBe(`/companies/${DEMO_COMPANY_ID}/data/customers/a b{c}`);
    expect(third?.path).toBe("/nowhere");
    sim.resetRequests();
    expect(sim.requests).toHaveLength(0);
  });

  it("status faults answer the given status/headers/body, or a default ErrorMessage, `times` times", async () => {
    sim.injectFault({ kind: "status", status: 503, path: /\/data\/customers$/, times: 2 });
    sim.injectFault({ kind: "status", status: 429, headers: { "retry-after": "3" }, body: { custom: true } });
    const a = await getJson<CodatErrorMessage>(sim, customersPath(DEMO_COMPANY_ID));
    const b = await getJson<CodatErrorMessage>(sim, customersPath(DEMO_COMPANY_ID));
    expect([a.status, b.status]).toEqual([503, 503]);
    expect(a.body).toMatchObject({ statusCode: 503, canBeRetried: "Unknown" });
    expect(a.body.correlationId).toMatch(/^[0-9a-f]{32}$/);
    const c = await getJson(sim, customersPath(DEMO_COMPANY_ID));
    expect(c.status).toBe(429);
    expect(c.headers.get("retry-after")).toBe("3");
    expect(c.body).toEqual({ custom: true });
    expect((await getJson(sim, customersPath(DEMO_COMPANY_ID))).status).toBe(200);
    expect(sim.requests).toHaveLength(4); // faulted requests are recorded too
  });

  it("matches faults by method and path, first match wins", async () => {
    sim.injectFault({ kind: "status", status: 500, method: "POST" });
    sim.injectFault({ kind: "status", status: 502, path: /connections/ });
    sim.injectFault({ kind: "status", status: 504 });
    expect((await fetch(`${sim.url}/companies/${DEMO_COMPANY_ID}/connections`)).status).toBe(502);
    expect((await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`)).status).toBe(504);
    expect((await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`)).status).toBe(200);
    expect((await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`, { method: "POST" })).status).toBe(500);
  });

  it("reset destroys the connection without a response", async () => {
    sim.injectFault({ kind: "reset" });
    await expect(fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`)).rejects.toThrow();
    expect(sim.requests).toHaveLength(1);
    expect((await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`)).status).toBe(200);
  });

  it("hang never answers", async () => {
    sim.injectFault({ kind: "hang" });
    // Only the client's own timeout ends the request: the simulator sent nothing.
    await expect(fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
      name: "TimeoutError",
    });
    expect((await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`)).status).toBe(200);
  });

  it("malformed answers 200 with invalid JSON", async () => {
    sim.injectFault({ kind: "malformed" });
    const res = await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const text = await res.text();
    expect(text.length).toBeGreaterThan(0);
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it("stall sends the headers and the first afterBytes bytes, then nothing until the client gives up", async () => {
    const path = `/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/data/customers/${LARGE_ATTACHMENT_CUSTOMER_ID}/attachments/${LARGE_ATTACHMENT_ID}/download`;
    sim.injectFault({ kind: "stall", afterBytes: 100_000, path: /\/download$/ });
    // The client gives up once it holds afterBytes (its own abort, not a timer: a busy machine may take any time
    // to deliver them); had the simulator sent more, the count would pass afterBytes in the same chunks.
    const client = new AbortController();
    const res = await fetch(`${sim.url}${path}`, { signal: client.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(LARGE_ATTACHMENT_SIZE));
    let received = 0;
    const reading = (async () => {
      for await (const chunk of res.body ?? []) {
        received += (chunk as Uint8Array).byteLength;
        if (received >= 100_000) client.abort();
      }
    })();
    await expect(reading).rejects.toMatchObject({ name: "AbortError" });
    expect(received).toBe(100_000);
    const download = sim.downloads.at(-1);
    await waitFor(() => download?.aborted === true);
    expect(download).toMatchObject({ attachmentId: LARGE_ATTACHMENT_ID, completed: false });
    // One use: the next download is whole (HEAD, so nothing is generated).
    expect((await fetch(`${sim.url}${path}`, { method: "HEAD" })).status).toBe(200);
    expect(() => sim.injectFault({ kind: "stall", afterBytes: -1 })).toThrow(RangeError);
  });

  it("delay waits, then answers normally", async () => {
    const clock = new ManualClock();
    const clocked = await startSimulator({ clock });
    try {
      clocked.injectFault({ kind: "delay", ms: 250 });
      const answer = track(getJson<CodatCustomersPage>(clocked, customersPath(DEMO_COMPANY_ID, { pageSize: 3 })));
      await waitFor(() => clock.pending === 1);
      expect(clock.pendingDelays()).toEqual([250]);
      clock.advance(249);
      expect(answer.settled()).toBe(false);
      clock.advance(1);
      const res = await answer.promise;
      expect(res.status).toBe(200);
      expect(res.body.results).toHaveLength(3);
    } finally {
      await clocked.close();
    }
  });

  it("clearFaults drops queued faults", async () => {
    sim.injectFault({ kind: "status", status: 500, times: Infinity });
    expect((await fetch(`${sim.url}/companies/${DEMO_COMPANY_ID}/connections`)).status).toBe(500);
    expect((await fetch(`${sim.url}/companies/${DEMO_COMPANY_ID}/connections`)).status).toBe(500);
    sim.clearFaults();
    expect((await fetch(`${sim.url}/companies/${DEMO_COMPANY_ID}/connections`)).status).toBe(200);
  });
});

describe("api key", () => {
  it("requires Basic base64(apiKey) when configured", async () => {
    const sim = await startSimulator({ apiKey: "sekret" });
    try {
      const path = customersPath(DEMO_COMPANY_ID, { pageSize: 1 });
      const none = await getJson<CodatErrorMessage>(sim, path);
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ statusCode: 401, error: "Unauthorized" });
      const wrong = await getJson(sim, path, { headers: { authorization: `Basic ${btoa("nope")}` } });
      expect(wrong.status).toBe(401);
      const right = await getJson(sim, path, { headers: { authorization: `Basic ${btoa("sekret")}` } });
      expect(right.status).toBe(200);
    } finally {
      await sim.close();
    }
  });
});

describe("latency and concurrency", () => {
  // Time only moves when the test advances it, so every request is in flight at once however busy the machine.
  let sim: Simulator;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock();
    sim = await startSimulator({ latencyMs: 300, clock });
  });
  afterAll(async () => {
    await sim.close();
  });
  afterEach(() => {
    sim.resetRequests();
  });

  /** Sends the requests, waits until the simulator holds every one of them, then lets the latency pass. */
  async function allInFlight<T>(requests: (() => Promise<T>)[], on: { clock: ManualClock; latencyMs: number }): Promise<T[]> {
    const pending = requests.map((send) => send());
    await waitFor(() => on.clock.pending === requests.length);
    on.clock.advance(on.latencyMs);
    return Promise.all(pending);
  }

  it("adds latency to every response, errors included", async () => {
    for (const path of [customersPath(DEMO_COMPANY_ID, { pageSize: 1 }), "/companies/nope/connections"]) {
      const answer = track(fetch(`${sim.url}${path}`));
      await waitFor(() => clock.pending === 1);
      expect(clock.pendingDelays()).toEqual([300]);
      clock.advance(299);
      expect(answer.settled()).toBe(false);
      clock.advance(1);
      expect((await answer.promise).status).toBe(path.endsWith("/connections") ? 404 : 200);
    }
  });

  it("answers 429 + Retry-After beyond 10 in-flight requests per company", async () => {
    const path = customersPath(DEMO_COMPANY_ID, { pageSize: 1 });
    const responses = await allInFlight(
      Array.from(
        { length: 13 },
        () => () =>
          fetch(`${sim.url}${path}`).then(async (r) => ({
            status: r.status,
            retryAfter: r.headers.get("retry-after"),
            body: await r.json(),
          })),
      ),
      { clock, latencyMs: 300 },
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    const limited = responses.find((r) => r.status === 429);
    expect(limited?.retryAfter).toBe("1");
    expect(limited?.body).toMatchObject({ statusCode: 429, canBeRetried: "Unknown" });
    // Slots are released: the next request is admitted.
    const next = await allInFlight([() => fetch(`${sim.url}${path}`)], { clock, latencyMs: 300 });
    expect(next[0]?.status).toBe(200);
  });

  it("limits each company separately", async () => {
    const mk = (company: string) => () => fetch(`${sim.url}${customersPath(company, { pageSize: 1 })}`).then((r) => r.status);
    const statuses = await allInFlight(
      [...Array.from({ length: 10 }, () => mk(DEMO_COMPANY_ID)), ...Array.from({ length: 10 }, () => mk(SECOND_COMPANY_ID))],
      { clock, latencyMs: 300 },
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it("honours maxConcurrentPerCompany", async () => {
    const smallClock = new ManualClock();
    const small = await startSimulator({ latencyMs: 200, maxConcurrentPerCompany: 2, clock: smallClock });
    try {
      const statuses = await allInFlight(
        Array.from({ length: 4 }, () => () => fetch(`${small.url}/companies/${DEMO_COMPANY_ID}/connections`).then((r) => r.status)),
        { clock: smallClock, latencyMs: 200 },
      );
      expect(statuses.sort()).toEqual([200, 200, 429, 429]);
    } finally {
      await small.close();
    }
  });

  it("counts the most requests in flight at once per company", async () => {
    const countingClock = new ManualClock();
    const sim = await startSimulator({ latencyMs: 100, maxConcurrentPerCompany: 100, clock: countingClock });
    try {
      expect(sim.maxInFlight(DEMO_COMPANY_ID)).toBe(0);
      await allInFlight(
        Array.from(
          { length: 3 },
          () => () => fetch(`${sim.url}/companies/${DEMO_COMPANY_ID.toUpperCase()}/connections`).then((r) => r.status),
        ),
        { clock: countingClock, latencyMs: 100 },
      );
      expect(sim.maxInFlight(DEMO_COMPANY_ID)).toBe(3);
      expect(sim.maxInFlight(SECOND_COMPANY_ID)).toBe(0);
      await waitFor(() => sim.inFlight(DEMO_COMPANY_ID) === 0);
      sim.resetMaxInFlight();
      expect(sim.maxInFlight(DEMO_COMPANY_ID)).toBe(0);
    } finally {
      await sim.close();
    }
  });
});

describe("lifecycle and determinism", () => {
  it("close() is prompt even with hung and delayed requests", async () => {
    const sim = await startSimulator({ latencyMs: 10_000 });
    sim.injectFault({ kind: "hang" });
    const hung = fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`).catch((e: unknown) => e);
    const slow = fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`).catch((e: unknown) => e);
    await waitFor(() => sim.requests.length === 2);
    // A close that waited for the 10 s latency would outlast the test's timeout.
    await sim.close();
    expect(await hung).toBeInstanceOf(Error);
    expect(await slow).toBeInstanceOf(Error);
  });

  it("two instances serve identical data", async () => {
    const [a, b] = await Promise.all([startSimulator(), startSimulator()]);
    try {
      for (const path of [
        customersPath(DEMO_COMPANY_ID, { pageSize: 5000 }),
        customersPath(SECOND_COMPANY_ID),
        `/companies/${DEMO_COMPANY_ID}/connections`,
      ]) {
        const [ta, tb] = await Promise.all([
          fetch(`${a.url}${path}`).then((r) => r.text()),
          fetch(`${b.url}${path}`).then((r) => r.text()),
        ]);
        expect(ta).toBe(tb);
      }
      const attachments = (s: Simulator) => JSON.stringify([...(s.store.company(DEMO_COMPANY_ID)?.attachments ?? new Map())]);
      expect(attachments(a)).toBe(attachments(b));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
