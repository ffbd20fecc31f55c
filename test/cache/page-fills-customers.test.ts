/**
 * A page read fills the customer-by-id entries of the customers it returned (issue 28): a frontend's list → detail
 * costs no second Codat call. The entries are the page's own data, generation and time of reading, so everything
 * the cache guarantees holds for them: an invalidation drops them (also one that arrives while the page is being
 * read), a customer written through the gateway is shown over them (pendingSync), and an expired one is served
 * stale, flagged, when Codat fails. Through the gateway (the customer loader's id-list reads) and on a stub Codat
 * whose answers the test releases.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEMO_COMPANY_ID, SECOND_COMPANY_ID } from "codat-simulator";
import { freshnessOf, pendingSyncOf } from "../../src/cache/freshness.js";
import type { CodatClient } from "../../src/codat/client.js";
import { upstreamUnavailable } from "../../src/codat/errors.js";
import type { CodatCustomerRecord, CodatCustomersPage } from "../../src/codat/types.js";
import { useStack, type Stack } from "../helpers/stack.js";
import { jwtEnv, mint } from "../security/support.js";
import { cacheOver, COMPANY, CONNECTION, pushOperation, START } from "./stub-support.js";

const PAGE = /* GraphQL */ `
  query Page($companyId: ID!, $query: String) {
    customers(companyId: $companyId, first: 5, query: $query) {
      nodes {
        id
        customerId
        customerName
      }
    }
  }
`;
const DETAIL = /* GraphQL */ `
  query Detail($companyId: ID!, $customerId: ID!) {
    customer(companyId: $companyId, customerId: $customerId) {
      customerId
      customerName
      freshness {
        servedAt
        stale
      }
    }
  }
`;
const NODES = /* GraphQL */ `
  query Nodes($ids: [ID!]!) {
    nodes(ids: $ids) {
      ... on Customer {
        customerId
        customerName
      }
    }
  }
`;

interface PageData {
  customers: { nodes: { id: string; customerId: string; customerName: string | null }[] } | null;
}
interface DetailData {
  customer: { customerId: string; customerName: string | null; freshness: { servedAt: string; stale: boolean } | null } | null;
}
interface NodesData {
  nodes: ({ customerId: string; customerName: string | null } | null)[];
}

const MAX_AGE_SECONDS = 900;
const customerCalls = (stack: Stack) => stack.upstream().filter((request) => /\/data\/customers(?:\/[^/]+)?$/.test(request.path)).length;

