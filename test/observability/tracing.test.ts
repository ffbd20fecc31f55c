/**
 * Traces as a backend would receive them: the spans of real requests through a gateway in front of the simulator,
 * collected by an in-memory exporter, checked as a tree (HTTP server span → graphql parse/validate/execute → one
 * span per Codat call → one undici client span per attempt), against the `traceparent` the simulator received.
 *
 * Tracing patches globals and must start before graphql is loaded (see src/observability/tracing.ts), so this
 * file imports the app only after `startTracing`, with a dynamic import in beforeAll; nothing imported statically
 * here loads graphql. Vitest runs each test file in a process of its own (pool "forks", isolation on), so the
 * instrumentation stays inside this file.
 *
 * The test's own requests to the gateway go out with tracing suppressed: Node's fetch publishes undici's
 * diagnostics channels too, and would otherwise parent the gateway's server span. The simulator runs in this
 * process as well, so its server spans (children of the gateway's undici spans, as Codat's own would be) are in
 * the exporter too; `gatewaySpans` leaves them out.
 */
import { context, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { startTracing, type Tracing } from "../../src/observability/tracing.js";
import { attachmentRecord, downloadUrlOf } from "../helpers/downloads.js";
import type { GraphQLResult, Stack } from "../helpers/stack.js";
import { waitForValue } from "../helpers/wait.js";

/** The simulator's demo company and a customer with an attachment (read from the package once loaded). */
let companyId: string;
let attachmentCustomerId: string;
const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;
let stack: Stack | undefined;

beforeAll(async () => {
  tracing = await startTracing({ config: parseConfig({}).tracing, exporter, spanProcessor: "simple" });
  if (tracing === undefined) throw new Error("tracing did not start with an exporter given");
  const [{ startStack }, simulator] = await Promise.all([import("../helpers/stack.js"), import("codat-simulator")]);
  companyId = simulator.DEMO_COMPANY_ID;
  attachmentCustomerId = simulator.ATTACHMENT_CUSTOMER_ID;
  stack = await startStack({ codatObservers: [tracing.codatObserver], env: { CACHE_ENABLED: "false" } });
});

afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
});

beforeEach(() => {
  stack!.simulator.clearFaults();
  stack!.resetUpstream();
  exporter.reset();
});

/** Runs the test's own client call without tracing it (see the header). */
function untraced<T>(run: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(context.active()), run);
}

function graphql<T = Record<string, unknown>>(query: string, headers?: Record<string, string>): Promise<GraphQLResult<T>> {
  return untraced(() => stack!.graphql<T>(query, undefined, headers));
}

const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const childrenOf = (spans: readonly ReadableSpan[], parent: ReadableSpan): ReadableSpan[] =>
  spans.filter((span) => parentOf(span) === idOf(parent));

/** The gateway's server span for its latest POST /graphql, once it has ended (it ends after the response is sent). */
function graphqlRequestSpan(): Promise<ReadableSpan> {
  return waitForValue(() =>
    exporter
      .getFinishedSpans()
      .findLast((span) => span.kind === SpanKind.SERVER && span.name === "POST /graphql" && span.attributes["url.path"] === "/graphql"),
  );
}

/** The ended spans of a trace that the gateway made: the simulator's server spans (children of a client span) left out. */
function gatewaySpans(traceId: string): ReadableSpan[] {
  const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
  const clients = new Set(spans.filter((span) => span.kind === SpanKind.CLIENT).map(idOf));
  return spans.filter((span) => !(span.kind === SpanKind.SERVER && clients.has(parentOf(span) ?? "")));
}

/** Once the request's span has ended, its trace: by then every span under it has ended too. */
async function traceOfLatestRequest(): Promise<{ root: ReadableSpan; spans: ReadableSpan[] }> {
  const root = await graphqlRequestSpan();
  return { root, spans: gatewaySpans(root.spanContext().traceId) };
}

function codatSpans(spans: readonly ReadableSpan[]): ReadableSpan[] {
  return spans.filter((span) => span.name.startsWith("codat "));
}

/** The W3C `traceparent` an undici span sent: version 00, its trace and span ids, sampled. */
function traceparentOf(span: ReadableSpan): string {
  return `00-${span.spanContext().traceId}-${idOf(span)}-01`;
}

