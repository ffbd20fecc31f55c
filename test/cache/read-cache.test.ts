/**
 * The read cache through the gateway (issue 28): a repeat read costs no Codat call; another company's entries are
 * unreachable; each kind of change signal drops the company's entries; the time bound (on an injected clock) with
 * its `dataStatus` check; stale serves on Codat's errors, said so, and never after an invalidation; one Codat call
 * for concurrent misses; the shadow check.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, SECOND_COMPANY_ID } from "codat-simulator";
import { staleReason } from "../../src/cache/read-cache.js";
import { budgetExhausted, malformedResponse, slotUnavailable, upstreamTimeout, upstreamUnavailable } from "../../src/codat/errors.js";
import { useStack, type Stack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";
import { jwtEnv, mint } from "../security/support.js";

const PAGE = /* GraphQL */ `
  query Page($companyId: ID!, $first: Int, $query: String) {
    customers(companyId: $companyId, first: $first, query: $query) {
      totalCount
      freshness {
        servedAt
        ageSeconds
        stale
      }
      nodes {
        customerId
        customerName
        pendingSync
        freshness {
          ageSeconds
          stale
        }
      }
    }
  }
`;

const CONNECTIONS = /* GraphQL */ `
  query Connections($companyId: ID!) {
    connections(companyId: $companyId) {
      connectionId
    }
  }
`;

const ATTACHMENTS = /* GraphQL */ `
  query Attachments($companyId: ID!, $customerId: ID!, $connectionId: ID!) {
    customer(companyId: $companyId, customerId: $customerId) {
      attachments(connectionId: $connectionId) {
        id
        name
      }
    }
  }
`;

interface PageData {
  customers: {
    totalCount: number;
    freshness: { servedAt: string; ageSeconds: number; stale: boolean } | null;
    nodes: {
      customerId: string;
      customerName: string | null;
      pendingSync: boolean;
      freshness: { ageSeconds: number; stale: boolean } | null;
    }[];
  } | null;
}

const CUSTOMERS_PATH = /\/data\/customers$/;
const ATTACHMENTS_PATH = /\/attachments$/;
const DATA_STATUS_PATH = /\/dataStatus$/;
const MAX_AGE_SECONDS = 900;
const REVALIDATE_SECONDS = 300;
const START = Date.parse("2026-12-01T09:00:00Z");

/** One sample of a Prometheus text exposition: `name{a="b",…} value` with exactly these labels (none: no braces). */
async function scrape(url: string) {
  const text = await (await fetch(url)).text();
  return {
    value(name: string, labels: Record<string, string> = {}): number | undefined {
      const wanted = Object.entries(labels)
        .map(([key, value]) => `${key}="${value}"`)
        .join(",");
      const prefix = wanted === "" ? `${name} ` : `${name}{${wanted}} `;
      const line = text.split("\n").find((candidate) => candidate.startsWith(prefix));
      return line === undefined ? undefined : Number(line.slice(prefix.length));
    },
  };
}

/** A sync's delta: the one list call a `read.completed` makes to learn which customers changed. */
const isDelta = (request: { query: Record<string, string> }) => request.query["query"]?.startsWith("modifiedDate>=") === true;
/** Codat calls to `path`, a sync's delta left out (it is not the read under test). */
const calls = (stack: Stack, path: RegExp) => stack.upstream().filter((request) => path.test(request.path) && !isDelta(request)).length;
const deltas = (stack: Stack) => stack.upstream().filter(isDelta).length;

/** The page of `query` (a distinct query per test keeps the tests' entries apart). */
async function page(stack: Stack, query: string, headers: Record<string, string> = {}, companyId = DEMO_COMPANY_ID) {
  const result = await stack.graphql<PageData>(PAGE, { companyId, first: 5, query }, headers);
  return result;
}