describe("a page read fills its customers' entries (through the gateway)", () => {
  let now = START;
  const stack = useStack({
    env: { CACHE_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS) },
    cacheClock: () => now,
  });
  afterEach(() => {
    now += 10 * MAX_AGE_SECONDS * 1000;
  });

  it("answers customer(…) and nodes(…) of customers a page returned with no Codat call, until an invalidation", async () => {
    const page = await stack.graphql<PageData>(PAGE, { companyId: DEMO_COMPANY_ID, query: "status=Active" });
    expect(page.errors).toBeUndefined();
    const nodes = page.data?.customers?.nodes ?? [];
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    expect(customerCalls(stack)).toBe(1);
    const [first, second, third] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];

    now += 5_000;
    const detail = await stack.graphql<DetailData>(DETAIL, { companyId: DEMO_COMPANY_ID, customerId: first.customerId });
    expect(detail.errors).toBeUndefined();
    expect(detail.data?.customer).toEqual({
      customerId: first.customerId,
      customerName: first.customerName,
      // Read with the page, at its time.
      freshness: { servedAt: new Date(now - 5_000).toISOString(), stale: false },
    });
    const byIds = await stack.graphql<NodesData>(NODES, { ids: [second.id, third.id] });
    expect(byIds.errors).toBeUndefined();
    expect(byIds.data?.nodes).toEqual([
      { customerId: second.customerId, customerName: second.customerName },
      { customerId: third.customerId, customerName: third.customerName },
    ]);
    expect(customerCalls(stack)).toBe(1);

    // Another company's customer of the same id is not the one filled (the entries are per company).
    const other = await stack.graphql<DetailData>(DETAIL, { companyId: SECOND_COMPANY_ID, customerId: first.customerId });
    expect(other.errors).toBeUndefined();
    expect(customerCalls(stack)).toBe(2);

    // A sync that changed the first customer in the platform: one Codat call names what changed since the oldest
    // entry the cache may hold; the first customer's entry goes, the others' stay.
    const stored = stack.simulator.store
      .company(DEMO_COMPANY_ID)
      ?.customers.all()
      .find((c) => c.id === first.customerId);
    if (stored === undefined) throw new Error("no such demo customer");
    stack.simulator.editCustomer(DEMO_COMPANY_ID, { ...stored, customerName: "Renamed In Xero" }, { sync: false });
    await stack.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"] });
    const delta = stack.upstream().at(-1);
    expect(delta?.query["query"]).toMatch(/^modifiedDate>=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(customerCalls(stack)).toBe(3);
    const renamed = await stack.graphql<DetailData>(DETAIL, { companyId: DEMO_COMPANY_ID, customerId: first.customerId });
    expect(renamed.data?.customer?.customerName).toBe("Renamed In Xero");
    expect(customerCalls(stack)).toBe(4);
    await stack.graphql<NodesData>(NODES, { ids: [second.id, third.id] });
    expect(customerCalls(stack)).toBe(4);

    // A signal that says nothing of which customers: all of them go.
    await stack.gateway.cache?.dataChanged({ kind: "connection", companyId: DEMO_COMPANY_ID, dataTypes: ["*"] });
    await stack.graphql<NodesData>(NODES, { ids: [second.id, third.id] });
    expect(customerCalls(stack)).toBe(5);
  });
});

// ---------------------------------------------------------------------------------------------- on a stub Codat

const MAX_AGE_MS = MAX_AGE_SECONDS * 1000;

function record(id: string, name: string): CodatCustomerRecord {
  return { id, customerName: name, status: "Active", defaultCurrency: "GBP", modifiedDate: "2026-01-05T10:00:00Z" };
}

/** Codat whose customers the test renames, and whose list answers the test may hold back (`hold`). */
function stubCodat() {
  const records = [record("c-1", "One"), record("c-2", "Two"), record("c-3", "Three")];
  const counts = { list: 0, get: 0, dataStatus: 0, delta: 0 };
  const state: { held: (() => void)[]; hold: boolean; failing: boolean; pushStatus: string } = {
    held: [],
    hold: false,
    failing: false,
    pushStatus: "Success",
  };
  const operation = (status: string, data: object) => pushOperation("op-1", status, data);
  const answer = <T>(value: () => T): Promise<T> => {
    if (state.failing) return Promise.reject(upstreamUnavailable());
    if (!state.hold) return Promise.resolve(value());
    // The answer is Codat's at the time of reading (now), delivered when the test releases it.
    const read = value();
    return new Promise((resolve) => state.held.push(() => resolve(read)));
  };
  const client = {
    listCustomers: (_company: string, params: { query?: string }): Promise<CodatCustomersPage> => {
      // A sync's delta (`modifiedDate>=…`): answered at once, whatever the test holds back.
      const since = /^modifiedDate>=(.+)$/.exec(params.query ?? "")?.[1];
      if (since !== undefined) {
        counts.delta += 1;
        if (state.failing) return Promise.reject(upstreamUnavailable());
        const results = records.filter((r) => Date.parse(r.modifiedDate ?? "") >= Date.parse(since)).map((r) => ({ ...r }));
        return Promise.resolve({ results, pageNumber: 1, pageSize: 1000, totalResults: results.length, _links: { self: {}, current: {} } });
      }
      counts.list += 1;
      const ids = params.query?.startsWith("id=") ? params.query.split("||").map((term) => term.slice(3)) : undefined;
      return answer(() => {
        const results = records.filter((r) => ids === undefined || ids.includes(r.id)).map((r) => ({ ...r }));
        return { results, pageNumber: 1, pageSize: 100, totalResults: results.length, _links: { self: {}, current: {} } };
      });
    },
    getCustomer: (_company: string, id: string) => {
      counts.get += 1;
      return answer(() => {
        const found = records.find((r) => r.id === id);
        return found ? { ...found } : null;
      });
    },
    getDataStatus: () => {
      counts.dataStatus += 1;
      return Promise.reject(upstreamUnavailable());
    },
    updateCustomer: (_company: string, _connection: string, id: string, body: object) =>
      Promise.resolve(operation(state.pushStatus, { ...body, id })),
    getPushOperation: () => Promise.resolve(operation("Success", {})),
  };
  return {
    client: client as unknown as CodatClient,
    counts,
    state,
    /** A change in the platform, synced: Codat's record gets the name and a new modifiedDate. */
    rename: (id: string, name: string) => {
      const found = records.find((r) => r.id === id);
      if (found) Object.assign(found, { customerName: name, modifiedDate: new Date().toISOString() });
    },
  };
}

