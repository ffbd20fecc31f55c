/**
 * Download links answer CORS for CORS_ORIGINS (issue 29): a browser app on an allowed origin can fetch() a link
 * (GET and HEAD) and read its Content-Disposition; a preflight (a fetch with an Authorization header) is
 * answered; other origins get no access. And /graphql allows the tracing headers browser SDKs add
 * (`baggage`, `sentry-trace`).
 */
import { describe, expect, it } from "vitest";
import { ATTACHMENT_CUSTOMER_ID, DEMO_COMPANY_ID, DEMO_CONNECTION_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";

const ALLOWED = "https://app.example.com";
const OTHER = "https://evil.example";

const stack = useStack({ env: { CORS_ORIGINS: ALLOWED } });

async function downloadUrl(): Promise<string> {
  const result = await stack.graphql<{ customer: { attachments: { downloadUrl: string }[] } }>(
    `query($id: ID!) { customer(companyId: "${DEMO_COMPANY_ID}", customerId: $id) { attachments(connectionId: "${DEMO_CONNECTION_ID}") { downloadUrl } } }`,
    { id: ATTACHMENT_CUSTOMER_ID },
  );
  expect(result.errors).toBeUndefined();
  const url = result.data!.customer.attachments[0]?.downloadUrl;
  expect(url).toBeTruthy();
  return url!;
}

describe("GET/HEAD /downloads/<token> and CORS", () => {
  it("answers an allowed origin with its origin echoed and Content-Disposition exposed, on GET and HEAD", async () => {
    const url = await downloadUrl();
    for (const method of ["GET", "HEAD"]) {
      const response = await fetch(url, { method, headers: { origin: ALLOWED } });
      expect(response.status, method).toBe(200);
      expect(response.headers.get("access-control-allow-origin"), method).toBe(ALLOWED);
      expect(response.headers.get("vary") ?? "", method).toMatch(/origin/i);
      const exposed = (response.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/,\s*/);
      expect(exposed, method).toEqual(expect.arrayContaining(["content-disposition", "content-length", "content-type"]));
      expect(response.headers.get("content-disposition"), method).toMatch(/^attachment/);
      await response.arrayBuffer();
    }
  });

  it("gives another origin no access (no allow-origin header), though the link itself still works", async () => {
    const response = await fetch(await downloadUrl(), { headers: { origin: OTHER } });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("vary") ?? "").toMatch(/origin/i);
    await response.arrayBuffer();
  });

  it("answers a preflight (a fetch with Authorization) from an allowed origin with 204, and 403 otherwise, with no Codat call", async () => {
    const url = await downloadUrl();
    stack.resetUpstream();
    const preflight = (origin: string, method = "GET") =>
      fetch(url, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": method, "access-control-request-headers": "authorization" },
      });
    const ok = await preflight(ALLOWED);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect((ok.headers.get("access-control-allow-methods") ?? "").split(/,\s*/)).toEqual(["GET", "HEAD"]);
    expect((ok.headers.get("access-control-allow-headers") ?? "").toLowerCase()).toContain("authorization");

    for (const [origin, method] of [
      [OTHER, "GET"],
      [ALLOWED, "DELETE"],
    ] as const) {
      const refused = await preflight(origin, method);
      expect(refused.status, `${origin} ${method}`).toBe(403);
      expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    }
    expect(stack.upstream()).toHaveLength(0);
  });

  it("a refused link still carries CORS for an allowed origin, so the app can read the error", async () => {
    const response = await fetch(new URL("/downloads/not-a-token", stack.origin), { headers: { origin: ALLOWED } });
    expect(response.status).toBe(403);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
  });
});

describe("/graphql preflight", () => {
  it("allows the tracing headers browser SDKs add: baggage and sentry-trace", async () => {
    const response = await fetch(stack.url, {
      method: "OPTIONS",
      headers: {
        origin: ALLOWED,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, baggage, sentry-trace",
      },
    });
    expect(response.status).toBe(204);
    const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(["baggage", "sentry-trace", "traceparent", "content-type"]));
  });
});
