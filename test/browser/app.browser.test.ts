/**
 * The reference frontend (examples/web), built, in a real Chromium against a gateway on the simulator: the app and
 * the gateway share an origin through test/browser/app-server.ts. Each step writes a screenshot to
 * test-results/app/ (git-ignored, kept by CI) and its duration to test-results/app/timings.json; durations are
 * reported, never asserted. Push completion follows the simulator's manual clock, so nothing here sleeps.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ATTACHMENT_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  ManualClock,
  SECOND_COMPANY_ID,
  attachmentSha256,
  type RecordedRequest,
} from "codat-simulator";
import { launchChromium } from "../helpers/chromium.js";
import { attachmentRecord } from "../helpers/downloads.js";
import { useStack, type Stack } from "../helpers/stack.js";
import { jwtEnv, mint } from "../security/support.js";
import { APP_MANIFEST, startAppServer, type AppServer } from "./app-server.js";

const OUT = path.resolve("test-results/app");
const PUSH_DELAY_MS = 1_000;
/** The app's page size (examples/web/src/components/CustomerList.tsx). */
const PAGE_SIZE = 20;
const timings: { step: string; ms: number }[] = [];
/** How long a condition may take to hold on a busy machine (a bound, not a measurement). */
const WAIT = { timeout: 20_000 };

let browser: Browser;
beforeAll(async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  writeFileSync(path.join(OUT, "timings.json"), JSON.stringify(timings, null, 2) + "\n");
});