describe("read cache", () => {
  let now = START;
  const stack = useStack({
    env: { CACHE_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS), CACHE_REVALIDATE_AFTER_SECONDS: String(REVALIDATE_SECONDS) },
    cacheClock: () => now,
  });
  // The clock only moves forward (as the store's records of checks expect); each test starts far from the last.
  afterEach(() => {
    now += 10 * MAX_AGE_SECONDS * 1000;
  });

  it("answers a repeated page from the cache: no second Codat call, and says how old it is", async () => {
    const t0 = now;
    const first = await page(stack, "status=Active");
    expect(first.errors).toBeUndefined();
    expect(calls(stack, CUSTOMERS_PATH)).toBe(1);
    expect(first.data?.customers?.freshness).toEqual({ servedAt: new Date(t0).toISOString(), ageSeconds: 0, stale: false });

    now += 42_000;
    const second = await page(stack, "status=Active");
    expect(calls(stack, CUSTOMERS_PATH)).toBe(1);
    expect(second.data?.customers?.nodes).toEqual(
      first.data?.customers?.nodes.map((node) => ({ ...node, freshness: { ageSeconds: 42, stale: false } })),
    );
    expect(second.data?.customers?.freshness).toEqual({ servedAt: new Date(t0).toISOString(), ageSeconds: 42, stale: false });
    expect(second.data?.customers?.nodes.every((node) => !node.pendingSync)).toBe(true);
  });

  it("makes one Codat call for concurrent misses of the same page", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => page(stack, "status=Archived||status=Active")));
    for (const result of results) expect(result.errors).toBeUndefined();
    expect(calls(stack, CUSTOMERS_PATH)).toBe(1);
  });

  it.each([
    { kind: "read.completed", dataTypes: ["customers"] },
    { kind: "write.successful", dataTypes: ["customers"] },
    { kind: "connection", dataTypes: ["*"] },
    { kind: "company.deleted", dataTypes: ["*"] },
    { kind: "read.completed", dataTypes: ["*"] },
  ] as const)("drops the company's customer entries on $kind ($dataTypes)", async ({ kind, dataTypes }) => {
    const query = `customerName~${kind}${dataTypes.join("")}`;
    await page(stack, query);
    await page(stack, query, {}, SECOND_COMPANY_ID);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(2);

    await stack.gateway.cache?.dataChanged({ kind, companyId: DEMO_COMPANY_ID.toUpperCase(), dataTypes });
    await page(stack, query);
    // The other company's entry stays.
    await page(stack, query, {}, SECOND_COMPANY_ID);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(3);
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(3);
  });

  it("keeps attachments across a sync of the customers (Codat reads them live); drops them on an upload, a connection event, and the time bound", async () => {
    const customerId = (await page(stack, "customerName~e")).data?.customers?.nodes[0]?.customerId;
    expect(customerId).toBeDefined();
    const variables = { companyId: DEMO_COMPANY_ID, customerId, connectionId: DEMO_CONNECTION_ID };
    const read = async () => {
      const result = await stack.graphql<{ customer: { attachments: unknown[] | null } | null }>(ATTACHMENTS, variables);
      expect(result.errors).toBeUndefined();
      return result.data?.customer?.attachments;
    };
    const listed = await read();
    expect(calls(stack, ATTACHMENTS_PATH)).toBe(1);

    // A sync of the customers, and a push of a customer (the gateway's or announced): attachments stay.
    await stack.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"] });
    await stack.gateway.cache?.dataChanged({
      kind: "write.successful",
      companyId: DEMO_COMPANY_ID,
      dataTypes: ["customers"],
      writeType: "Update",
    });
    await stack.gateway.cache?.pushSucceeded(DEMO_COMPANY_ID);
    expect(await read()).toEqual(listed);
    expect(calls(stack, ATTACHMENTS_PATH)).toBe(1);

    // An attachment uploaded to a customer through Codat: the company's attachment entries go.
    await stack.gateway.cache?.dataChanged({
      kind: "write.successful",
      companyId: DEMO_COMPANY_ID,
      dataTypes: ["customers"],
      writeType: "UploadAttachment",
    });
    await read();
    expect(calls(stack, ATTACHMENTS_PATH)).toBe(2);
    await read();
    expect(calls(stack, ATTACHMENTS_PATH)).toBe(2);

    await stack.gateway.cache?.dataChanged({ kind: "connection", companyId: DEMO_COMPANY_ID, dataTypes: ["*"] });
    await read();
    expect(calls(stack, ATTACHMENTS_PATH)).toBe(3);

    // Past the soft age they are still served (a dataStatus check says nothing about attachments); past the time
    // bound they are read again.
    now += (MAX_AGE_SECONDS - 1) * 1000;
    await read();
    expect(calls(stack, ATTACHMENTS_PATH)).toBe(3);
    now += 1000;
    await read();
    expect(calls(stack, ATTACHMENTS_PATH)).toBe(4);
  });

  it("drops the customers once per push: the gateway seeing it succeed and Codat's write.successful for it are the same news", async () => {
    const query = "customerName~once";
    const push = "3b0f8a4e-2f7c-4f57-9a55-6f1d8e2c7a10";
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(1);
    await stack.gateway.cache?.pushSucceeded(DEMO_COMPANY_ID, push);
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(2);

    const written = { kind: "write.successful", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"], writeType: "Create" } as const;
    // Codat's webhook for the same push (any case of its key): nothing new.
    await stack.gateway.cache?.dataChanged({ ...written, pushOperationKey: push.toUpperCase() });
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(2);

    // Another push, announced first by Codat: it drops them, and the gateway's own news of it later does not.
    const other = "9d2c4b61-0a7e-4c3d-8f15-2b6e9a0c5d77";
    await stack.gateway.cache?.dataChanged({ ...written, pushOperationKey: other });
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(3);
    await stack.gateway.cache?.pushSucceeded(DEMO_COMPANY_ID, other);
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(3);

    // The sync that follows a push is news of its own (and one call asks Codat which customers it changed).
    expect(deltas(stack)).toBe(0);
    await stack.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"] });
    expect(deltas(stack)).toBe(1);
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(4);
  });

  it("keeps customer entries when another data type changed, and drops connections on a connection event", async () => {
    await page(stack, "customerName~invoices");
    await stack.graphql(CONNECTIONS, { companyId: DEMO_COMPANY_ID });
    await stack.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["invoices"] });
    await page(stack, "customerName~invoices");
    await stack.graphql(CONNECTIONS, { companyId: DEMO_COMPANY_ID });
    expect(calls(stack, CUSTOMERS_PATH)).toBe(1);
    expect(calls(stack, /\/connections$/)).toBe(1);

    await stack.gateway.cache?.dataChanged({ kind: "connection", companyId: DEMO_COMPANY_ID, dataTypes: ["*"] });
    await stack.graphql(CONNECTIONS, { companyId: DEMO_COMPANY_ID });
    expect(calls(stack, /\/connections$/)).toBe(2);
  });

  it("checks the company's dataStatus past the soft age: an unchanged sync extends, a new one re-reads, and the time bound remains", async () => {
    const query = "customerName~a";
    await page(stack, query);
    now += (REVALIDATE_SECONDS - 1) * 1000;
    await page(stack, query);
    expect([calls(stack, CUSTOMERS_PATH), calls(stack, DATA_STATUS_PATH)]).toEqual([1, 0]);

    // Past the soft age: the first check of the company sees its sync for the first time, so the entry (read
    // before it) is read again.
    now += 2000;
    await page(stack, query);
    expect([calls(stack, CUSTOMERS_PATH), calls(stack, DATA_STATUS_PATH)]).toEqual([2, 1]);

    // Past the soft age again, nothing synced since: one dataStatus call confirms the entry, no page is read.
    now += (REVALIDATE_SECONDS + 1) * 1000;
    const confirmed = await page(stack, query);
    expect([calls(stack, CUSTOMERS_PATH), calls(stack, DATA_STATUS_PATH)]).toEqual([2, 2]);
    expect(confirmed.data?.customers?.freshness).toMatchObject({ ageSeconds: REVALIDATE_SECONDS + 1, stale: false });

    // A change at Codat that no webhook announced: the next check sees a new sync and the page is read again.
    const customer = confirmed.data?.customers?.nodes[0];
    expect(customer).toBeDefined();
    const renamed = `Renamed ${customer?.customerId ?? ""}`;
    await changeAtCodat(stack, customer?.customerId ?? "", renamed);
    now += (REVALIDATE_SECONDS + 1) * 1000;
    const changed = await page(stack, query);
    expect([calls(stack, CUSTOMERS_PATH), calls(stack, DATA_STATUS_PATH)]).toEqual([3, 3]);
    expect(changed.data?.customers?.nodes.find((node) => node.customerId === customer?.customerId)?.customerName).toBe(renamed);

    // dataStatus failing: an entry within the time bound is served, one past it is read again.
    stack.simulator.injectFault({ kind: "status", status: 400, path: DATA_STATUS_PATH, times: Infinity });
    now += (REVALIDATE_SECONDS + 1) * 1000;
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(3);
    now += MAX_AGE_SECONDS * 1000;
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(4);
  });

  it("takes the sync a read.completed announced as known: a later dataStatus check confirms the entries it left", async () => {
    const query = "customerName~o";
    await page(stack, query);
    const customer = (await page(stack, query)).data?.customers?.nodes[0];
    expect(customer).toBeDefined();
    // A change at Codat, synced, and announced: the company's pages go, the delta names the one customer.
    await changeAtCodat(stack, customer?.customerId ?? "", `Synced ${customer?.customerId ?? ""}`);
    await stack.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"] });
    expect([calls(stack, CUSTOMERS_PATH), calls(stack, DATA_STATUS_PATH), deltas(stack)]).toEqual([1, 1, 1]);
    await page(stack, query);
    expect(calls(stack, CUSTOMERS_PATH)).toBe(2);

    // Past the soft age: the check finds the sync the webhook announced, and confirms rather than drops.
    now += (REVALIDATE_SECONDS + 1) * 1000;
    const confirmed = await page(stack, query);
    expect([calls(stack, CUSTOMERS_PATH), calls(stack, DATA_STATUS_PATH)]).toEqual([2, 2]);
    expect(confirmed.data?.customers?.freshness).toMatchObject({ stale: false });
  });

  it("serves an expired entry when Codat fails, flagged stale in the schema and in extensions.cache", async () => {
    const t0 = now;
    const query = "customerName~e";
    await page(stack, query);
    now += (MAX_AGE_SECONDS + 10) * 1000;
    stack.simulator.injectFault({ kind: "status", status: 503, headers: { "retry-after": "3600" }, path: CUSTOMERS_PATH, times: Infinity });
    const stale = await page(stack, query);
    expect(stale.errors).toBeUndefined();
    expect(stale.data?.customers?.freshness).toEqual({
      servedAt: new Date(t0).toISOString(),
      ageSeconds: MAX_AGE_SECONDS + 10,
      stale: true,
    });
    expect(stale.data?.customers?.nodes.every((node) => node.freshness?.stale === true)).toBe(true);
    const body = JSON.parse(stale.text) as { extensions?: { cache?: unknown } };
    expect(body.extensions?.cache).toEqual({ ageSeconds: MAX_AGE_SECONDS + 10, stale: true, reason: "upstream_unavailable" });

    // 429 (Codat's, or the gateway's own budget and slots: all RATE_LIMITED) too.
    stack.simulator.clearFaults();
    stack.simulator.injectFault({ kind: "status", status: 429, headers: { "retry-after": "3600" }, path: CUSTOMERS_PATH, times: Infinity });
    const limited = await page(stack, query);
    expect((JSON.parse(limited.text) as { extensions?: { cache?: { reason?: string } } }).extensions?.cache?.reason).toBe("rate_limited");

    // Once an invalidation for the company was received, the expired entry is never served.
    await stack.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"] });
    const refused = await page(stack, query);
    expect(refused.data?.customers ?? null).toBeNull();
    expect(refused.errors?.[0]?.extensions?.["code"]).toBe("RATE_LIMITED");
    expect((JSON.parse(refused.text) as { extensions?: { cache?: unknown } }).extensions?.cache).toBeUndefined();
  });

  it("serves nothing stale for an error that is the caller's (a bad query), and fresh answers carry no extensions.cache", async () => {
    const fresh = await page(stack, "customerName~f");
    expect((JSON.parse(fresh.text) as { extensions?: { cache?: unknown } }).extensions?.cache).toBeUndefined();
    now += (MAX_AGE_SECONDS + 10) * 1000;
    stack.simulator.injectFault({ kind: "status", status: 400, path: CUSTOMERS_PATH, times: 1 });
    const refused = await page(stack, "customerName~f");
    expect(refused.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
  });
});

