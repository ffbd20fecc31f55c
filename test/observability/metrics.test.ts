/**
 * The Prometheus view: what GET /metrics reports after real traffic through a gateway in front of the
 * simulator (operations, Codat calls with injected faults, downloads), that its labels stay bounded whatever
 * companies and operation names clients send, and where it is served (METRICS_ENABLED, METRICS_PORT).
 * Values are compared as differences between two scrapes, so the tests of a file do not depend on each other.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import {
  ATTACHMENT_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  EMPTY_COMPANY_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  SECOND_COMPANY_ID,
} from "codat-simulator";
import { OPERATION_NAME_LIMIT, OTHER_OPERATION } from "../../src/observability/metrics.js";
import { attachmentRecord, downloadUrlOf } from "../helpers/downloads.js";
import { startStack, useStack, type Stack } from "../helpers/stack.js";
import { waitFor, waitForValue } from "../helpers/wait.js";
import { WEBHOOK_OUTCOMES } from "../../src/webhooks/outcomes.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped, label values unescaped). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** The sum of the samples named `name` whose labels include `labels`. */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
      .reduce((total, s) => total + s.value, 0);
  }

  /** How much a counter, gauge or histogram series grew since `before`. */
  since(before: Scrape, name: string, labels: Record<string, string> = {}): number {
    return this.value(name, labels) - before.value(name, labels);
  }

  /** Every distinct value of a label, across all series. */
  labelValues(label: string): Set<string> {
    return new Set(this.samples.flatMap((s) => (s.labels[label] !== undefined ? [s.labels[label]] : [])));
  }

  /** Series of the gateway's own metrics (each bucket, sum and count line is one). */
  get gatewaySeries(): number {
    return this.samples.filter((s) => s.name.startsWith("codat_gateway_")).length;
  }
}

async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return new Scrape(parseExposition(await response.text()));
}

const OPERATION = "codat_gateway_graphql_operation_duration_seconds_count";
const CODAT = "codat_gateway_codat_request_duration_seconds_count";
const RETRIES = "codat_gateway_codat_retries_total";
const RATE_LIMITED = "codat_gateway_codat_rate_limited_total";
const SLOT_WAITS = "codat_gateway_codat_slot_wait_seconds_count";
const CUSTOMERS_ROUTE = "GET /companies/{companyId}/data/customers";
const DOWNLOAD_ROUTE =
  "GET /companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments/{attachmentId}/download";

const PAGE = (name: string) => `query ${name}($companyId: ID!) { customers(companyId: $companyId, first: 2) { nodes { customerId } } }`;

/** Opens a download and reads nothing, so it stays in flight (and holds its company slot) until released. */
async function holdDownload(url: string): Promise<{ status: number | undefined; release(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (response) => resolve({ status: response.statusCode, release: () => req.destroy() }));
    req.on("error", reject);
    req.end();
  });
}