/** Runs one step, then screenshots the page as `<name>.png`; its duration goes to timings.json. */
async function step(page: Page, name: string, run: () => Promise<void>): Promise<void> {
  const started = performance.now();
  await run();
  timings.push({ step: name, ms: Math.round(performance.now() - started) });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

/** Codat list calls for the company's customers (a lookup by id, `id=…`, is not one). */
function listCalls(stack: Stack): RecordedRequest[] {
  return stack
    .upstream()
    .filter((r) => r.method === "GET" && /\/companies\/[^/]+\/data\/customers$/.test(r.path) && !/^\{?id=/.test(r.query["query"] ?? ""));
}

/** The app served with a gateway started on its origin (PUBLIC_URL), with env on top. */
function useApp(env: () => Record<string, string> = () => ({}), clock?: ManualClock): { stack: Stack; app: () => AppServer } {
  let app: AppServer | undefined;
  beforeAll(async () => {
    app = await startAppServer();
  });
  const stack = useStack(() => ({
    simulator: { pushDelayMs: PUSH_DELAY_MS, ...(clock ? { clock } : {}) },
    env: { PUBLIC_URL: app!.origin, PUSH_STATUS_POLL_INTERVAL_MS: "50", PUSH_STATUS_POLL_MAX_INTERVAL_MS: "200", ...env() },
  }));
  beforeAll(() => {
    app!.gateway = new URL(stack.url);
  });
  afterAll(async () => {
    await app?.close();
  });
  return { stack, app: () => app! };
}

const rows = (page: Page) => page.locator('[data-testid="customers"] li button');

describe("reference app", () => {
  const clock = new ManualClock();
  const { stack, app } = useApp(() => ({}), clock);
  let page: Page;
  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  });
  afterAll(async () => {
    await page?.close();
  });

  it("shows the first page, and scrolling loads the next one with one Codat list call per page", async () => {
    await step(page, "01-first-page", async () => {
      await page.goto(`${app().origin}/?company=${DEMO_COMPANY_ID}`);
      await expect.poll(() => rows(page).count(), WAIT).toBe(PAGE_SIZE);
    });
    expect(listCalls(stack)).toHaveLength(1);
    await step(page, "02-scrolled", async () => {
      // As a user scrolls: the wheel over the list.
      await page.locator('[data-testid="customers"]').hover();
      await page.mouse.wheel(0, 10_000);
      await expect.poll(() => rows(page).count(), WAIT).toBe(2 * PAGE_SIZE);
    });
    expect(listCalls(stack)).toHaveLength(2);
    expect(listCalls(stack).map((r) => r.query["page"])).toEqual(["1", "2"]);
  });

  let attachmentCustomerName = "";
  it("searches, opens a customer and shows its contacts, addresses and attachments", async () => {
    const name = (attachmentCustomerName = (
      await stack.graphql<{ customer: { customerName: string } }>(
        `query($c: ID!, $id: ID!) { customer(companyId: $c, customerId: $id) { customerName } }`,
        {
          c: DEMO_COMPANY_ID,
          id: ATTACHMENT_CUSTOMER_ID,
        },
      )
    ).data!.customer.customerName);
    await step(page, "03-customer-detail", async () => {
      await page.getByLabel("Search by name").fill(name);
      await page.getByLabel("Search by name").press("Enter");
      await page.locator('[data-testid="customers"] li button', { hasText: name }).first().click();
      await expect.poll(() => page.locator('[data-testid="attachments"] li a').count(), WAIT).toBeGreaterThan(0);
    });
    expect(await page.locator('[data-testid="customer-detail"] h2').textContent()).toBe(name);
    expect(await page.locator('[data-testid="contacts"] li').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="addresses"] li').count()).toBeGreaterThan(0);
    // The read cache's freshness, as the app shows it ("as of" the time the gateway read it from Codat).
    expect(await page.locator('[data-testid="freshness"]').textContent()).toMatch(/^as of \d{4}-\d{2}-\d{2}T/);
    const searched = listCalls(stack).find((r) => r.query["query"]?.startsWith("customerName~"));
    expect(searched?.query["query"]).toBe(`customerName~${name}`);
  });

  it("downloads an attachment whose bytes match the simulator's sha256", async () => {
    const link = page.locator('[data-testid="attachments"] li a').first();
    const href = await link.getAttribute("href");
    expect(new URL(href!).origin).toBe(app().origin);
    let digest = "";
    await step(page, "04-downloaded", async () => {
      const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
      digest = createHash("sha256")
        .update(readFileSync(await download.path()))
        .digest("hex");
    });
    // The one file the simulator served for that click.
    const served = stack.simulator.downloads.at(-1)!;
    expect(served.completed).toBe(true);
    const wanted = await attachmentSha256(attachmentRecord(stack, ATTACHMENT_CUSTOMER_ID, served.attachmentId));
    expect(digest).toBe(wanted);
  });

  it("checks the model's required fields before sending anything", async () => {
    await page.getByRole("button", { name: "New customer" }).click();
    const form = page.locator('[data-testid="customer-form"]');
    await form.locator('[data-field="customerName"] input').waitFor();
    stack.resetUpstream();
    await form.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => form.locator('[data-field="customerName"] .field-error').textContent(), WAIT).toMatch(/required/);
    expect(stack.upstream().filter((r) => r.method === "POST")).toEqual([]);
  });

  it("creates a customer: PENDING, then SUCCESS live, and the list gains it without a reload or a list refetch", async () => {
    const name = `Browser ${randomUUID().slice(0, 8)}`;
    const form = page.locator('[data-testid="customer-form"]');
    const status = form.locator('[data-testid="push-status"]');
    await page.evaluate(() => Object.assign(globalThis, { sameDocument: true }));
    await page.getByLabel("Search by name").fill("");
    await page.getByLabel("Search by name").press("Enter");
    await expect.poll(() => rows(page).count(), WAIT).toBeGreaterThanOrEqual(PAGE_SIZE);
    await step(page, "05-push-pending", async () => {
      await form.locator('[data-field="customerName"] input').fill(name);
      await form.getByRole("button", { name: "Create" }).click();
      await expect.poll(() => status.getAttribute("data-status"), WAIT).toBe("PENDING");
    });
    stack.resetUpstream();
    await step(page, "06-push-success", async () => {
      clock.advance(PUSH_DELAY_MS);
      await expect.poll(() => status.getAttribute("data-status"), WAIT).toBe("SUCCESS");
      await page.locator('[data-testid="customers"] li button', { hasText: name }).waitFor();
    });
    expect(await page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument)).toBe(true);
    // The new customer was read once by id; no page of the list was fetched again.
    expect(listCalls(stack)).toEqual([]);
  });

  it("shows Codat's validation message on the field it names", async () => {
    const form = page.locator('[data-testid="customer-form"]');
    await form.locator('[data-field="customerName"] input').fill("N".repeat(120));
    await form.getByRole("button", { name: "Create" }).click();
    const status = form.locator('[data-testid="push-status"]');
    await expect.poll(() => status.getAttribute("data-status"), WAIT).toBe("PENDING");
    await step(page, "07-validation-failed", async () => {
      clock.advance(PUSH_DELAY_MS);
      await expect
        .poll(() => form.locator('[data-field="customerName"] .field-error').textContent(), WAIT)
        .toMatch(/^CustomerName must be at most 100 characters/);
    });
    expect(await status.getAttribute("data-status")).toBe("FAILED");
  });

  it("edits a customer: the whole record is sent back with its addresses and contacts, and the detail shows the change", async () => {
    await page.getByRole("button", { name: "Close" }).click();
    await page.getByLabel("Search by name").fill(attachmentCustomerName);
    await page.getByLabel("Search by name").press("Enter");
    await page.locator('[data-testid="customers"] li button', { hasText: attachmentCustomerName }).first().click();
    const detail = page.locator('[data-testid="customer-detail"]');
    await detail.locator('[data-testid="addresses"] li').first().waitFor();
    const addresses = await detail.locator('[data-testid="addresses"] li').count();
    const contacts = await detail.locator('[data-testid="contacts"] li').count();
    await detail.getByRole("button", { name: "Edit" }).click();
    const form = page.locator('[data-testid="customer-form"]');
    const phone = "+44 20 7946 0958";
    await form.locator('[data-field="phone"] input').fill(phone);
    await form.getByRole("button", { name: "Save" }).click();
    const status = form.locator('[data-testid="push-status"]');
    await expect.poll(() => status.getAttribute("data-status"), WAIT).toBe("PENDING");
    const sent = JSON.parse(stack.upstream().find((r) => r.method === "PUT")!.body!) as { addresses: unknown[]; contacts: unknown[] };
    expect([sent.addresses.length, sent.contacts.length]).toEqual([addresses, contacts]);
    await step(page, "08-edited", async () => {
      clock.advance(PUSH_DELAY_MS);
      await expect.poll(() => status.getAttribute("data-status"), WAIT).toBe("SUCCESS");
      await form.getByRole("button", { name: "Close" }).click();
      await expect.poll(() => detail.textContent(), WAIT).toContain(phone);
    });
    expect(await detail.locator('[data-testid="addresses"] li').count()).toBe(addresses);
  });
});

