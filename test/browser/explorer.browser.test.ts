// The offline GraphiQL explorer (GET /graphiql, src/http/explorer.ts) in a real Chromium, against the built bundle
// (npm run test:browser builds first) and a gateway on the embedded simulator: it loads with no request leaving
// loopback and no Content-Security-Policy violation, sends the headers editor's headers, runs a query typed into the
// editor, and runs `pushOperationUpdated` over graphql-ws after a `createCustomer` run in it too. Both clocks are
// manual (as in test/subscriptions/): the simulator's decides when the push completes, the gateway's when it polls.
// Screenshots and the page's figures (requests, bytes) go to test-results/ (git-ignored), CI's artifacts.
import { mkdirSync, writeFileSync } from "node:fs";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ManualClock } from "codat-simulator";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/chromium.js";
import { waitFor, waitForValue } from "../helpers/wait.js";
import { startSubscriptionStack, type SubscriptionStack } from "../subscriptions/support.js";

const ARTIFACTS = new URL("../../test-results/", import.meta.url);
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
/** A page rendering on a busy two-core machine: a generous bound for what will happen (Playwright's own is 30 s). */
const PATIENCE = { timeoutMs: 30_000 };

/** What the page did: every request and WebSocket it opened, and every CSP violation it reported. */
interface Observed {
  requests: { url: string; method: string }[];
  sockets: string[];
  cspViolations: string[];
  responseBytes: number;
}

function observe(page: Page): Observed {
  const observed: Observed = { requests: [], sockets: [], cspViolations: [], responseBytes: 0 };
  page.on("request", (request) => observed.requests.push({ url: request.url(), method: request.method() }));
  page.on("websocket", (socket) => observed.sockets.push(socket.url()));
  page.on("requestfinished", (request) => {
    void request.sizes().then((sizes) => (observed.responseBytes += sizes.responseBodySize + sizes.responseHeadersSize));
  });
  // Chromium reports each violation on the console too ("Refused to … because it violates … Content Security Policy").
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) observed.cspViolations.push(message.text());
  });
  return observed;
}

/** Runs in the page before its own scripts (Playwright injects it; the page's CSP does not apply to it). */
const COUNT_VIOLATIONS = `
  window.cspViolations = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
  });
`;

/** What the page's `securitypolicyviolation` listener collected. */
const violationsIn = (page: Page): Promise<string[]> =>
  page.evaluate(() => (globalThis as unknown as { cspViolations: string[] }).cspViolations);

/** The text of one of GraphiQL's CodeMirror 5 editors (the instance hangs on its wrapper element). */
async function editorValue(page: Page, selector: string): Promise<string> {
  return page
    .locator(`${selector} .CodeMirror`)
    .first()
    .evaluate((element) => {
      const editor = (element as unknown as { CodeMirror?: { getValue(): string } }).CodeMirror;
      return editor?.getValue() ?? "";
    });
}

/**
 * Replaces the query editor's text the way a user does: click, select all, type (as text input: no auto-closed
 * brackets). GraphiQL reads the operation's name from the text a moment later (its tab shows it): a run before that
 * would send the old name.
 */
async function typeOperation(page: Page, name: string, text: string): Promise<void> {
  await page.locator(".graphiql-query-editor .CodeMirror").click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.insertText(text);
  await page.locator(".graphiql-session-header .graphiql-tab-button").getByText(name, { exact: true }).waitFor();
}

/** The response pane's JSON once it holds something that passes `ready` (on timeout, the error shows what it held). */
async function response<T>(page: Page, ready: (parsed: T) => boolean): Promise<T> {
  let last = "";
  try {
    return await waitForValue(async () => {
      last = await editorValue(page, ".graphiql-response");
      try {
        const parsed = JSON.parse(last) as T;
        return ready(parsed) ? parsed : undefined;
      } catch {
        return undefined; // empty, or still streaming in
      }
    }, PATIENCE);
  } catch (error) {
    throw new Error(`the response pane holds ${JSON.stringify(last)}`, { cause: error });
  }
}

