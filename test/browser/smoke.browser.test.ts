// The browser tier's own check: the system's Chromium starts, reaches a gateway on loopback and runs a GraphQL
// request from a page's script (fetch with the CSRF-safe content type), with no request leaving loopback.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/chromium.js";
import { useStack } from "../helpers/stack.js";

describe("Chromium", () => {
  const stack = useStack();
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("runs a query against the gateway from a page on its origin", async () => {
    const page = await browser.newPage();
    const hosts = new Set<string>();
    page.on("request", (request) => hosts.add(new URL(request.url()).hostname));
    await page.goto(new URL("/healthz", stack.origin).href);
    const data = await page.evaluate(async (url) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      return response.json();
    }, stack.url);
    expect(data).toEqual({ data: { __typename: "Query" } });
    expect([...hosts]).toEqual(["127.0.0.1"]);
    await page.close();
  });
});