/** Renames a customer at the simulator directly (no gateway: no invalidation), and waits until Codat shows it. */
async function changeAtCodat(stack: Stack, customerId: string, name: string): Promise<void> {
  const base = stack.simulator.url;
  const current = (await (
    await fetch(`${base}/companies/${DEMO_COMPANY_ID}/data/customers/${encodeURIComponent(customerId)}`)
  ).json()) as Record<string, unknown>;
  const { id: _id, modifiedDate: _modified, sourceModifiedDate: _sourceModified, ...body } = current;
  const response = await fetch(
    `${base}/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/push/customers/${encodeURIComponent(customerId)}?forceUpdate=true`,
    { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, customerName: name }) },
  );
  expect(response.status).toBeLessThan(300);
  await waitFor(async () => {
    const shown = (await (await fetch(`${base}/companies/${DEMO_COMPANY_ID}/data/customers/${encodeURIComponent(customerId)}`)).json()) as {
      customerName?: string;
    };
    return shown.customerName === name;
  });
}

describe("read cache and authorization", () => {
  const stack = useStack({ env: jwtEnv() });

  it("refuses another company's entry before any lookup", async () => {
    const own = { authorization: `Bearer ${await mint({ sub: "a", codat_company_ids: [DEMO_COMPANY_ID] })}` };
    const other = { authorization: `Bearer ${await mint({ sub: "b", codat_company_ids: [SECOND_COMPANY_ID] })}` };
    expect((await page(stack, "customerName~iso", own)).errors).toBeUndefined();
    expect((await page(stack, "customerName~iso", own)).errors).toBeUndefined();
    expect(calls(stack, CUSTOMERS_PATH)).toBe(1);

    const store = stack.gateway.cache?.store;
    expect(store).toBeDefined();
    const get = vi.spyOn(store!, "get");
    const generations = vi.spyOn(store!, "generations");
    const refused = await page(stack, "customerName~iso", other);
    expect(refused.errors?.[0]?.extensions?.["code"]).toBe("FORBIDDEN");
    expect(get).not.toHaveBeenCalled();
    expect(generations).not.toHaveBeenCalled();
    expect(calls(stack, CUSTOMERS_PATH)).toBe(1);
    get.mockRestore();
    generations.mockRestore();
  });
});

