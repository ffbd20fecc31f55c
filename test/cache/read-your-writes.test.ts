/**
 * Read-your-writes (issue 28 part 6): a customer written through the gateway is shown on reads of its company,
 * flagged pendingSync, although Codat does not show it yet — until Codat reports a sync of the customers, or the
 * time bound passes. Here Codat is a stub that never shows a pushed record (as Codat until its next sync). Also
 * the race of a stale serve with an invalidation, which the stub can stage exactly.
 */
import { describe, expect, it } from "vitest";
import { freshnessOf, pendingSyncOf } from "../../src/cache/freshness.js";
import type { CodatClient } from "../../src/codat/client.js";
import { upstreamUnavailable } from "../../src/codat/errors.js";
import type { CodatCustomerRecord } from "../../src/codat/types.js";
import { cacheOver, COMPANY, CONNECTION, pushOperation, START } from "./stub-support.js";

const MAX_AGE_MS = 900_000;

function customer(id: string, name: string): CodatCustomerRecord {
  return { id, customerName: name, status: "Active", defaultCurrency: "GBP" };
}

/** Codat as seen before its next sync: its records never change, whatever is pushed. */
function stubCodat() {
  const records = [customer("c-1", "Original"), customer("c-2", "Other")];
  const counts = { list: 0, get: 0, pushOperation: 0 };
  const operation = pushOperation;
  const client = {
    listCustomers: (_company: string, params: { query?: string }) => {
      counts.list += 1;
      const ids = params.query?.split("||").map((term) => term.slice(3));
      const results = records.filter((record) => ids === undefined || ids.includes(record.id)).map((record) => ({ ...record }));
      return Promise.resolve({ results, pageNumber: 1, pageSize: 100, totalResults: results.length, _links: {} });
    },
    getCustomer: (_company: string, id: string) => {
      counts.get += 1;
      const record = records.find((candidate) => candidate.id === id);
      return Promise.resolve(record ? { ...record } : null);
    },
    createCustomer: (_company: string, _connection: string, body: object) =>
      Promise.resolve(operation("op-create", "Success", body, "new-1")),
    updateCustomer: (_company: string, _connection: string, _id: string, body: object) =>
      Promise.resolve(operation("op-update", "Pending", body)),
    getPushOperation: (_company: string, key: string) => {
      counts.pushOperation += 1;
      return Promise.resolve(operation(key, "Success", {}, key === "op-pending-create" ? "new-2" : undefined));
    },
  };
  return { client: client as unknown as CodatClient, counts, operation };
}

function setup() {
  const codat = stubCodat();
  return { codat, ...cacheOver(codat.client, MAX_AGE_MS, MAX_AGE_MS) };
}

const names = (records: readonly CodatCustomerRecord[]) => records.map((record) => [record.id, record.customerName, pendingSyncOf(record)]);

