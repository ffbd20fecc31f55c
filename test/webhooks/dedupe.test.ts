import { describe, expect, it } from "vitest";
import { LocalWebhookDedupe, WEBHOOK_DEDUPE_MAX_IDS, WEBHOOK_DEDUPE_TTL_MS } from "../../src/webhooks/dedupe.js";
import { writeSignal } from "../../src/webhooks/route.js";

describe("in-process webhook dedupe", () => {
  it("claims an id once for 48 hours, then forgets it", async () => {
    let now = 0;
    const dedupe = new LocalWebhookDedupe({ now: () => now });
    expect(await dedupe.claim("msg_1")).toBe(true);
    expect(await dedupe.claim("msg_1")).toBe(false);
    now = WEBHOOK_DEDUPE_TTL_MS - 1;
    expect(await dedupe.claim("msg_1")).toBe(false);
    now = WEBHOOK_DEDUPE_TTL_MS;
    expect(await dedupe.claim("msg_1")).toBe(true);
    expect(WEBHOOK_DEDUPE_TTL_MS).toBe(48 * 3_600_000);
  });

  it("holds at most maxIds, dropping the oldest first", () => {
    const dedupe = new LocalWebhookDedupe({ maxIds: 3 });
    for (const id of ["a", "b", "c", "d"]) expect(dedupe.claimNow(id)).toBe(true);
    expect(dedupe.size).toBe(3);
    expect(dedupe.claimNow("d")).toBe(false);
    expect(dedupe.claimNow("a")).toBe(true);
    expect(WEBHOOK_DEDUPE_MAX_IDS).toBe(50_000);
  });
});

describe("reading a write event", () => {
  const payload = { id: "key-1", referenceCompany: { id: "company-1" }, status: "Success" };
  it("takes the key from payload.id and the company from payload.referenceCompany.id", () => {
    expect(writeSignal("customers.write.successful", payload)).toEqual({
      companyId: "company-1",
      pushOperationKey: "key-1",
      source: "webhook",
      status: "Success",
    });
  });

  it("derives a missing or unknown status from the event type only when it is successful", () => {
    expect(writeSignal("bills.write.successful", { ...payload, status: undefined })?.status).toBe("Success");
    expect(writeSignal("bills.write.unsuccessful", { ...payload, status: "Weird" })?.status).toBeUndefined();
  });

  it("ignores other events and write events without a key or a company", () => {
    expect(writeSignal("company.created", payload)).toBeUndefined();
    expect(writeSignal("customers.write.successfulish", payload)).toBeUndefined();
    expect(writeSignal(undefined, payload)).toBeUndefined();
    expect(writeSignal("customers.write.successful", { ...payload, id: 7 })).toBeUndefined();
    expect(writeSignal("customers.write.successful", { ...payload, referenceCompany: null })).toBeUndefined();
    expect(writeSignal("customers.write.successful", { id: "k", companyId: "c" })).toBeUndefined();
    expect(writeSignal("customers.write.successful", "nope")).toBeUndefined();
  });
});