describe("read cache metrics and shadow check", () => {
  const stack = useStack({ env: { CACHE_SHADOW_RATE: "1" } });

  it("counts hits, misses and Codat calls saved, and finds no mismatch when it re-reads every hit", async () => {
    await page(stack, "customerName~s");
    for (let i = 0; i < 3; i++) await page(stack, "customerName~s");
    await stack.gateway.cache?.settled();
    // Three hits, each re-read by the shadow check.
    expect(calls(stack, CUSTOMERS_PATH)).toBe(4);
    const metrics = await scrape(`${stack.origin}/metrics`);
    expect(metrics.value("codat_gateway_cache_hits_total", { read: "page" })).toBe(3);
    expect(metrics.value("codat_gateway_cache_misses_total", { read: "page" })).toBe(1);
    expect(metrics.value("codat_gateway_cache_codat_calls_saved_total", { read: "page" })).toBe(3);
    expect(metrics.value("codat_gateway_cache_shadow_checks_total")).toBe(3);
    expect(metrics.value("codat_gateway_cache_shadow_mismatches_total")).toBe(0);
    expect(metrics.value("codat_gateway_cache_entries")).toBeGreaterThan(0);
    expect(metrics.value("codat_gateway_cache_bytes")).toBeGreaterThan(0);
  });

  it("measures an invalidation's lag from the webhook's generatedDate", async () => {
    await stack.gateway.cache?.dataChanged({
      kind: "read.completed",
      companyId: DEMO_COMPANY_ID,
      dataTypes: ["customers"],
      generatedDate: new Date(Date.now() - 5_000).toISOString(),
    });
    const metrics = await scrape(`${stack.origin}/metrics`);
    expect(metrics.value("codat_gateway_cache_invalidations_total", { signal: "read.completed" })).toBe(1);
    expect(metrics.value("codat_gateway_cache_invalidation_lag_seconds_count")).toBe(1);
    expect(metrics.value("codat_gateway_cache_invalidation_lag_seconds_sum")).toBeGreaterThanOrEqual(5);
  });
});

