import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CodatCreateCustomerResponse } from "../src/codat-types.js";
import { waitFor } from "../../test/helpers/wait.js";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ManualClock, startSimulator, type Simulator, type SimulatorOptions } from "../src/index.js";
import { webhookRef, schemaErrors } from "../../test/helpers/openapi.js";
import { customersPath, getJson, pushCustomersPath, sendJson } from "./helpers.js";

const SECRET = `whsec_${randomBytes(24).toString("base64")}`;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** What standardwebhooks' verify made of it (throws on a bad signature or timestamp). */
  event: Record<string, unknown> & { payload: Record<string, unknown> };
}

/** A loopback webhook consumer that verifies every delivery and answers the next queued status (default 200). */
class Receiver {
  readonly received: Received[] = [];
  readonly failures: string[] = [];
  readonly answers: (number | "hang")[] = [];
  readonly server: Server;
  url = "";

  constructor() {
    const webhook = new Webhook(SECRET);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        try {
          const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
          const event = webhook.verify(body, headers) as Received["event"];
          this.received.push({ headers: req.headers, body, event });
        } catch (error) {
          this.failures.push(error instanceof Error ? error.message : String(error));
        }
        const answer = this.answers.shift() ?? 200;
        if (answer === "hang") return;
        res.writeHead(answer, { "content-type": "application/json" }).end("{}");
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/codat`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const receiver = new Receiver();
const started: Simulator[] = [];

beforeAll(() => receiver.start());
afterAll(() => receiver.close());
afterEach(async () => {
  for (const sim of started.splice(0)) await sim.close();
  receiver.received.length = 0;
  receiver.failures.length = 0;
  receiver.answers.length = 0;
});

/** A simulator on a ManualClock at the real time (the consumer checks timestamps against its own clock). */
async function simulator(options: Partial<SimulatorOptions> = {}): Promise<{ sim: Simulator; clock: ManualClock }> {
  const clock = new ManualClock(Date.now());
  const sim = await startSimulator({ pushDelayMs: 100, clock, webhooks: { url: receiver.url, secret: SECRET }, ...options });
  started.push(sim);
  return { sim, clock };
}

/** Creates a customer; without a sync after it unless `allowSyncOnPushComplete` is given (the write webhooks alone). */
async function create(sim: Simulator, body: Record<string, unknown>, params: Record<string, string | number> = {}) {
  const query = { allowSyncOnPushComplete: "false", ...params };
  const res = await sendJson<CodatCreateCustomerResponse>(sim, pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, undefined, query), {
    body,
  });
  expect(res.status).toBe(200);
  return res.body;
}

describe("simulator webhooks", () => {
  it("announces a successful create as a signed customers.write.successful in Codat's shape", async () => {
    const { sim, clock } = await simulator();
    const op = await create(sim, { customerName: "Webhook Ltd", status: "Active" });
    expect(sim.webhookDeliveries).toEqual([]);
    clock.advance(100);
    await waitFor(() => receiver.received.length === 1);
    expect(receiver.failures).toEqual([]);
    const [delivery] = receiver.received;
    const completed = new Date(clock.now()).toISOString();
    expect(delivery?.event).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      eventType: "customers.write.successful",
      generatedDate: completed,
      payload: {
        id: op.pushOperationKey,
        type: "Create",
        referenceCompany: {
          id: DEMO_COMPANY_ID,
          name: expect.any(String) as unknown,
          description: "",
          links: { portal: `https://app.codat.io/companies/${DEMO_COMPANY_ID}/summary` },
        },
        connectionId: DEMO_CONNECTION_ID,
        requestedOnDate: op.requestedOnUtc,
        completedOnDate: completed,
        status: "Success",
        record: { id: op.data?.id },
        attachmentId: null,
      },
    });
    expect(delivery?.headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(delivery?.headers["webhook-timestamp"]).toBe(String(Math.floor(clock.now() / 1000)));
    await waitFor(() => sim.webhookDeliveries[0]?.status !== undefined);
    expect(sim.webhookDeliveries).toEqual([
      {
        eventType: "customers.write.successful",
        webhookId: delivery?.headers["webhook-id"],
        eventId: delivery?.event.id,
        pushOperationKey: op.pushOperationKey,
        attempt: 1,
        sentAt: clock.now(),
        status: 200,
        ok: true,
      },
    ]);
  });

  it("announces Failed and TimedOut pushes, and updates, as customers.write.unsuccessful", async () => {
    const { sim, clock } = await simulator();
    const failed = await create(sim, { customerName: "Bad Currency Ltd", status: "Active", defaultCurrency: "pounds" });
    const timedOut = await create(sim, { customerName: "Slow Ltd", status: "Active" }, { timeoutInMinutes: 0 });
    clock.advance(100);
    await waitFor(() => receiver.received.length === 2);
    const byKey = new Map(receiver.received.map((r) => [r.event.payload["id"], r.event]));
    expect(byKey.get(failed.pushOperationKey)).toMatchObject({
      eventType: "customers.write.unsuccessful",
      payload: { status: "Failed", record: null, type: "Create" },
    });
    expect(byKey.get(timedOut.pushOperationKey)).toMatchObject({
      eventType: "customers.write.unsuccessful",
      payload: { status: "TimedOut", record: null },
    });
    const ids = receiver.received.map((r) => r.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(2);

    const customerId = (await create(sim, { customerName: "To Update Ltd", status: "Active" })).data?.id ?? "";
    clock.advance(100);
    await waitFor(() => receiver.received.length === 3);
    const updatePath = pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, customerId, { allowSyncOnPushComplete: "false" });
    const update = await sendJson<CodatCreateCustomerResponse>(sim, updatePath, {
      method: "PUT",
      body: { customerName: "Updated Ltd", status: "Active" },
    });
    clock.advance(100);
    await waitFor(() => receiver.received.length === 4);
    expect(receiver.received[3]?.event).toMatchObject({
      eventType: "customers.write.successful",
      payload: { id: update.body.pushOperationKey, type: "Update", status: "Success", record: { id: customerId } },
    });
  });

  it("retries a 500 on the simulator's clock with the same webhook-id, re-signed, until a 2xx", async () => {
    const { sim, clock } = await simulator();
    receiver.answers.push(500, 503);
    const op = await create(sim, { customerName: "Retry Ltd", status: "Active" });
    clock.advance(100);
    await waitFor(() => sim.webhookDeliveries[0]?.status === 500);
    expect(clock.pendingDelays()).toEqual([1_000]);
    clock.advance(1_000);
    await waitFor(() => sim.webhookDeliveries[1]?.status === 503);
    expect(clock.pendingDelays()).toEqual([5_000]);
    clock.advance(5_000);
    await waitFor(() => sim.webhookDeliveries[2]?.ok === true);
    expect(sim.webhookDeliveries.map((d) => [d.attempt, d.status, d.ok])).toEqual([
      [1, 500, false],
      [2, 503, false],
      [3, 200, true],
    ]);
    expect(clock.pending).toBe(0);
    // Each attempt verified on its own (its own timestamp), all with the event's one id and body.
    await waitFor(() => receiver.received.length === 3);
    expect(receiver.failures).toEqual([]);
    expect(new Set(receiver.received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    const stamps = receiver.received.map((r) => Number(r.headers["webhook-timestamp"]));
    expect((stamps[2] ?? 0) - (stamps[0] ?? 0)).toBe(6);
    expect(receiver.received[0]?.event.payload["id"]).toBe(op.pushOperationKey);
  });

  it("retries a network error and no answer within 15 s, and gives up after the last delay", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise((resolve) => closed.close(resolve));
    const { sim, clock } = await simulator({ webhooks: { url: deadUrl, secret: SECRET, retryDelaysMs: [0, 10] } });
    await create(sim, { customerName: "Nobody Home Ltd", status: "Active" });
    clock.advance(100);
    await waitFor(() => sim.webhookDeliveries[0]?.error !== undefined);
    clock.advance(10);
    await waitFor(() => sim.webhookDeliveries[1]?.error !== undefined);
    expect(sim.webhookDeliveries.map((d) => [d.attempt, d.ok])).toEqual([
      [1, false],
      [2, false],
    ]);
    expect(clock.pending).toBe(0);

    const hung = await simulator({ webhooks: { url: receiver.url, secret: SECRET, retryDelaysMs: [0, 1_000] } });
    receiver.answers.push("hang");
    await create(hung.sim, { customerName: "Hung Ltd", status: "Active" });
    hung.clock.advance(100);
    await waitFor(() => receiver.received.length === 1);
    expect(hung.clock.pendingDelays()).toEqual([15_000]);
    hung.clock.advance(15_000);
    await waitFor(() => hung.sim.webhookDeliveries[0]?.error !== undefined);
    expect(hung.sim.webhookDeliveries[0]).toMatchObject({ attempt: 1, ok: false, error: "no answer in time" });
    hung.clock.advance(1_000);
    await waitFor(() => hung.sim.webhookDeliveries[1]?.ok === true);
  });

  it("stops retrying when the simulator closes", async () => {
    const { sim, clock } = await simulator();
    receiver.answers.push(500);
    await create(sim, { customerName: "Closing Ltd", status: "Active" });
    clock.advance(100);
    await waitFor(() => sim.webhookDeliveries[0]?.status === 500);
    expect(clock.pending).toBe(1);
    await sim.close();
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    expect(sim.webhookDeliveries).toHaveLength(1);
  });

  it("sends none without the webhooks option", async () => {
    const clock = new ManualClock(Date.now());
    const sim = await startSimulator({ pushDelayMs: 100, clock });
    started.push(sim);
    const op = await create(sim, { customerName: "Quiet Ltd", status: "Active" });
    clock.advance(100);
    const done = await sendJson<{ status: string }>(sim, `/companies/${DEMO_COMPANY_ID}/push/${op.pushOperationKey}`, { method: "GET" });
    expect(done.body.status).toBe("Success");
    // A delivery is recorded when its attempt starts, synchronously with the completion.
    expect(sim.webhookDeliveries).toEqual([]);
    expect(receiver.received).toEqual([]);
  });
});