describe("tracing", () => {
  it("starts nothing without an OTLP endpoint or an exporter, or when the SDK is disabled", async () => {
    const tracingOf = (env: Record<string, string>) => parseConfig(env).tracing;
    expect(await startTracing({ config: tracingOf({}) })).toBeUndefined();
    expect(
      await startTracing({ config: tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" }) }),
    ).toBeUndefined();
    expect(
      await startTracing({ config: tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_TRACES_EXPORTER: "none" }) }),
    ).toBeUndefined();
  });

  it("a page query is one trace: server span → graphql parse/validate/execute → one Codat call → one undici attempt", async () => {
    const result = await graphql(`query Page { customers(companyId: "${companyId}", first: 5) { edges { node { id } } } }`);
    expect(result.errors).toBeUndefined();
    const { root, spans } = await traceOfLatestRequest();

    expect(root.parentSpanContext).toBeUndefined();
    expect(root.attributes["http.route"]).toBe("/graphql");
    expect(root.attributes["http.response.status_code"]).toBe(200);

    const graphqlSpans = childrenOf(spans, root);
    expect(graphqlSpans.map((span) => span.name).sort()).toEqual(["graphql.parse", "graphql.validate", "query Page"]);
    expect(spans.some((span) => span.name === "graphql.resolve")).toBe(false);
    const execute = graphqlSpans.find((span) => span.name === "query Page")!;

    const [codat, ...moreCodat] = codatSpans(spans);
    expect(moreCodat).toEqual([]);
    expect(codat!.name).toBe("codat GET /companies/{companyId}/data/customers");
    expect(parentOf(codat!)).toBe(idOf(execute));
    expect(codat!.kind).toBe(SpanKind.INTERNAL);
    expect(codat!.attributes).toMatchObject({ "codat.attempts": 1, "http.response.status_code": 200 });
    expect(codat!.status.code).not.toBe(SpanStatusCode.ERROR);

    const attempts = childrenOf(spans, codat!);
    expect(attempts).toHaveLength(1);
    const undici = attempts[0]!;
    expect(undici.kind).toBe(SpanKind.CLIENT);
    expect(undici.instrumentationScope.name).toBe("@opentelemetry/instrumentation-undici");
    expect(undici.attributes["url.path"]).toBe(`/companies/${companyId}/data/customers`);
    expect(childrenOf(spans, undici)).toEqual([]);

    // What Codat received: the trace's id, with the undici attempt as the parent.
    const upstream = stack!.upstream();
    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.headers["traceparent"]).toBe(traceparentOf(undici));
    expect(undici.spanContext().traceId).toBe(root.spanContext().traceId);
  });

  it("customer(…) and node(id:) lookups batched into one Codat list call are one Codat span, its filter redacted", async () => {
    const page = await graphql<{ customers: { nodes: { id: string; customerId: string }[] } }>(
      `{ customers(companyId: "${companyId}", first: 3) { nodes { id customerId } } }`,
    );
    const [first, second, third] = page.data!.customers.nodes;
    stack!.resetUpstream();
    exporter.reset();

    const result = await graphql<Record<string, { customerId?: string; id?: string } | null>>(`query ById {
      a: customer(companyId: "${companyId}", customerId: "${first!.customerId}") { customerId }
      b: customer(companyId: "${companyId}", customerId: "${second!.customerId}") { customerId }
      c: node(id: "${third!.id}") { id }
    }`);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ a: { customerId: first!.customerId }, b: { customerId: second!.customerId }, c: { id: third!.id } });
    const { root, spans } = await traceOfLatestRequest();

    const upstream = stack!.upstream();
    expect(upstream).toHaveLength(1);
    expect(upstream[0]!.query["query"]).toContain(first!.customerId);

    const [codat, ...moreCodat] = codatSpans(spans);
    expect(moreCodat).toEqual([]);
    expect(codat!.name).toBe("codat GET /companies/{companyId}/data/customers");
    expect(parentOf(codat!)).toBe(idOf(childrenOf(spans, root).find((span) => span.name === "query ById")!));
    const [undici, ...moreAttempts] = childrenOf(spans, codat!);
    expect(moreAttempts).toEqual([]);
    expect(upstream[0]!.headers["traceparent"]).toBe(traceparentOf(undici!));

    // The id filter is redacted; nothing the gateway recorded names the customers looked up.
    expect(undici!.attributes["url.query"]).toMatch(/(?:^\?|&)query=REDACTED(?:&|$)/);
    expect(undici!.attributes["url.full"]).toContain("query=REDACTED");
    const recorded = JSON.stringify(spans.map((span) => [span.name, span.attributes, span.events]));
    for (const customer of [first!, second!, third!]) {
      expect(recorded).not.toContain(customer.customerId);
      expect(recorded).not.toContain(customer.id);
    }
  });

  it("a retried call is one Codat span with an undici span per attempt, each the traceparent Codat saw for it", async () => {
    stack!.simulator.injectFault({ kind: "status", status: 503, headers: { "retry-after": "0" }, path: /\/data\/customers$/ });
    const result = await graphql(`query Retried { customers(companyId: "${companyId}", first: 1) { nodes { id } } }`);
    expect(result.errors).toBeUndefined();
    const { spans } = await traceOfLatestRequest();

    const [codat, ...moreCodat] = codatSpans(spans);
    expect(moreCodat).toEqual([]);
    expect(codat!.attributes).toMatchObject({ "codat.attempts": 2, "http.response.status_code": 200 });
    expect(codat!.events.map((event) => event.name)).toEqual(["codat.retry"]);
    const attempts = childrenOf(spans, codat!).sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    expect(attempts.map((span) => span.attributes["http.response.status_code"])).toEqual([503, 200]);
    expect(stack!.upstream().map((request) => request.headers["traceparent"])).toEqual(attempts.map(traceparentOf));
  });

  it("a failed call carries Codat's correlationId and the error code", async () => {
    const correlationId = "trace-test-0123456789abcdef";
    stack!.simulator.injectFault({
      kind: "status",
      status: 500,
      headers: { "retry-after": "0" },
      body: {
        statusCode: 500,
        service: "PublicApi",
        error: "Internal error",
        correlationId,
        canBeRetried: "Unknown",
        detailedErrorCode: 0,
      },
      path: /\/data\/customers$/,
      times: Infinity,
    });
    const result = await graphql(`query Failing { customers(companyId: "${companyId}", first: 1) { nodes { id } } }`);
    const code = result.errors?.[0]?.extensions?.["code"];
    expect(typeof code).toBe("string");
    const { spans } = await traceOfLatestRequest();

    const [codat, ...moreCodat] = codatSpans(spans);
    expect(moreCodat).toEqual([]);
    expect(codat!.attributes).toMatchObject({
      "codat.correlation_id": correlationId,
      "error.type": code,
      "http.response.status_code": 500,
    });
    expect(codat!.status).toEqual({ code: SpanStatusCode.ERROR, message: code });
    const attempts = childrenOf(spans, codat!);
    expect(attempts.length).toBe(codat!.attributes["codat.attempts"]);
    expect(attempts.length).toBe(stack!.upstream().length);
  });

  it("continues a caller's trace from its traceparent", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    await graphql(`{ customers(companyId: "${companyId}", first: 1) { nodes { id } } }`, { traceparent: `00-${traceId}-${parentId}-01` });
    const root = await graphqlRequestSpan();
    expect(root.spanContext().traceId).toBe(traceId);
    expect(parentOf(root)).toBe(parentId);
  });

  it("a download is one trace named by its route, the link's token in no attribute", async () => {
    const url = await untraced(() => downloadUrlOf(stack!, attachmentRecord(stack!, attachmentCustomerId)));
    const token = new URL(url).pathname.split("/").pop()!;
    exporter.reset();
    const response = await untraced(() => fetch(url));
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    const root = await waitForValue(() =>
      exporter.getFinishedSpans().find((span) => span.kind === SpanKind.SERVER && span.parentSpanContext === undefined),
    );
    expect(root.name).toBe("GET /downloads/{token}");
    expect(root.attributes["url.path"]).toBe("/downloads/{token}");

    const spans = gatewaySpans(root.spanContext().traceId);
    const [codat, ...moreCodat] = codatSpans(spans);
    expect(moreCodat).toEqual([]);
    expect(codat!.name).toBe(
      "codat GET /companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments/{attachmentId}/download",
    );
    expect(parentOf(codat!)).toBe(idOf(root));
    expect(childrenOf(spans, codat!)).toHaveLength(1);
    expect(JSON.stringify(spans.map((span) => [span.name, span.attributes]))).not.toContain(token);
  });

  it("does not trace /healthz", async () => {
    const health = await untraced(() => fetch(new URL("/healthz", stack!.origin)));
    expect(health.status).toBe(200);
    await health.arrayBuffer();
    // A traced request after it: its span has ended, and the probe's (had it been traced) before it.
    await graphql(`{ customers(companyId: "${companyId}", first: 1) { nodes { id } } }`);
    await graphqlRequestSpan();
    expect(
      exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.SERVER && span.attributes["url.path"] === "/healthz"),
    ).toEqual([]);
  });
});
