import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { CodatCreateCustomerResponse, CodatErrorMessage, CodatPushOperation } from "../src/codat-types.js";
import {
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  IDEMPOTENCY_TTL_MS,
  SECOND_COMPANY_ID,
  SECOND_CONNECTION_ID,
  canonicalJson,
  ManualClock,
  startSimulator,
  type Simulator,
} from "../src/index.js";
import { waitFor, waitForValue } from "../../test/helpers/wait.js";
import { getJson, pushCustomersPath, sendJson, useSimulator } from "./helpers.js";

const create = pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID);
const customer = { customerName: "Idempotent Imports Ltd", status: "Active", addresses: [{ type: "Billing", city: "Leeds" }] };

function counts(sim: Simulator, companyId = DEMO_COMPANY_ID) {
  const company = sim.store.company(companyId);
  return { customers: company?.customers.size ?? -1, operations: company?.pushOperations.size ?? -1 };
}

async function settle(sim: Simulator, key: string): Promise<CodatPushOperation> {
  return waitForValue(async () => {
    const { body } = await getJson<CodatPushOperation>(sim, `/companies/${DEMO_COMPANY_ID}/push/${key}`);
    return body.status === "Pending" ? undefined : body;
  });
}

describe("Idempotency-Key on POST", () => {
  let clock = Date.UTC(2024, 0, 1);
  const sim = useSimulator({ pushDelayMs: 50, now: () => clock });
  afterEach(() => {
    sim.clearFaults();
  });

  it("replays the first response (same status, identical body) and creates one customer and one operation", async () => {
    const before = counts(sim);
    const key = randomUUID();
    const first = await sendJson<CodatCreateCustomerResponse>(sim, create, { body: customer, headers: { "Idempotency-Key": key } });
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    await settle(sim, first.body.pushOperationKey);
    // Canonically equal bodies (other key order, other whitespace) are the same request; the key's case is irrelevant.
    const reordered = `{ "addresses": [ { "city": "Leeds", "type": "Billing" } ], "status": "Active", "customerName": "Idempotent Imports Ltd" }`;
    for (const body of [customer, reordered]) {
      const again = await sendJson(sim, create, { body, headers: { "idempotency-key": key.toUpperCase() } });
      expect(again.status).toBe(first.status);
      expect(again.text).toBe(first.text); // still the Pending answer, byte for byte
      expect(again.headers.get("idempotent-replayed")).toBe("true");
    }
    expect(counts(sim)).toEqual({ customers: before.customers + 1, operations: before.operations + 1 });
  });

  it("the same key with a different body answers 422 and changes nothing", async () => {
    const key = randomUUID();
    const first = await sendJson<CodatCreateCustomerResponse>(sim, create, { body: customer, headers: { "Idempotency-Key": key } });
    await settle(sim, first.body.pushOperationKey);
    const before = counts(sim);
    const other = await sendJson<CodatErrorMessage>(sim, create, {
      body: { ...customer, customerName: "Someone Else" },
      headers: { "Idempotency-Key": key },
    });
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ statusCode: 422, canBeRetried: "Unknown" });
    expect(other.body.error).toMatch(/Idempotency-Key/);
    // Another endpoint under the same key is a different request too.
    const elsewhere = await sendJson(sim, `${create}/x`, { method: "POST", body: customer, headers: { "Idempotency-Key": key } });
    expect(elsewhere.status).toBe(422);
    expect(counts(sim)).toEqual(before);
    // The original still replays.
    expect((await sendJson(sim, create, { body: customer, headers: { "Idempotency-Key": key } })).text).toBe(first.text);
  });

  it("keys are scoped per company", async () => {
    const key = randomUUID();
    const a = await sendJson<CodatCreateCustomerResponse>(sim, create, { body: customer, headers: { "Idempotency-Key": key } });
    const b = await sendJson<CodatCreateCustomerResponse>(sim, pushCustomersPath(SECOND_COMPANY_ID, SECOND_CONNECTION_ID), {
      body: customer,
      headers: { "Idempotency-Key": key },
    });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(b.body.companyId).toBe(SECOND_COMPANY_ID);
    expect(b.body.pushOperationKey).not.toBe(a.body.pushOperationKey);
  });

  it("expires 90 minutes after the first response (on the simulator's clock)", async () => {
    const key = randomUUID();
    const first = await sendJson<CodatCreateCustomerResponse>(sim, create, { body: customer, headers: { "Idempotency-Key": key } });
    clock += IDEMPOTENCY_TTL_MS - 1;
    expect((await sendJson(sim, create, { body: customer, headers: { "Idempotency-Key": key } })).text).toBe(first.text);
    clock += 1;
    const fresh = await sendJson<CodatCreateCustomerResponse>(sim, create, { body: customer, headers: { "Idempotency-Key": key } });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(fresh.body.pushOperationKey).not.toBe(first.body.pushOperationKey);
    expect(fresh.body.requestedOnUtc).toBe(new Date(clock).toISOString());
    // With a different body after expiry: a new request, not a 422.
    clock += IDEMPOTENCY_TTL_MS;
    expect((await sendJson(sim, create, { body: { ...customer, customerName: "New" }, headers: { "Idempotency-Key": key } })).status).toBe(
      200,
    );
    await settle(sim, fresh.body.pushOperationKey);
  });

  it("replays error answers too, and rejects keys that are not GUIDs", async () => {
    const key = randomUUID();
    const bad = await sendJson<CodatErrorMessage>(sim, create, { body: "[]", headers: { "Idempotency-Key": key } });
    expect(bad.status).toBe(400);
    const again = await sendJson(sim, create, { body: "[ ]", headers: { "Idempotency-Key": key } });
    expect([again.status, again.text, again.headers.get("idempotent-replayed")]).toEqual([400, bad.text, "true"]);
    const notGuid = await sendJson<CodatErrorMessage>(sim, create, { body: customer, headers: { "Idempotency-Key": "retry-1" } });
    expect(notGuid.status).toBe(400);
    expect(notGuid.body.error).toMatch(/GUID/);
  });

  it("PUT ignores Idempotency-Key (Codat covers POST and PATCH only)", async () => {
    const id = sim.store.company(DEMO_COMPANY_ID)?.customers.all()[3]?.id ?? "";
    const key = randomUUID();
    const path = pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, id);
    const a = await sendJson<CodatCreateCustomerResponse>(sim, path, {
      method: "PUT",
      body: customer,
      headers: { "Idempotency-Key": key },
    });
    const b = await sendJson<CodatCreateCustomerResponse>(sim, path, {
      method: "PUT",
      body: customer,
      headers: { "Idempotency-Key": key },
    });
    const c = await sendJson<CodatCreateCustomerResponse>(sim, path, {
      method: "PUT",
      body: { ...customer, customerName: "Other" },
      headers: { "Idempotency-Key": key },
    });
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
    expect(new Set([a.body.pushOperationKey, b.body.pushOperationKey, c.body.pushOperationKey]).size).toBe(3);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    await settle(sim, c.body.pushOperationKey);
  });

  it("applyThenReset: the write happens, the response is lost; the retry with the same key replays it", async () => {
    const before = counts(sim);
    const key = randomUUID();
    sim.injectFault({ kind: "applyThenReset", method: "POST" });
    await expect(sendJson(sim, create, { body: customer, headers: { "Idempotency-Key": key } })).rejects.toThrow();
    const retry = await sendJson<CodatCreateCustomerResponse>(sim, create, { body: customer, headers: { "Idempotency-Key": key } });
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    await settle(sim, retry.body.pushOperationKey);
    expect(counts(sim)).toEqual({ customers: before.customers + 1, operations: before.operations + 1 });
    expect(sim.requests.filter((r) => r.headers["idempotency-key"] === key)).toHaveLength(2);

    // Without a key the lost response cannot be told apart from a failure: a naive retry writes twice.
    sim.injectFault({ kind: "applyThenReset", method: "POST" });
    await expect(sendJson(sim, create, { body: customer })).rejects.toThrow();
    const second = await sendJson<CodatCreateCustomerResponse>(sim, create, { body: customer });
    await settle(sim, second.body.pushOperationKey);
    expect(counts(sim)).toEqual({ customers: before.customers + 3, operations: before.operations + 3 });

    // It works on any route (e.g. reads), and only `times` times.
    sim.injectFault({ kind: "applyThenReset", path: /\/push$/ });
    await expect(fetch(`${sim.url}/companies/${DEMO_COMPANY_ID}/push`)).rejects.toThrow();
    expect((await fetch(`${sim.url}/companies/${DEMO_COMPANY_ID}/push`)).status).toBe(200);
  });
});