describe("GET /metrics", () => {
  // Counts Codat calls per operation: no read cache (test/cache/ covers it and its metrics).
  const stack = useStack({ env: { CACHE_ENABLED: "false" } });
  const metrics = () => scrape(`${stack.origin}/metrics`);

  it("is the gateway's metricsUrl, with process metrics beside the gateway's", async () => {
    expect(stack.gateway.metricsUrl).toBe(`${stack.origin}/metrics`);
    const text = await (await fetch(`${stack.origin}/metrics`)).text();
    for (const name of [
      "process_cpu_user_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    for (const name of [
      "graphql_operation_duration_seconds histogram",
      "codat_request_duration_seconds histogram",
      "codat_retries_total counter",
      "codat_rate_limited_total counter",
      "codat_slot_wait_seconds histogram",
      "codat_limiter_queued gauge",
      "codat_limiter_in_flight gauge",
      "downloads_in_flight gauge",
      "download_bytes_total counter",
    ]) {
      expect(text).toContain(`# TYPE codat_gateway_${name}`);
    }
  });

  it("times a page query and a by-id query, and their Codat calls by route template and status class", async () => {
    const before = await metrics();
    const page = await stack.graphql<{ customers: { nodes: { customerId: string }[] } }>(PAGE("CustomerPage"), {
      companyId: DEMO_COMPANY_ID,
    });
    const customerId = page.data!.customers.nodes[0]!.customerId;
    const byId = await stack.graphql(`query OneCustomer($c: ID!, $id: ID!) { customer(companyId: $c, customerId: $id) { customerId } }`, {
      c: DEMO_COMPANY_ID,
      id: customerId,
    });
    expect(byId.errors).toBeUndefined();
    const after = await metrics();

    expect(after.since(before, OPERATION, { operation: "CustomerPage", outcome: "success" })).toBe(1);
    expect(after.since(before, OPERATION, { operation: "OneCustomer", outcome: "success" })).toBe(1);
    expect(after.since(before, OPERATION)).toBe(2);
    // By-id lookups are batched into the list endpoint (a query on the ids).
    expect(after.since(before, CODAT, { route: CUSTOMERS_ROUTE, status_class: "2xx" })).toBe(2);
    expect(after.since(before, CODAT)).toBe(2);
    expect(after.since(before, SLOT_WAITS)).toBe(2);
    expect(after.since(before, RETRIES)).toBe(0);
    // A histogram's +Inf bucket counts every observation.
    const inf = { route: CUSTOMERS_ROUTE, status_class: "2xx", le: "+Inf" };
    expect(after.value("codat_gateway_codat_request_duration_seconds_bucket", inf)).toBe(
      after.value(CODAT, { route: CUSTOMERS_ROUTE, status_class: "2xx" }),
    );
    expect(after.value("codat_gateway_codat_limiter_queued")).toBe(0);
    expect(after.value("codat_gateway_codat_limiter_in_flight")).toBe(0);
  });

  it("counts retries and every attempt answered 429, retried or not", async () => {
    const path = /\/data\/customers$/;
    const before = await metrics();
    stack.simulator.injectFault({ kind: "status", status: 503, path, headers: { "retry-after": "0" } });
    expect((await stack.graphql(PAGE("AfterUnavailable"), { companyId: DEMO_COMPANY_ID })).errors).toBeUndefined();
    stack.simulator.injectFault({ kind: "status", status: 429, path, headers: { "retry-after": "0" } });
    expect((await stack.graphql(PAGE("AfterRateLimit"), { companyId: DEMO_COMPANY_ID })).errors).toBeUndefined();
    // Four attempts (the first and three retries), all answered 429: the call fails with the last one.
    stack.simulator.injectFault({ kind: "status", status: 429, path, headers: { "retry-after": "0" }, times: 4 });
    const limited = await stack.graphql(PAGE("RateLimited"), { companyId: DEMO_COMPANY_ID });
    expect(limited.errors?.[0]?.extensions?.["code"]).toBe("RATE_LIMITED");
    expect(stack.upstream()).toHaveLength(2 + 2 + 4);
    const after = await metrics();

    expect(after.since(before, RETRIES, { route: CUSTOMERS_ROUTE })).toBe(1 + 1 + 3);
    expect(after.since(before, RATE_LIMITED, { route: CUSTOMERS_ROUTE })).toBe(1 + 4);
    expect(after.since(before, CODAT, { route: CUSTOMERS_ROUTE, status_class: "2xx" })).toBe(2);
    expect(after.since(before, CODAT, { route: CUSTOMERS_ROUTE, status_class: "4xx" })).toBe(1);
    expect(after.since(before, SLOT_WAITS)).toBe(8);
    expect(after.since(before, OPERATION, { operation: "AfterUnavailable", outcome: "success" })).toBe(1);
    expect(after.since(before, OPERATION, { operation: "AfterRateLimit", outcome: "success" })).toBe(1);
    expect(after.since(before, OPERATION, { operation: "RateLimited", outcome: "error" })).toBe(1);
  });

  it("classes a call whose last attempt got no answer as none, and counts its earlier 429 once", async () => {
    const path = /\/data\/customers$/;
    const before = await metrics();
    stack.simulator.injectFault({ kind: "status", status: 429, path, headers: { "retry-after": "0" } });
    stack.simulator.injectFault({ kind: "reset", path, times: 3 });
    const failed = await stack.graphql(PAGE("NoAnswer"), { companyId: DEMO_COMPANY_ID });
    expect(failed.errors?.[0]?.extensions?.["code"]).toBe("UPSTREAM_UNAVAILABLE");
    const after = await metrics();
    expect(after.since(before, CODAT, { route: CUSTOMERS_ROUTE, status_class: "none" })).toBe(1);
    expect(after.since(before, CODAT)).toBe(1);
    expect(after.since(before, RETRIES, { route: CUSTOMERS_ROUTE })).toBe(3);
    expect(after.since(before, RATE_LIMITED, { route: CUSTOMERS_ROUTE })).toBe(1);
  });

  it("tells operations refused before execution from failed ones", async () => {
    const before = await metrics();
    const invalid = await stack.graphql(`{ noSuchField }`);
    expect(invalid.status).toBe(400);
    const unparsable = await stack.graphql(`query Broken {`);
    expect(unparsable.status).toBe(400);
    const after = await metrics();
    expect(after.since(before, OPERATION, { operation: "(anonymous)", outcome: "rejected" })).toBe(2);
    expect(after.since(before, CODAT)).toBe(0);
  });

  it("counts a download's bytes and its Codat call, and no download stays in flight", async () => {
    const record = attachmentRecord(stack, ATTACHMENT_CUSTOMER_ID);
    const url = await downloadUrlOf(stack, record);
    const before = await metrics();
    const body = await (await fetch(url)).arrayBuffer();
    expect(body.byteLength).toBe(record.attachment.fileSize);
    // The route's bookkeeping ends just after the last byte leaves, so wait for it rather than race it.
    const after = await waitForValue(async () => {
      const now = await metrics();
      return now.value("codat_gateway_downloads_in_flight") === 0 ? now : undefined;
    });
    expect(after.since(before, "codat_gateway_download_bytes_total")).toBe(record.attachment.fileSize);
    expect(after.since(before, CODAT, { route: DOWNLOAD_ROUTE, status_class: "2xx" })).toBe(1);
  });

  it("shows a download in flight, and its company slot taken, until the client goes away", async () => {
    const url = await downloadUrlOf(stack, attachmentRecord(stack, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID));
    const download = await holdDownload(url);
    expect(download.status).toBe(200);
    try {
      const during = await metrics();
      expect(during.value("codat_gateway_downloads_in_flight")).toBe(1);
      expect(during.value("codat_gateway_codat_limiter_in_flight")).toBe(1);
    } finally {
      download.release();
    }
    await waitFor(async () => {
      const now = await metrics();
      return now.value("codat_gateway_downloads_in_flight") === 0 && now.value("codat_gateway_codat_limiter_in_flight") === 0;
    });
  });
});

