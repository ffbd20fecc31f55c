/**
 * The access line: exactly one per request, however it ended (completed, refused, or its client gone mid-way),
 * and the request id echoed on every response, the download route's included (it writes Node's response itself).
 */
import { request, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ATTACHMENT_CUSTOMER_ID, DEMO_COMPANY_ID, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID } from "codat-simulator";
import { createLogger } from "../../src/observability/logger.js";
import { attachmentRecord, downloadUrlOf } from "../helpers/downloads.js";
import { memoryDestination, type LogLine } from "../helpers/logs.js";
import { startStack, type Stack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

const PAGE = `query CustomerPage($companyId: ID!) { customers(companyId: $companyId, first: 2) { totalCount } }`;

describe("access lines", () => {
  const destination = memoryDestination();
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: { SIGNING_SECRET: "access-log-test-signing-secret-0123456789" },
      logger: createLogger({ level: "info", pretty: false, secrets: [], destination }),
    });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.simulator.clearFaults();
    stack.resetUpstream();
  });

  const accessLines = (requestId: string): LogLine[] =>
    destination.lines().filter((line) => line.requestId === requestId && line.msg === "request");

  /**
   * The one access line of `requestId`. Lines are written in order, so once a later request's line is there
   * (a /healthz sent after this one's line appeared), a second line of this request would have been too.
   */
  async function onlyAccessLine(requestId: string): Promise<LogLine> {
    await waitFor(() => accessLines(requestId).length > 0);
    const marker = `${requestId}-after`;
    await fetch(`${stack.origin}/healthz`, { headers: { "x-request-id": marker } });
    await waitFor(() => accessLines(marker).length > 0);
    const lines = accessLines(requestId);
    expect(lines).toHaveLength(1);
    return lines[0]!;
  }

  /** A GET that stops reading (and closes its connection) after the first body bytes. */
  function getAndGoAway(url: string, requestId: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { "x-request-id": requestId } }, (response) => {
        response.once("data", () => {
          req.destroy();
          resolve(response);
        });
      });
      req.on("error", (error) => {
        if (!req.destroyed) reject(error);
      });
      req.end();
    });
  }

  it("echoes x-request-id on a download, its refusal and its upstream error, as on /graphql", async () => {
    const small = await downloadUrlOf(stack, attachmentRecord(stack, ATTACHMENT_CUSTOMER_ID));
    const served = await fetch(small, { headers: { "x-request-id": "dl-echo-200" } });
    expect(served.status).toBe(200);
    await served.arrayBuffer();
    expect(served.headers.get("x-request-id")).toBe("dl-echo-200");

    const refused = await fetch(`${stack.origin}/downloads/not-a-valid-token`, { headers: { "x-request-id": "dl-echo-403" } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("x-request-id")).toBe("dl-echo-403");

    stack.simulator.injectFault({ kind: "status", status: 404, path: /\/download$/ });
    const missing = await fetch(small, { headers: { "x-request-id": "dl-echo-404" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toBe("dl-echo-404");
    stack.simulator.clearFaults();

    const generated = await fetch(small);
    await generated.arrayBuffer();
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("writes one access line per download", async () => {
    const url = await downloadUrlOf(stack, attachmentRecord(stack, ATTACHMENT_CUSTOMER_ID));
    const response = await fetch(url, { headers: { "x-request-id": "dl-one-line" } });
    await response.arrayBuffer();
    expect(await onlyAccessLine("dl-one-line")).toMatchObject({
      level: "info",
      method: "GET",
      route: "/downloads/:token",
      status: 200,
      durationMs: expect.any(Number),
    });
    expect(await onlyAccessLine("dl-one-line")).not.toHaveProperty("incomplete");
  });

  it("writes one access line for a download whose client went away mid-way, saying so", async () => {
    const url = await downloadUrlOf(stack, attachmentRecord(stack, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID));
    const response = await getAndGoAway(url, "dl-gone");
    expect(response.statusCode).toBe(200);
    expect(await onlyAccessLine("dl-gone")).toMatchObject({
      level: "info",
      route: "/downloads/:token",
      status: 200,
      incomplete: "client_gone",
    });
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
    // The client's doing, not a failure: nothing about it above info.
    const others = destination.lines().filter((l) => l.requestId === "dl-gone" && l.msg !== "request");
    expect(others.filter((l) => l.level === "warn" || l.level === "error" || l.level === "fatal")).toEqual([]);
  });

  it("writes one access line for a /graphql request whose client went away before the answer, status 499", async () => {
    stack.simulator.injectFault({ kind: "hang", path: /\/data\/customers$/ });
    const controller = new AbortController();
    const pending = fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "gql-gone" },
      body: JSON.stringify({ query: PAGE, variables: { companyId: DEMO_COMPANY_ID } }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    // Go away once Codat has the request (it never answers).
    await waitFor(() => stack.upstream().some((call) => call.path.endsWith("/data/customers")));
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    const line = await onlyAccessLine("gql-gone");
    expect(line).toMatchObject({ level: "info", method: "POST", route: "/graphql", status: 499, incomplete: "client_gone" });
    // Nothing about it above info: a client going away is routine.
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
    const others = destination.lines().filter((l) => l.requestId === "gql-gone" && l.msg !== "request");
    expect(others.filter((l) => l.level === "warn" || l.level === "error" || l.level === "fatal")).toEqual([]);
  });

  it("writes one access line for a /graphql request answered in full, without `incomplete`", async () => {
    const response = await stack.graphql(PAGE, { companyId: DEMO_COMPANY_ID }, { "x-request-id": "gql-done" });
    expect(response.status).toBe(200);
    const line = await onlyAccessLine("gql-done");
    expect(line).toMatchObject({ route: "/graphql", status: 200, operation: "CustomerPage" });
    expect(line).not.toHaveProperty("incomplete");
  });
});