describe("read-your-writes", () => {
  it("shows a created customer by id, flagged pendingSync, though Codat does not have it", async () => {
    const { view } = setup();
    expect(await view.getCustomer(COMPANY, "new-1")).toBeNull();
    await view.createCustomer(COMPANY, CONNECTION, { customerName: "Created", status: "Active" } as never, { idempotencyKey: "k-1" });

    const created = await view.getCustomer(COMPANY, "new-1");
    expect(created?.customerName).toBe("Created");
    expect(created && pendingSyncOf(created)).toBe(true);
    expect(created && freshnessOf(created)).toEqual({ servedAt: new Date(START).toISOString(), ageSeconds: 0, stale: false });
    // The customer loader's id-list query finds it too; a plain page shows Codat's records only.
    const byIds = await view.listCustomers(COMPANY, { page: 1, pageSize: 2, query: "id=c-2||id=new-1" });
    expect(names(byIds.results)).toEqual([
      ["c-2", "Other", false],
      ["new-1", "Created", true],
    ]);
    expect(byIds.totalResults).toBe(2);
    expect(freshnessOf(byIds)).toEqual({ servedAt: new Date(START).toISOString(), ageSeconds: 0, stale: false });
  });

  it("shows an update once its pending operation succeeds, until Codat reports a sync of the customers", async () => {
    const { view, cache } = setup();
    await view.updateCustomer(COMPANY, CONNECTION, "c-1", { customerName: "Renamed", status: "Active" } as never);
    // Still pending: Codat's record is what there is.
    expect(names((await view.listCustomers(COMPANY, { page: 1, pageSize: 10 })).results)).toEqual([
      ["c-1", "Original", false],
      ["c-2", "Other", false],
    ]);

    await cache.pushSucceeded(COMPANY.toUpperCase(), "OP-UPDATE");
    expect(names((await view.listCustomers(COMPANY, { page: 1, pageSize: 10 })).results)).toEqual([
      ["c-1", "Renamed", true],
      ["c-2", "Other", false],
    ]);
    const one = await view.getCustomer(COMPANY, "c-1");
    expect([one?.customerName, one && pendingSyncOf(one)]).toEqual(["Renamed", true]);

    // A write webhook is no sync: the record stays shown.
    await cache.dataChanged({ kind: "write.successful", companyId: COMPANY, dataTypes: ["customers"] });
    expect((await view.getCustomer(COMPANY, "c-1"))?.customerName).toBe("Renamed");
    // A repeated success signal (webhooks are at-least-once) changes nothing.
    await cache.pushSucceeded(COMPANY, "op-update");

    await cache.dataChanged({ kind: "read.completed", companyId: COMPANY, dataTypes: ["customers"] });
    const synced = await view.getCustomer(COMPANY, "c-1");
    expect([synced?.customerName, synced && pendingSyncOf(synced)]).toEqual(["Original", false]);
  });

  it("learns a pending create's id from its operation once it succeeded", async () => {
    const { view, cache, codat } = setup();
    const client = codat.client as unknown as { createCustomer: (...args: unknown[]) => Promise<unknown> };
    client.createCustomer = (_company, _connection, body) =>
      Promise.resolve(codat.operation("op-pending-create", "Pending", body as object));
    await view.createCustomer(COMPANY, CONNECTION, { customerName: "Later", status: "Active" } as never, { idempotencyKey: "k-2" });
    expect(await view.getCustomer(COMPANY, "new-2")).toBeNull();
    await cache.pushSucceeded(COMPANY, "op-pending-create");
    expect(codat.counts.pushOperation).toBe(1);
    expect((await view.getCustomer(COMPANY, "new-2"))?.customerName).toBe("Later");
  });

  it("stops showing a written customer when the time bound passes", async () => {
    const { view, advance } = setup();
    await view.createCustomer(COMPANY, CONNECTION, { customerName: "Created", status: "Active" } as never, { idempotencyKey: "k-3" });
    advance(MAX_AGE_MS - 1);
    expect((await view.getCustomer(COMPANY, "new-1"))?.customerName).toBe("Created");
    advance(2);
    expect(await view.getCustomer(COMPANY, "new-1")).toBeNull();
  });

  it("invalidates the company's cached customers on a successful write", async () => {
    const { view, codat } = setup();
    await view.listCustomers(COMPANY, { page: 1, pageSize: 10 });
    await view.listCustomers(COMPANY, { page: 1, pageSize: 10 });
    expect(codat.counts.list).toBe(1);
    await view.createCustomer(COMPANY, CONNECTION, { customerName: "Created", status: "Active" } as never, { idempotencyKey: "k-4" });
    await view.listCustomers(COMPANY, { page: 1, pageSize: 10 });
    expect(codat.counts.list).toBe(2);
  });
});

describe("stale serves and an invalidation received meanwhile", () => {
  it("serves an expired entry when Codat fails, but not when an invalidation came while Codat was asked", async () => {
    const { view, cache, codat, advance } = setup();
    await view.listCustomers(COMPANY, { page: 1, pageSize: 10 });
    advance(MAX_AGE_MS + 1);
    const client = codat.client as unknown as { listCustomers: (...args: unknown[]) => Promise<unknown> };
    client.listCustomers = () => Promise.reject(upstreamUnavailable());
    const stale = await view.listCustomers(COMPANY, { page: 1, pageSize: 10 });
    expect(freshnessOf(stale)?.stale).toBe(true);

    client.listCustomers = async (_company, params) => {
      // The page read is under way when the sync is announced (the sync's own delta call fails like the rest).
      if ((params as { query?: string }).query === undefined) {
        await cache.dataChanged({ kind: "read.completed", companyId: COMPANY, dataTypes: ["customers"] });
      }
      throw upstreamUnavailable();
    };
    await expect(view.listCustomers(COMPANY, { page: 1, pageSize: 10 })).rejects.toMatchObject({
      extensions: { code: "UPSTREAM_UNAVAILABLE" },
    });
  });
});
