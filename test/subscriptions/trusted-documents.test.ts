/** PERSISTED_OPERATIONS over WebSocket: a listed document runs (by id or by its text), anything else is refused. */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { PUSH_UPDATED, startSubscriptionStack, subscribe, wsClient, type SubscriptionStack } from "./support.js";

const UNKNOWN_KEY = "00000000-0000-4000-8000-000000000000";
const hash = createHash("sha256").update(PUSH_UPDATED).digest("hex");
const dir = mkdtempSync(path.join(tmpdir(), "ws-trusted-"));
let stack: SubscriptionStack;
beforeAll(async () => {
  const manifest = path.join(dir, "persisted-documents.json");
  writeFileSync(manifest, JSON.stringify({ [hash]: PUSH_UPDATED }));
  stack = await startSubscriptionStack({ env: { PERSISTED_OPERATIONS: manifest } });
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("runs a listed document, by its text or its id, and refuses any other before Codat is called", async () => {
  const client = wsClient(stack.wsUrl);
  const variables = { companyId: DEMO_COMPANY_ID, key: UNKNOWN_KEY };
  const byText = subscribe(client, PUSH_UPDATED, variables);
  await byText.done;
  expect(byText.results[0]!.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");

  const byId = { results: [] as unknown[], error: undefined as unknown };
  await new Promise<void>((resolve) => {
    client.subscribe(
      { query: "", variables, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
      {
        next: (r) => byId.results.push(r),
        error: (e) => {
          byId.error = e;
          resolve();
        },
        complete: resolve,
      },
    );
  });
  expect(byId.error).toBeUndefined();
  expect(byId.results).toHaveLength(1);

  stack.simulator.resetRequests();
  const other = subscribe(client, PUSH_UPDATED.replace("statusCode", ""), variables);
  await other.done;
  expect((other.error as { extensions: { code: string } }[])[0]!.extensions.code).toBe("PERSISTED_QUERY_NOT_FOUND");
  expect(stack.simulator.requests).toHaveLength(0);
  await client.dispose();
});