function setup() {
  const codat = stubCodat();
  return { codat, ...cacheOver(codat.client, MAX_AGE_MS, MAX_AGE_MS / 3) };
}

/** Resolves once the stub holds `n` answers (the reads reached Codat). */
async function held(codat: ReturnType<typeof stubCodat>, n: number): Promise<void> {
  while (codat.state.held.length < n) await new Promise((resolve) => setImmediate(resolve));
}

describe("a page read's filled entries and authorization", () => {
  const stack = useStack({ env: jwtEnv() });

  it("refuses a customer of another company before any lookup, though a page filled its entry", async () => {
    const own = { authorization: `Bearer ${await mint({ sub: "a", codat_company_ids: [DEMO_COMPANY_ID] })}` };
    const other = { authorization: `Bearer ${await mint({ sub: "b", codat_company_ids: [SECOND_COMPANY_ID] })}` };
    const page = await stack.graphql<PageData>(PAGE, { companyId: DEMO_COMPANY_ID, query: "status=Archived||status=Active" }, own);
    const found = page.data?.customers?.nodes[0];
    expect(found).toBeDefined();
    expect(customerCalls(stack)).toBe(1);

    const store = stack.gateway.cache?.store;
    expect(store).toBeDefined();
    const get = vi.spyOn(store!, "get");
    const generations = vi.spyOn(store!, "generations");
    try {
      const refused = await stack.graphql<DetailData>(DETAIL, { companyId: DEMO_COMPANY_ID, customerId: found!.customerId }, other);
      expect(refused.errors?.[0]?.extensions?.["code"]).toBe("FORBIDDEN");
      const byNode = await stack.graphql<NodesData>(NODES, { ids: [found!.id] }, other);
      expect(byNode.errors?.[0]?.extensions?.["code"]).toBe("FORBIDDEN");
      expect(get).not.toHaveBeenCalled();
      expect(generations).not.toHaveBeenCalled();
    } finally {
      get.mockRestore();
      generations.mockRestore();
    }
    // The caller who may: no Codat call.
    const allowed = await stack.graphql<DetailData>(DETAIL, { companyId: DEMO_COMPANY_ID, customerId: found!.customerId }, own);
    expect(allowed.data?.customer?.customerName).toBe(found!.customerName);
    expect(customerCalls(stack)).toBe(1);
  });
});

