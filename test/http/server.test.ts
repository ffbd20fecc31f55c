import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { startStack, useStack } from "../helpers/stack.js";

describe("HTTP routes", () => {
  const stack = useStack();

  it("answers liveness and readiness", async () => {
    expect((await fetch(`${stack.origin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
  });

  it("shows the Apollo Sandbox landing page to a browser outside production", async () => {
    const response = await fetch(stack.url, { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(await response.text()).toContain("sandbox");
  });

  it("serves GraphQL over GET for queries", async () => {
    const query = encodeURIComponent(`{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }`);
    const response = await fetch(`${stack.url}?query=${query}`, { headers: { "apollo-require-preflight": "true" } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: unknown }).data).toMatchObject({ customers: { totalCount: expect.any(Number) } });
  });

  it("rejects bad bodies with clear statuses and keeps serving", async () => {
    const invalid = await fetch(stack.url, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(invalid.status).toBe(400);
    const huge = await fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ __typename }`, padding: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    const missing = await fetch(`${stack.origin}/nope`);
    expect(missing.status).toBe(404);
    const ok = await stack.graphql(`{ __typename }`);
    expect(ok.data).toEqual({ __typename: "Query" });
  });

  it("returns validation errors with a code", async () => {
    const result = await stack.graphql(`{ customers(companyId: "${DEMO_COMPANY_ID}") { nope } }`);
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});

describe("production mode", () => {
  const stack = useStack({ env: { NODE_ENV: "production", AUTH_MODE: "none" } });

  it("turns off introspection and the landing page", async () => {
    const page = await fetch(stack.url, { headers: { accept: "text/html" } });
    expect(await page.text()).not.toContain("sandbox");
    const introspection = await stack.graphql(`{ __schema { types { name } } }`);
    expect(introspection.errors?.[0]?.extensions?.["code"]).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("carries no stack traces", async () => {
    const result = await stack.graphql(`{ customer(companyId: "nope", customerId: "x") { customerId } }`);
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(result.text).not.toContain("stacktrace");
  });
});

describe("graceful shutdown", () => {
  it("lets an in-flight request finish, then stops", async () => {
    const stack = await startStack({ simulator: { latencyMs: 400 } });
    const inFlight = stack.graphql(`{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }`);
    // Stop once Codat has the request (the simulator holds its answer for 400 ms).
    await waitFor(() => stack.upstream().length === 1);
    const stopping = stack.gateway.stop();
    const result = await inFlight;
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    await stopping;
    await expect(fetch(`${stack.origin}/healthz`)).rejects.toThrow();
    await stack.simulator.close();
  });
});
