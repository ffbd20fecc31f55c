/**
 * One admission pipeline (graphql/admission.ts): a document refused over HTTP (Apollo) is refused over WebSocket
 * (graphql-ws) with the same code, message and locations, step by step — trusted documents, parse, the token
 * limit, validation (its hints dropped in production), the depth, alias and directive limits, the operation, the
 * cost — and the router secret refuses the WebSocket upgrade with the code and message of the HTTP refusal.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { PUSH_UPDATED, startSubscriptionStack, wsClient, type SubscriptionStack } from "./support.js";

const UNKNOWN_KEY = "00000000-0000-4000-8000-000000000000";
const VARIABLES = { companyId: DEMO_COMPANY_ID, key: UNKNOWN_KEY };
const ARGS = `(companyId: "${DEMO_COMPANY_ID}", pushOperationKey: "${UNKNOWN_KEY}")`;

interface Refusal {
  code: unknown;
  message: string;
  locations?: unknown;
}

const refusals = (errors: readonly { message: string; locations?: unknown; extensions?: Record<string, unknown> }[]): Refusal[] =>
  errors.map((error) => ({
    code: error.extensions?.["code"],
    message: error.message,
    ...(error.locations !== undefined ? { locations: error.locations } : {}),
  }));

/** What the HTTP endpoint refuses a document with (it must refuse: no data). */
async function overHttp(stack: SubscriptionStack, query: string, operationName?: string): Promise<Refusal[]> {
  const response = await fetch(stack.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables: VARIABLES, ...(operationName ? { operationName } : {}) }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  expect(body.data ?? null, query).toBeNull();
  return refusals(body.errors ?? []);
}

/** What a subscribe message with that document is refused with (it must be refused, never run). */
function overWebSocket(client: Client, query: string, operationName?: string): Promise<Refusal[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(
      { query, variables: VARIABLES, ...(operationName ? { operationName } : {}) },
      {
        next: (result) => reject(new Error(`ran: ${JSON.stringify(result)}`)),
        error: (error) => (Array.isArray(error) ? resolve(refusals(error)) : reject(error as Error)),
        complete: () => reject(new Error("completed")),
      },
    );
  });
}

async function expectSameRefusal(stack: SubscriptionStack, client: Client, query: string, code: string, operationName?: string) {
  const http = await overHttp(stack, query, operationName);
  expect(http.length, query).toBeGreaterThan(0);
  expect(http[0]!.code, query).toBe(code);
  expect(await overWebSocket(client, query, operationName), query).toEqual(http);
  expect(stack.simulator.requests).toHaveLength(0);
}

describe("the same refusal over HTTP and WebSocket, step by step", () => {
  const limits = { MAX_QUERY_DEPTH: "3", MAX_ALIASES: "2", MAX_DIRECTIVES: "2", MAX_TOKENS: "100", MAX_QUERY_COST: "10" };
  let stack: SubscriptionStack;
  let client: Client;
  beforeAll(async () => {
    stack = await startSubscriptionStack({ env: limits });
    client = wsClient(stack.wsUrl);
  });
  afterAll(async () => {
    await client?.dispose();
    await stack?.close();
  });

  it.each([
    ["parse", "subscription { pushOperationUpdated(", "GRAPHQL_PARSE_FAILED"],
    ["the token limit", `subscription { ${"__typename ".repeat(120)}}`, "GRAPHQL_PARSE_FAILED"],
    ["validation, with its hint", `subscription { pushOperationUpdated${ARGS} { statuss } }`, "GRAPHQL_VALIDATION_FAILED"],
    ["validation, two errors", `subscription { nope pushOperationUpdated${ARGS} { nope } }`, "GRAPHQL_VALIDATION_FAILED"],
    ["the depth limit", `subscription { pushOperationUpdated${ARGS} { validation { errors { itemId } } } }`, "BAD_USER_INPUT"],
    ["the alias limit", `subscription { pushOperationUpdated${ARGS} { a: id b: id c: id } }`, "BAD_USER_INPUT"],
    [
      "the directive limit",
      `subscription { pushOperationUpdated${ARGS} { id @include(if: true) status @include(if: true) statusCode @include(if: true) } }`,
      "BAD_USER_INPUT",
    ],
    [
      "the cost limit",
      `subscription { pushOperationUpdated${ARGS} { id status statusCode pushOperationKey changes { type attachmentId } } }`,
      "BAD_USER_INPUT",
    ],
    [
      "the operation (several, none named)",
      `${PUSH_UPDATED} subscription Other { pushOperationUpdated${ARGS} { id } }`,
      "OPERATION_RESOLUTION_FAILURE",
    ],
  ])("%s", async (_step, query, code) => {
    stack.simulator.resetRequests();
    await expectSameRefusal(stack, client, query, code);
  });

  it("the operation (an unknown name)", async () => {
    stack.simulator.resetRequests();
    await expectSameRefusal(stack, client, PUSH_UPDATED, "OPERATION_RESOLUTION_FAILURE", "Nope");
  });

  it("keeps the hint outside production", async () => {
    const [refusal] = await overWebSocket(client, `subscription { pushOperationUpdated${ARGS} { statuss } }`);
    expect(refusal?.message).toMatch(/Did you mean "status"/);
  });
});