describe("Idempotency-Key while the first request is in flight", () => {
  it("answers 409 during the first request's latency, then replays once it has completed", async () => {
    // Time moves only when advanced: the first request stays in its latency while the second one comes in.
    const clock = new ManualClock();
    const sim = await startSimulator({ latencyMs: 250, pushDelayMs: 0, clock });
    /** Sends a request and lets its latency pass once the simulator holds it. */
    const answered = async <T>(send: () => Promise<T>): Promise<T> => {
      const held = clock.pending;
      const pending = send();
      await waitFor(() => clock.pending > held);
      clock.advance(250);
      return pending;
    };
    try {
      const before = counts(sim);
      const key = randomUUID();
      const headers = { "Idempotency-Key": key };
      const first = sendJson<CodatCreateCustomerResponse>(sim, create, { body: customer, headers });
      await waitFor(() => clock.pending === 1);
      const concurrent = await answered(() => sendJson<CodatErrorMessage>(sim, create, { body: customer, headers }));
      expect(concurrent.status).toBe(409);
      expect(concurrent.body).toMatchObject({ statusCode: 409 });
      expect(concurrent.body.error).toMatch(/still being processed/);
      const firstDone = await first;
      expect(firstDone.status).toBe(200);
      const replay = await answered(() => sendJson(sim, create, { body: customer, headers }));
      expect([replay.status, replay.text]).toEqual([200, firstDone.text]);
      expect(counts(sim)).toEqual({ customers: before.customers + 1, operations: before.operations + 1 });
    } finally {
      await sim.close();
    }
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every level and ignores whitespace", () => {
    expect(canonicalJson(JSON.parse('{ "b": [ {"y":1,"x":2} ], "a": null }'))).toBe('{"a":null,"b":[{"x":2,"y":1}]}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson("x")).toBe('"x"');
  });
});