describe("CACHE_ENABLED=false", () => {
  const stack = useStack({ env: { CACHE_ENABLED: "false" } });

  it("reads through to Codat every time, with no freshness", async () => {
    await page(stack, "customerName~off");
    const second = await page(stack, "customerName~off");
    expect(calls(stack, CUSTOMERS_PATH)).toBe(2);
    expect(stack.gateway.cache).toBeUndefined();
    expect(second.data?.customers?.freshness).toBeNull();
  });
});

describe("read-your-writes through the gateway", () => {
  const stack = useStack({ simulator: { pushDelayMs: 0 } });

  it("shows a created customer flagged pendingSync once its push succeeded, until a read.completed for customers", async () => {
    const created = await stack.graphql<{ createCustomer: { pushOperation: { pushOperationKey: string; status: string } } }>(
      /* GraphQL */ `
        mutation Create($input: CreateCustomerInput!) {
          createCustomer(input: $input) {
            pushOperation {
              pushOperationKey
              status
            }
          }
        }
      `,
      {
        input: {
          companyId: DEMO_COMPANY_ID,
          connectionId: DEMO_CONNECTION_ID,
          customer: { customerName: "Written Ltd", defaultCurrency: "GBP", status: "ACTIVE" },
        },
      },
    );
    expect(created.errors).toBeUndefined();
    const key = created.data?.createCustomer.pushOperation.pushOperationKey ?? "";
    expect(created.data?.createCustomer.pushOperation.status).toBe("PENDING");

    // The poll (or webhook) that tells the gateway the push succeeded.
    await stack.gateway.pushStatus.publish({ companyId: DEMO_COMPANY_ID, pushOperationKey: key, source: "poll", status: "Success" });
    const operation = await stack.graphql<{ pushOperation: { changes: { recordRef: { id: string } | null }[] } }>(
      `query($companyId: ID!, $key: ID!) { pushOperation(companyId: $companyId, pushOperationKey: $key) { changes { recordRef { id } } } }`,
      { companyId: DEMO_COMPANY_ID, key },
    );
    const customerId = operation.data?.pushOperation.changes[0]?.recordRef?.id;
    expect(customerId).toBeDefined();

    const ONE = `query($companyId: ID!, $customerId: ID!) { customer(companyId: $companyId, customerId: $customerId) { customerName pendingSync } }`;
    const shown = await stack.graphql<{ customer: { customerName: string; pendingSync: boolean } | null }>(ONE, {
      companyId: DEMO_COMPANY_ID,
      customerId,
    });
    expect(shown.data?.customer).toEqual({ customerName: "Written Ltd", pendingSync: true });

    await stack.gateway.cache?.dataChanged({ kind: "read.completed", companyId: DEMO_COMPANY_ID, dataTypes: ["customers"] });
    const synced = await stack.graphql<{ customer: { customerName: string; pendingSync: boolean } | null }>(ONE, {
      companyId: DEMO_COMPANY_ID,
      customerId,
    });
    // Codat (the simulator) has it now: shown as Codat's record.
    expect(synced.data?.customer).toEqual({ customerName: "Written Ltd", pendingSync: false });
  });
});

describe("stale reasons", () => {
  it("counts the gateway's own limits (budget, company slots) as rate_limited, and no caller error", () => {
    expect(staleReason(budgetExhausted(1000))).toBe("rate_limited");
    expect(staleReason(slotUnavailable())).toBe("rate_limited");
    expect(staleReason(upstreamTimeout())).toBe("upstream_timeout");
    expect(staleReason(upstreamUnavailable())).toBe("upstream_unavailable");
    expect(staleReason(malformedResponse(200))).toBeUndefined();
    expect(staleReason(new Error("not coded"))).toBeUndefined();
  });
});