describe("production: the hints dropped both ways", () => {
  let stack: SubscriptionStack;
  let client: Client;
  beforeAll(async () => {
    stack = await startSubscriptionStack({ env: { NODE_ENV: "production", AUTH_MODE: "none" } });
    client = wsClient(stack.wsUrl);
  });
  afterAll(async () => {
    await client?.dispose();
    await stack?.close();
  });

  it("refuses an unknown field with the same message, without 'Did you mean'", async () => {
    stack.simulator.resetRequests();
    const query = `subscription { pushOperationUpdated${ARGS} { statuss } }`;
    await expectSameRefusal(stack, client, query, "GRAPHQL_VALIDATION_FAILED");
    expect((await overHttp(stack, query))[0]!.message).not.toMatch(/Did you mean/);
  });
});

describe("trusted documents", () => {
  const hash = createHash("sha256").update(PUSH_UPDATED).digest("hex");
  const dir = mkdtempSync(path.join(tmpdir(), "admission-parity-"));
  let stack: SubscriptionStack;
  let client: Client;
  beforeAll(async () => {
    const manifest = path.join(dir, "persisted-documents.json");
    writeFileSync(manifest, JSON.stringify({ [hash]: PUSH_UPDATED }));
    stack = await startSubscriptionStack({ env: { PERSISTED_OPERATIONS: manifest } });
    client = wsClient(stack.wsUrl);
  });
  afterAll(async () => {
    await client?.dispose();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses an unlisted document with the same code and message", async () => {
    stack.simulator.resetRequests();
    await expectSameRefusal(stack, client, PUSH_UPDATED.replace("statusCode", ""), "PERSISTED_QUERY_NOT_FOUND");
  });
});

describe("the router secret", () => {
  const SECRET = "router-secret-for-admission-parity";
  let stack: SubscriptionStack;
  beforeAll(async () => {
    stack = await startSubscriptionStack({ env: { ROUTER_SECRET: SECRET } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("refuses the HTTP request and the WebSocket upgrade without it: 401, same code and message", async () => {
    const http = await fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: PUSH_UPDATED, variables: VARIABLES }),
    });
    expect(http.status).toBe(401);
    const [refusal] = refusals(((await http.json()) as { errors: { message: string; extensions?: Record<string, unknown> }[] }).errors);

    const upgrade = await refusedUpgrade(stack.wsUrl);
    expect(upgrade.status).toBe(401);
    expect(upgrade.body).toEqual({ error: { code: refusal!.code, message: refusal!.message } });
    expect(refusal!.code).toBe("UNAUTHENTICATED");
  });
});

/** Sends a WebSocket upgrade that is expected to be refused; its status and JSON body. */
function refusedUpgrade(wsUrl: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(wsUrl.replace(/^ws/, "http"), {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": Buffer.from("admission-parity").toString("base64"),
        "sec-websocket-protocol": "graphql-transport-ws",
      },
    });
    request.on("upgrade", () => reject(new Error("upgraded")));
    request.on("response", (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    request.on("error", reject);
    request.end();
  });
}