describe("a page read fills its customers' entries (read cache on a stub Codat)", () => {
  it("serves getCustomer and id-list reads from the page's entries, in Codat's words and the page's time", async () => {
    const { view, codat, advance } = setup();
    await view.listCustomers(COMPANY, { page: 1, pageSize: 20 });
    advance(30_000);
    const one = await view.getCustomer(COMPANY, "c-2");
    expect(one?.customerName).toBe("Two");
    expect(one && freshnessOf(one)).toEqual({ servedAt: new Date(START).toISOString(), ageSeconds: 30, stale: false });
    const byIds = await view.listCustomers(COMPANY, { page: 1, pageSize: 2, query: "id=c-3||id=c-1" });
    expect(byIds.results.map((r) => r.customerName)).toEqual(["Three", "One"]);
    expect(byIds.totalResults).toBe(2);
    expect(freshnessOf(byIds)).toEqual({ servedAt: new Date(START).toISOString(), ageSeconds: 30, stale: false });
    expect(codat.counts).toMatchObject({ list: 1, get: 0 });

    // A page cannot say that a customer does not exist: an id it did not return is Codat's to answer (once).
    const unknown = { page: 1, pageSize: 3, query: "id=c-3||id=c-1||id=c-404" };
    expect((await view.listCustomers(COMPANY, unknown)).results.map((r) => r.customerName)).toEqual(["One", "Three"]);
    expect(codat.counts).toMatchObject({ list: 2, get: 0 });
    expect((await view.listCustomers(COMPANY, unknown)).results.map((r) => r.customerName)).toEqual(["One", "Three"]);
    expect(codat.counts).toMatchObject({ list: 2, get: 0 });
  });

  it("files nothing reachable when an invalidation arrives while the page is being read", async () => {
    const { view, cache, codat } = setup();
    codat.state.hold = true;
    const reading = view.listCustomers(COMPANY, { page: 1, pageSize: 20 });
    await held(codat, 1);
    // Codat answered with "Two"; the platform's rename syncs and is announced before the answer reaches the cache.
    codat.rename("c-2", "Two renamed");
    await cache.dataChanged({ kind: "read.completed", companyId: COMPANY, dataTypes: ["customers"] });
    codat.state.held.shift()?.();
    expect((await reading).results.map((r) => r.customerName)).toEqual(["One", "Two", "Three"]);

    codat.state.hold = false;
    expect((await view.getCustomer(COMPANY, "c-2"))?.customerName).toBe("Two renamed");
    expect((await view.listCustomers(COMPANY, { page: 1, pageSize: 1, query: "id=c-1" })).results[0]?.customerName).toBe("One");
    expect(codat.counts).toMatchObject({ list: 2, get: 1, delta: 1 });
  });

  it("drops just the customers a sync changed, holds them while it asks, and all of them when it cannot say", async () => {
    const { view, cache, codat, advance } = setup();
    await view.listCustomers(COMPANY, { page: 1, pageSize: 20 });
    codat.rename("c-2", "Two renamed");
    await cache.dataChanged({ kind: "read.completed", companyId: COMPANY, dataTypes: ["customers"] });
    expect(codat.counts).toMatchObject({ list: 1, get: 0, delta: 1 });
    expect((await view.getCustomer(COMPANY, "c-2"))?.customerName).toBe("Two renamed");
    expect((await view.getCustomer(COMPANY, "c-1"))?.customerName).toBe("One");
    expect(codat.counts).toMatchObject({ list: 1, get: 1 });

    // While the delta is on its way, a read of the company's customers by id waits for it (no Codat call of its
    // own), then is answered from the cache: c-3 did not change.
    let answer: (() => void) | undefined;
    const slow = codat.client.listCustomers.bind(codat.client);
    codat.client.listCustomers = (company, params, options) =>
      new Promise((resolve, reject) => {
        answer = () => void slow(company, params, options).then(resolve, reject);
      });
    const syncing = cache.dataChanged({ kind: "read.completed", companyId: COMPANY, dataTypes: ["customers"] });
    while (answer === undefined) await new Promise((resolve) => setImmediate(resolve));
    codat.client.listCustomers = slow;
    let answered = false;
    const reading = view.getCustomer(COMPANY, "c-3").finally(() => (answered = true));
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    // A read whose request ends meanwhile stops waiting (and goes its way to Codat, which the stub answers).
    const controller = new AbortController();
    const cancelled = view.getCustomer(COMPANY, "c-1", { signal: controller.signal });
    controller.abort();
    await cancelled;
    expect(codat.counts.get).toBe(2);
    answer();
    await syncing;
    expect((await reading)?.customerName).toBe("Three");
    expect(codat.counts.get).toBe(2);

    // A delta that fails: every customer entry of the company goes.
    codat.state.failing = true;
    await cache.dataChanged({ kind: "read.completed", companyId: COMPANY, dataTypes: ["customers"] });
    codat.state.failing = false;
    await view.getCustomer(COMPANY, "c-1");
    expect(codat.counts.get).toBe(3);

    // A hold whose delta never ended (its replica stopped): past its time, every customer entry goes.
    await view.getCustomer(COMPANY, "c-3");
    const gets = codat.counts.get;
    await cache.store.hold(COMPANY, START - 1);
    advance(1);
    await view.getCustomer(COMPANY, "c-3");
    expect(codat.counts.get).toBe(gets + 1);
    await view.getCustomer(COMPANY, "c-3");
    expect(codat.counts.get).toBe(gets + 1);
  });

  it("shows a customer written through the gateway over the filled entry (pendingSync)", async () => {
    const { view, codat } = setup();
    await view.listCustomers(COMPANY, { page: 1, pageSize: 20 });
    await view.updateCustomer(COMPANY, CONNECTION, "c-1", { customerName: "Written", status: "Active" } as never);
    const one = await view.getCustomer(COMPANY, "c-1");
    expect([one?.customerName, one && pendingSyncOf(one)]).toEqual(["Written", true]);
    const byIds = await view.listCustomers(COMPANY, { page: 1, pageSize: 2, query: "id=c-1||id=c-2" });
    expect(byIds.results.map((r) => [r.customerName, pendingSyncOf(r)])).toEqual([
      ["Written", true],
      ["Two", false],
    ]);
    // The write dropped the written customer's entry only: reading it went to Codat, and the id list was answered
    // from the entries (c-1 filled by that read, c-2 by the page).
    expect(codat.counts).toMatchObject({ list: 1, get: 1 });
    await view.getCustomer(COMPANY, "c-2");
    expect(codat.counts).toMatchObject({ list: 1, get: 1 });
  });

  it("shows an update the gateway learns succeeded from a pushOperation read (a frontend polling, no webhook)", async () => {
    const { view, codat } = setup();
    await view.listCustomers(COMPANY, { page: 1, pageSize: 20 });
    codat.state.pushStatus = "Pending";
    await view.updateCustomer(COMPANY, CONNECTION, "c-2", { customerName: "Polled", status: "Active" } as never);
    // Pending: Codat's record (the page's entry) is what there is.
    expect((await view.getCustomer(COMPANY, "c-2"))?.customerName).toBe("Two");
    expect((await view.getPushOperation(COMPANY, "OP-1"))?.status).toBe("Success");
    const shown = await view.getCustomer(COMPANY, "c-2");
    expect([shown?.customerName, shown && pendingSyncOf(shown)]).toEqual(["Polled", true]);
    // Polling on changes nothing more: the company is not invalidated again.
    await view.getPushOperation(COMPANY, "op-1");
    const lists = codat.counts.list;
    await view.listCustomers(COMPANY, { page: 1, pageSize: 20 });
    await view.listCustomers(COMPANY, { page: 1, pageSize: 20 });
    expect(codat.counts.list).toBe(lists + 1);
  });

  it("serves a filled entry stale, flagged, when Codat fails past the time bound, and never after an invalidation", async () => {
    const { view, cache, codat, advance } = setup();
    await view.listCustomers(COMPANY, { page: 1, pageSize: 20 });
    advance(MAX_AGE_MS + 60_000);
    codat.state.failing = true;
    const stale = await view.getCustomer(COMPANY, "c-3");
    expect(stale?.customerName).toBe("Three");
    expect(stale && freshnessOf(stale)).toEqual({ servedAt: new Date(START).toISOString(), ageSeconds: MAX_AGE_SECONDS + 60, stale: true });

    await cache.dataChanged({ kind: "read.completed", companyId: COMPANY, dataTypes: ["customers"] });
    await expect(view.getCustomer(COMPANY, "c-3")).rejects.toMatchObject({ extensions: { code: "UPSTREAM_UNAVAILABLE" } });
  });
});