describe("reference app with AUTH_MODE=jwt", () => {
  const { app } = useApp(() => jwtEnv());
  it("shows FORBIDDEN for a company the token does not grant", async () => {
    const token = await mint({ sub: "browser", codat_company_ids: [SECOND_COMPANY_ID] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 600 } });
    await page.addInitScript((value) => sessionStorage.setItem("gateway.token", value), token);
    await step(page, "09-forbidden", async () => {
      await page.goto(`${app().origin}/?company=${DEMO_COMPANY_ID}`);
      await page.locator('[data-code="FORBIDDEN"]').first().waitFor();
    });
    await step(page, "10-granted", async () => {
      await page.goto(`${app().origin}/?company=${SECOND_COMPANY_ID}`);
      await expect.poll(() => rows(page).count(), WAIT).toBeGreaterThan(0);
    });
    expect(await page.locator('[data-code="FORBIDDEN"]').count()).toBe(0);
    await page.close();
  });
});

describe("reference app with PERSISTED_OPERATIONS from its own manifest", () => {
  const clock = new ManualClock();
  const { stack, app } = useApp(() => ({ PERSISTED_OPERATIONS: APP_MANIFEST }), clock);
  it("runs every operation by hash, the subscription included; an edited query is refused", async () => {
    const manifest = JSON.parse(readFileSync(APP_MANIFEST, "utf8")) as Record<string, string>;
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const bodies: string[] = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/graphql") && request.method() === "POST") bodies.push(request.postData() ?? "");
    });
    const frames: string[] = [];
    page.on("websocket", (socket) => socket.on("framesent", (frame) => frames.push(String(frame.payload))));

    await step(page, "11-persisted-list", async () => {
      await page.goto(`${app().origin}/?company=${DEMO_COMPANY_ID}`);
      await expect.poll(() => rows(page).count(), WAIT).toBe(PAGE_SIZE);
    });
    const name = `Persisted ${randomUUID().slice(0, 8)}`;
    await page.getByRole("button", { name: "New customer" }).click();
    const form = page.locator('[data-testid="customer-form"]');
    await form.locator('[data-field="customerName"] input').fill(name);
    await form.getByRole("button", { name: "Create" }).click();
    const status = form.locator('[data-testid="push-status"]');
    await expect.poll(() => status.getAttribute("data-status"), WAIT).toBe("PENDING");
    await step(page, "12-persisted-push", async () => {
      clock.advance(PUSH_DELAY_MS);
      await expect.poll(() => status.getAttribute("data-status"), WAIT).toBe("SUCCESS");
      await page.locator('[data-testid="customers"] li button', { hasText: name }).waitFor();
    });

    // Hashes only: no request or subscribe message carried a document's text.
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) {
      const parsed = JSON.parse(body) as { query?: string; extensions?: { persistedQuery?: { sha256Hash?: string } } };
      expect(parsed.query).toBeUndefined();
      expect(Object.keys(manifest)).toContain(parsed.extensions?.persistedQuery?.sha256Hash);
    }
    const subscribe = frames
      .map((f) => JSON.parse(f) as { type: string; payload?: { query?: string } })
      .find((m) => m.type === "subscribe");
    expect(subscribe?.payload?.query).toBe("");

    // An edited document (one more field) from the same page: refused before it runs, and nothing reaches Codat.
    const listDocument = Object.values(manifest).find((text) => text.includes("query CustomerList("))!;
    const edited = listDocument.replace("totalCount", "totalCount __typename");
    stack.resetUpstream();
    const refused = await page.evaluate(
      async ([query, companyId]) => {
        const response = await fetch("/graphql", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query, variables: { companyId, first: 5 } }),
        });
        return { status: response.status, body: (await response.json()) as { errors?: { extensions?: { code?: string } }[] } };
      },
      [edited, DEMO_COMPANY_ID] as const,
    );
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(stack.upstream()).toEqual([]);
    await page.close();
  });
});