describe("simulator syncs (read.completed)", () => {
  const READ_COMPLETED = webhookRef("platform-webhooks", "read.completed");
  const reads = (): Received["event"][] => receiver.received.map((r) => r.event).filter((e) => e.eventType === "read.completed");
  const modified = (event: Received["event"] | undefined): unknown =>
    (event?.payload["dataTypes"] as { dataType: string; recordsModified: boolean }[] | undefined)?.map((d) => [
      d.dataType,
      d.recordsModified,
    ]);

  it("follows a successful push with a sync, announced as a signed read.completed in Codat's shape (recordsModified: true)", async () => {
    const { sim, clock } = await simulator();
    const op = await create(sim, { customerName: "Synced Ltd", status: "Active" }, { allowSyncOnPushComplete: "true" });
    clock.advance(100);
    await waitFor(() => receiver.received.length === 2);
    expect(receiver.failures).toEqual([]);
    expect(receiver.received.map((r) => r.event.eventType).sort()).toEqual(["customers.write.successful", "read.completed"]);
    const [read] = reads();
    const completed = new Date(clock.now()).toISOString();
    expect(read).toEqual({
      id: sim.syncs[0]?.id,
      eventType: "read.completed",
      generatedDate: completed,
      payload: {
        referenceCompany: {
          id: DEMO_COMPANY_ID,
          name: expect.any(String) as unknown,
          description: "",
          links: { portal: `https://app.codat.io/companies/${DEMO_COMPANY_ID}/summary` },
        },
        modifiedFromDate: null,
        dataTypes: [{ connectionId: DEMO_CONNECTION_ID, dataType: "customers", recordsModified: true, status: "Complete", issues: [] }],
      },
    });
    expect(schemaErrors(READ_COMPLETED, read)).toEqual([]);
    expect(sim.syncs).toMatchObject([{ companyId: DEMO_COMPANY_ID, reason: "push", completedOn: completed }]);
    // The pushed customer is what changed.
    const listed = await getJson<{ results: { id: string }[] }>(sim, customersPath(DEMO_COMPANY_ID, { query: `id=${op.data?.id}` }));
    expect(listed.body.results).toHaveLength(1);
    await waitFor(() => sim.webhookDeliveries.length === 2 && sim.webhookDeliveries.every((d) => d.ok));
    expect(sim.webhookDeliveries.find((d) => d.eventType === "read.completed")).toMatchObject({ eventId: read?.id, attempt: 1 });
    expect(sim.webhookDeliveries.find((d) => d.eventType === "read.completed")?.pushOperationKey).toBeUndefined();
  });

  it("syncs after a failed push too (Codat's default), with recordsModified: false", async () => {
    const { sim, clock } = await simulator();
    await create(
      sim,
      { customerName: "Bad Currency Ltd", status: "Active", defaultCurrency: "pounds" },
      { allowSyncOnPushComplete: "true" },
    );
    clock.advance(100);
    // Both: the write.unsuccessful and the read.completed (none left in flight for the next test).
    await waitFor(() => receiver.received.length === 2);
    expect(modified(reads()[0])).toEqual([["customers", false]]);
    expect(schemaErrors(READ_COMPLETED, reads()[0])).toEqual([]);
  });

  it("with allowSyncOnPushComplete=false, leaves the change to the next sync; a sync with no change says recordsModified: false", async () => {
    const { sim, clock } = await simulator();
    await create(sim, { customerName: "Later Ltd", status: "Active" });
    clock.advance(100);
    await waitFor(() => receiver.received.length === 1);
    expect(reads()).toEqual([]);
    expect(sim.syncs).toEqual([]);

    const first = sim.sync(DEMO_COMPANY_ID);
    await waitFor(() => reads().length === 1);
    expect(modified(reads()[0])).toEqual([["customers", true]]);
    expect(first).toMatchObject({
      reason: "manual",
      modifiedFromDate: null,
      dataTypes: [{ dataType: "customers", recordsModified: true }],
    });

    clock.advance(60_000);
    const second = sim.sync(DEMO_COMPANY_ID);
    await waitFor(() => reads().length === 2);
    expect(modified(reads()[1])).toEqual([["customers", false]]);
    expect(reads()[1]?.payload["modifiedFromDate"]).toBe(first.completedOn);
    expect(second.modifiedFromDate).toBe(first.completedOn);
    for (const read of reads()) expect(schemaErrors(READ_COMPLETED, read)).toEqual([]);
    expect(sim.syncs.map((s) => s.id)).toEqual([first.id, second.id]);
  });

  it("announces a change made in the platform (editCustomer) at once, or at the next sync with sync: false", async () => {
    const { sim, clock } = await simulator();
    const [customer] = sim.store.company(DEMO_COMPANY_ID)?.customers.all() ?? [];
    if (customer === undefined) throw new Error("no demo customer");
    const edited = sim.editCustomer(DEMO_COMPANY_ID, { ...customer, customerName: "Renamed In Xero Ltd" });
    await waitFor(() => reads().length === 1);
    expect(edited).toMatchObject({ reason: "edit", dataTypes: [{ dataType: "customers", recordsModified: true }] });
    expect(reads()[0]?.id).toBe(edited?.id);
    const read = await getJson<{ customerName: string; modifiedDate: string }>(
      sim,
      `/companies/${DEMO_COMPANY_ID}/data/customers/${customer.id}`,
    );
    expect(read.body).toMatchObject({ customerName: "Renamed In Xero Ltd", modifiedDate: new Date(clock.now()).toISOString() });

    expect(sim.editCustomer(DEMO_COMPANY_ID, { ...customer, customerName: "Quietly Renamed Ltd" }, { sync: false })).toBeUndefined();
    expect(sim.syncs).toHaveLength(1);
    sim.sync(DEMO_COMPANY_ID);
    await waitFor(() => reads().length === 2);
    expect(modified(reads()[1])).toEqual([["customers", true]]);
    expect(() => sim.sync("00000000-0000-4000-8000-000000000000")).toThrow(/No company/);
    expect(() => sim.editCustomer("nope", customer)).toThrow(/No company/);
  });

  it("keeps one company's changes to itself", async () => {
    const { sim } = await simulator();
    const [customer] = sim.store.company(DEMO_COMPANY_ID)?.customers.all() ?? [];
    if (customer === undefined) throw new Error("no demo customer");
    sim.editCustomer(DEMO_COMPANY_ID, { ...customer, customerName: "Only Here Ltd" }, { sync: false });
    const other = [...sim.store.companies.values()].find((c) => c.id !== DEMO_COMPANY_ID);
    if (other === undefined) throw new Error("no second company");
    expect(sim.sync(other.id).dataTypes).toMatchObject([{ recordsModified: false }]);
    expect(sim.sync(DEMO_COMPANY_ID).dataTypes).toMatchObject([{ recordsModified: true }]);
    await waitFor(() => reads().length === 2);
  });

  it("records syncs without the webhooks option, and sends nothing", async () => {
    const clock = new ManualClock(Date.now());
    const sim = await startSimulator({ pushDelayMs: 100, clock });
    started.push(sim);
    expect(sim.sync(DEMO_COMPANY_ID).dataTypes).toMatchObject([{ dataType: "customers", recordsModified: false }]);
    expect(sim.webhookDeliveries).toEqual([]);
    expect(receiver.received).toEqual([]);
  });
});