function countBy(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

describe("GraphiQL explorer", () => {
  const simulatorClock = new ManualClock();
  let stack: SubscriptionStack;
  let gatewayClock: ManualClock;
  let browser: Browser;
  let page: Page;
  let observed: Observed;
  /** The page load's share of what was observed (requests, bytes on the wire), for the figures in test-results/. */
  let load = { requests: 0, transferredBytes: 0 };
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startSubscriptionStack({
      simulator: { clock: simulatorClock, pushDelayMs: 300 },
      env: { PUSH_STATUS_POLL_INTERVAL_MS: "500", PUSH_STATUS_POLL_MAX_INTERVAL_MS: "2000", PUSH_STATUS_MAX_WAIT_MS: "600000" },
      gatewayClock: true,
    });
    gatewayClock = stack.clock!;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.addInitScript({ content: COUNT_VIOLATIONS });
    observed = observe(page);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("loads from the gateway alone, under its Content-Security-Policy", async () => {
    const explorer = new URL("/graphiql", stack.url).href;
    const answer = await page.goto(explorer);
    expect(answer?.status()).toBe(200);
    expect(answer?.headers()["content-security-policy"]).toContain("script-src 'self'");
    // The schema arrives (introspection over HTTP), and the documentation explorer can show it.
    await page.locator(".graphiql-query-editor .CodeMirror").waitFor();
    await waitFor(() => observed.requests.some((request) => request.method === "POST" && request.url.endsWith("/graphql")), PATIENCE);
    await page.waitForLoadState("networkidle");
    const hosts = new Set(observed.requests.map((request) => new URL(request.url).host));
    expect([...hosts].every((host) => LOOPBACK.has(new URL(`http://${host}`).hostname))).toBe(true);
    expect(await violationsIn(page)).toEqual([]);
    expect(observed.cspViolations).toEqual([]);
    await page.screenshot({ path: new URL("explorer-loaded.png", ARTIFACTS).pathname });
    load = { requests: observed.requests.length, transferredBytes: observed.responseBytes };
  });

  it("runs a typed query with the headers editor's headers and the CSRF-prevention header", async () => {
    await page.locator('button[data-name="headers"]').click();
    await page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror").click();
    await page.keyboard.insertText('{"x-request-id": "explorer-test-1"}');

    await typeOperation(
      page,
      "FirstCustomers",
      `query FirstCustomers { customers(companyId: "${DEMO_COMPANY_ID}", first: 3) { totalCount nodes { customerName } } }`,
    );
    const sent = page.waitForRequest((request) => request.method() === "POST" && (request.postData() ?? "").includes("FirstCustomers"));
    await page.locator(".graphiql-execute-button").click();
    const request = await sent;
    expect(request.headers()["x-request-id"]).toBe("explorer-test-1");
    expect(request.headers()["apollo-require-preflight"]).toBe("true");
    expect((await request.response())?.headers()["x-request-id"]).toBe("explorer-test-1");

    const result = await response<{ data?: { customers: { totalCount: number; nodes: unknown[] } } }>(page, (r) => r.data !== undefined);
    expect(result.data!.customers.nodes).toHaveLength(3);
    expect(result.data!.customers.totalCount).toBeGreaterThan(3);
    await page.getByLabel(/^Prettify query/).click();
    await page.screenshot({ path: new URL("explorer-query.png", ARTIFACTS).pathname });
  });

  it("runs pushOperationUpdated over graphql-ws after a createCustomer", async () => {
    await typeOperation(
      page,
      "Create",
      `mutation Create { createCustomer(input: { companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customer: { customerName: "From GraphiQL" } }) { pushOperation { pushOperationKey status } } }`,
    );
    await page.locator(".graphiql-execute-button").click();
    const created = await response<{ data?: { createCustomer: { pushOperation: { pushOperationKey: string; status: string } } } }>(
      page,
      (r) => r.data?.createCustomer !== undefined,
    );
    const key = created.data!.createCustomer.pushOperation.pushOperationKey;
    expect(created.data!.createCustomer.pushOperation.status).toBe("PENDING");

    await typeOperation(
      page,
      "Watch",
      `subscription Watch { pushOperationUpdated(companyId: "${DEMO_COMPANY_ID}", pushOperationKey: "${key}") { pushOperationKey status } }`,
    );
    await page.locator(".graphiql-execute-button").click();
    type Update = { data?: { pushOperationUpdated: { status: string } } };
    await response<Update>(page, (r) => r.data?.pushOperationUpdated.status === "PENDING");
    expect(observed.sockets.map((url) => new URL(url).pathname)).toEqual(["/graphql"]);

    // The push completes upstream; the gateway's next poll reads it and the explorer shows it.
    simulatorClock.advance(300);
    const before = stack.pushReads(key);
    const delay = await waitForValue(() => gatewayClock.pendingDelays().find((ms) => ms <= 2_000), PATIENCE);
    gatewayClock.advance(delay);
    await waitFor(() => stack.pushReads(key) > before, PATIENCE);
    await response<Update>(page, (r) => r.data?.pushOperationUpdated.status === "SUCCESS");
    await page.screenshot({ path: new URL("explorer-subscription.png", ARTIFACTS).pathname });

    // Nothing left loopback over the whole session, and the page never broke its policy.
    const hosts = [...observed.requests.map((request) => request.url), ...observed.sockets].map((url) => new URL(url).hostname);
    expect(hosts.filter((host) => !LOOPBACK.has(host))).toEqual([]);
    expect(await violationsIn(page)).toEqual([]);
    expect(observed.cspViolations).toEqual([]);
    writeFileSync(
      new URL("explorer.json", ARTIFACTS),
      `${JSON.stringify(
        {
          load,
          requests: observed.requests.length,
          requestsByPath: countBy(observed.requests.map((request) => new URL(request.url).pathname.replace(/-[\w-]+\./, "-<hash>."))),
          webSockets: observed.sockets.length,
          transferredBytes: observed.responseBytes,
        },
        null,
        2,
      )}\n`,
    );
  });

  it("is linked from the Sandbox landing page, also when Apollo's CDN is out of reach", async () => {
    const sandbox = await browser.newPage();
    // Offline, as on a train: whatever is not loopback fails.
    await sandbox.route(
      (url) => !LOOPBACK.has(url.hostname),
      (route) => route.abort("internetdisconnected"),
    );
    await sandbox.goto(new URL("/graphql", stack.url).href);
    const link = sandbox.getByRole("link", { name: "Offline explorer: GraphiQL" });
    await link.waitFor({ state: "visible" });
    await sandbox.screenshot({ path: new URL("sandbox-offline.png", ARTIFACTS).pathname });
    await link.click();
    await sandbox.waitForURL((url) => url.pathname === "/graphiql");
    await sandbox.locator(".graphiql-query-editor .CodeMirror").waitFor();
    await sandbox.close();
  });
});