describe("the limiter's queue", () => {
  const stack = useStack({ env: { CODAT_MAX_CONCURRENCY_PER_COMPANY: "1" } });
  const metrics = () => scrape(`${stack.origin}/metrics`);

  it("reports a call queued behind the company's only slot, and its wait once it got it", async () => {
    const url = await downloadUrlOf(stack, attachmentRecord(stack, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID));
    const before = await metrics();
    const download = await holdDownload(url);
    expect(download.status).toBe(200);
    let page: Promise<unknown> | undefined;
    try {
      page = stack.graphql(PAGE("Queued"), { companyId: DEMO_COMPANY_ID });
      await waitFor(async () => (await metrics()).value("codat_gateway_codat_limiter_queued") === 1);
    } finally {
      download.release();
    }
    expect(await page).toMatchObject({ status: 200 });
    const after = await metrics();
    expect(after.value("codat_gateway_codat_limiter_queued")).toBe(0);
    expect(after.since(before, SLOT_WAITS)).toBe(2);
    // The queued attempt waited for the slot; the download's did not.
    expect(after.since(before, "codat_gateway_codat_slot_wait_seconds_sum")).toBeGreaterThan(0);
  });
});

describe("label cardinality", () => {
  const stack = useStack();
  const customerIds: string[] = [];
  /** The simulator's companies and three it does not know (new ones each time). */
  const companies = () => [DEMO_COMPANY_ID, SECOND_COMPANY_ID, EMPTY_COMPANY_ID, randomUUID(), randomUUID(), randomUUID()];

  /**
   * `count` operations in batches of 10, each with a new random name, over the companies in turn: a page and a
   * by-id lookup of a random customer id. Every batch covers every company.
   */
  async function traffic(on: Stack, count: number, companies: string[]): Promise<void> {
    for (let start = 0; start < count; start += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, count - start) }, async (_, offset) => {
          const customerId = randomUUID();
          customerIds.push(customerId);
          const name = `Op_${randomBytes(6).toString("hex")}`;
          const result = await on.graphql(
            `query ${name}($c: ID!, $id: ID!) { customers(companyId: $c, first: 1) { totalCount } customer(companyId: $c, customerId: $id) { customerId } }`,
            { c: companies[(start + offset) % companies.length]!, id: customerId },
          );
          expect(result.status).toBe(200);
        }),
      );
    }
  }

  it("never labels with a company or customer id, caps operation names, and stops growing", async () => {
    const round1 = companies();
    // The first OPERATION_NAME_LIMIT names take the places; the batches after them (all companies each) are (other).
    await traffic(stack, OPERATION_NAME_LIMIT + 24, round1);
    await stack.graphql(`{ __typename }`);
    await stack.graphql(`query ${"A".repeat(100)} { __typename }`);
    const first = await scrape(`${stack.origin}/metrics`);

    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
    for (const sample of first.samples) {
      for (const value of Object.values(sample.labels)) {
        expect(value, `${sample.name} ${JSON.stringify(sample.labels)}`).not.toMatch(uuid);
      }
    }

    const operations = first.labelValues("operation");
    const named = [...operations].filter((value) => !value.startsWith("("));
    expect(named).toHaveLength(OPERATION_NAME_LIMIT);
    expect([...operations].filter((value) => value.startsWith("(")).sort()).toEqual(
      ["(anonymous)", "(invalid name)", OTHER_OPERATION].sort(),
    );
    for (const route of first.labelValues("route")) expect(route).toMatch(/^(GET|HEAD|POST|PUT) (\/([a-z]+|\{[A-Za-z]+\}))+$/);
    expect([...first.labelValues("status_class")].sort()).toEqual(["2xx", "4xx"]);

    // Operations' outcomes, and the webhooks' (every one present from the start, at 0).
    expect([...first.labelValues("outcome")].sort()).toEqual(["error", "success", ...WEBHOOK_OUTCOMES].sort());

    // More of the same (new names, new unknown companies, new customer ids) adds no series at all.
    const round2 = companies();
    await traffic(stack, 30, round2);
    const second = await scrape(`${stack.origin}/metrics`);
    expect(second.since(first, OPERATION, { operation: OTHER_OPERATION })).toBe(30);
    expect(second.gatewaySeries).toBe(first.gatewaySeries);
    const text = JSON.stringify(second.samples);
    for (const id of [...round1, ...round2, ...customerIds]) expect(text).not.toContain(id);
  });
});

describe("where /metrics is served", () => {
  it("nowhere with METRICS_ENABLED=false", async () => {
    const off = await startStack({ env: { METRICS_ENABLED: "false" } });
    try {
      expect(off.gateway.metricsUrl).toBeUndefined();
      const response = await fetch(`${off.origin}/metrics`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    } finally {
      await off.close();
    }
  });

  it("on its own port with METRICS_PORT, and not on the main one", async () => {
    const separate = await startStack({ env: { METRICS_PORT: "0" } });
    const metricsUrl = separate.gateway.metricsUrl;
    try {
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(new URL(metricsUrl!).port).not.toBe(new URL(separate.origin).port);
      await separate.graphql(PAGE("OnTheSide"), { companyId: DEMO_COMPANY_ID });
      const metrics = await scrape(metricsUrl!);
      expect(metrics.value(OPERATION, { operation: "OnTheSide", outcome: "success" })).toBe(1);
      expect((await fetch(`${separate.origin}/metrics`)).status).toBe(404);
      expect((await fetch(new URL("/graphql", metricsUrl))).status).toBe(404);
    } finally {
      await separate.close();
    }
    await expect(fetch(metricsUrl!)).rejects.toThrow();
  });
});
