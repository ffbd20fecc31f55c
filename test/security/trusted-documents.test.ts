/**
 * Trusted documents (PERSISTED_OPERATIONS): only operations listed in the manifest run, whichever way the client
 * names them; anything else is refused before any Codat call. A router carrying the router secret bypasses the
 * manifest (its `_entities` queries are generated).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../../src/app.js";
import { ConfigError, parseConfig } from "../../src/config.js";
import { silentLogger } from "../../src/observability/logger.js";
import { AWKWARD_CUSTOMER_ID, DEMO_COMPANY_ID, SECOND_COMPANY_ID } from "codat-simulator";
import { useStack, type Stack } from "../helpers/stack.js";
import { codes, expectNoUpstream, graphqlBody, postRaw, request, type RawResponse } from "./support.js";

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

const LIST = /* GraphQL */ `
  query ListCustomers($companyId: ID!) {
    customers(companyId: $companyId, first: 2) {
      totalCount
      nodes {
        customerId
      }
    }
  }
`;
const BY_ID = /* GraphQL */ `
  query CustomerById($companyId: ID!, $id: ID!) {
    customer(companyId: $companyId, customerId: $id) {
      customerId
      customerName
    }
  }
`;
const EVIL = `{ customers(companyId: "${SECOND_COMPANY_ID}", first: 50) { totalCount nodes { customerId customerName emailAddress } } }`;
const MANIFEST = { [sha256(LIST)]: LIST, [sha256(BY_ID)]: BY_ID };
const REFUSAL_CODES = ["PERSISTED_QUERY_NOT_FOUND", "BAD_USER_INPUT"];
const ROUTER_SECRET = "router-secret-for-trusted-documents";

let dir: string;
let manifestPath: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "trusted-documents-"));
  manifestPath = path.join(dir, "persisted-documents.json");
  writeFileSync(manifestPath, JSON.stringify(MANIFEST, null, 2));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectRefused(stack: Stack, raw: RawResponse): void {
  expect(raw.status, raw.text.slice(0, 300)).toBe(400);
  const body = graphqlBody(raw);
  expect(REFUSAL_CODES, raw.text.slice(0, 300)).toContain(body.errors?.[0]?.extensions?.["code"]);
  expect(body.data ?? null).toBeNull();
  expectNoUpstream(stack);
}

function expectList(stack: Stack, raw: RawResponse): void {
  expect(raw.status, raw.text.slice(0, 300)).toBe(200);
  const body = graphqlBody(raw);
  expect(body.errors).toBeUndefined();
  expect(body.data?.["customers"]).toMatchObject({ totalCount: expect.any(Number), nodes: expect.any(Array) });
  expect(stack.upstream().length).toBeGreaterThan(0);
}

const secondCompanyCalls = (stack: Stack) => stack.upstream().filter((r) => r.path.toLowerCase().includes(SECOND_COMPANY_ID));

describe("trusted documents only", () => {
  const stack = useStack(() => ({ env: { PERSISTED_OPERATIONS: manifestPath, CACHE_ENABLED: "false" } }));

  it("runs a listed operation by documentId, with variables", async () => {
    expectList(stack, await postRaw(stack, { documentId: sha256(LIST), variables: { companyId: DEMO_COMPANY_ID } }));
    stack.resetUpstream();
    const id = stack.simulator.store
      .company(DEMO_COMPANY_ID)!
      .customers.all()
      .find((c) => c.id !== AWKWARD_CUSTOMER_ID)?.id;
    const raw = await postRaw(stack, { documentId: sha256(BY_ID), variables: { companyId: DEMO_COMPANY_ID, id } });
    expect(raw.status).toBe(200);
    expect(graphqlBody(raw).data?.["customer"]).toMatchObject({ customerId: id });
  });

  it("runs a listed operation by extensions.persistedQuery.sha256Hash", async () => {
    expectList(
      stack,
      await postRaw(stack, {
        extensions: { persistedQuery: { version: 1, sha256Hash: sha256(LIST) } },
        variables: { companyId: DEMO_COMPANY_ID },
      }),
    );
  });

  it("runs a listed operation sent as its full text", async () => {
    expectList(stack, await postRaw(stack, { query: LIST, variables: { companyId: DEMO_COMPANY_ID } }));
  });

  it("refuses an operation that is not listed", async () => {
    expectRefused(stack, await postRaw(stack, { query: EVIL }));
    expectRefused(
      stack,
      await postRaw(stack, { query: `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 500) { nodes { customerId } } }` }),
    );
  });

  it("refuses a listed text changed by one character (its hash is not listed)", async () => {
    expectRefused(stack, await postRaw(stack, { query: `${LIST} `, variables: { companyId: DEMO_COMPANY_ID } }));
    expectRefused(
      stack,
      await postRaw(stack, { query: LIST.replace("first: 2", "first: 500"), variables: { companyId: DEMO_COMPANY_ID } }),
    );
  });

  it("refuses an unknown documentId or hash", async () => {
    expectRefused(stack, await postRaw(stack, { documentId: sha256(EVIL) }));
    expectRefused(stack, await postRaw(stack, { documentId: "0".repeat(64) }));
    expectRefused(stack, await postRaw(stack, { documentId: "../../etc/passwd" }));
    expectRefused(stack, await postRaw(stack, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(EVIL) } } }));
  });

  it("refuses introspection and trivial queries that are not listed", async () => {
    expectRefused(stack, await postRaw(stack, { query: "{ __typename }" }));
    expectRefused(stack, await postRaw(stack, { query: "{ __schema { types { name } } }" }));
    expectRefused(stack, await postRaw(stack, { query: "{ _service { sdl } }" }));
  });

  it("does not run a smuggled query next to a listed documentId", async () => {
    const raw = await postRaw(stack, { documentId: sha256(LIST), query: EVIL, variables: { companyId: DEMO_COMPANY_ID } });
    expect(secondCompanyCalls(stack)).toEqual([]);
    expect(raw.text).not.toContain("emailAddress");
    if (raw.status === 200) expectList(stack, raw);
    else expect(raw.status).toBe(400);
  });

  it("does not run a query whose text disagrees with the listed persistedQuery hash", async () => {
    const raw = await postRaw(stack, {
      query: EVIL,
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(LIST) } },
      variables: { companyId: DEMO_COMPANY_ID },
    });
    expect(raw.status).toBe(400);
    expect(secondCompanyCalls(stack)).toEqual([]);
  });

  it("does not let automatic persisted queries register a new operation", async () => {
    expectRefused(stack, await postRaw(stack, { query: EVIL, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(EVIL) } } }));
    expectRefused(stack, await postRaw(stack, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(EVIL) } } }));
  });

  it("refuses unlisted operations over GET", async () => {
    const raw = await request(`${stack.url}?query=${encodeURIComponent(EVIL)}`, { headers: { "apollo-require-preflight": "true" } });
    expectRefused(stack, raw);
  });

  it("refuses batches", async () => {
    const raw = await postRaw(stack, [{ documentId: sha256(LIST), variables: { companyId: DEMO_COMPANY_ID } }, { query: EVIL }]);
    expect(raw.status).toBe(400);
    expect(secondCompanyCalls(stack)).toEqual([]);
  });
});

describe("trusted documents with a router secret", () => {
  const stack = useStack(() => ({ env: { PERSISTED_OPERATIONS: manifestPath, ROUTER_SECRET } }));

  const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerId customerName } } }`;

  it("lets the router (with the secret) run generated _entities queries that are not in the manifest", async () => {
    const id = stack.simulator.store
      .company(DEMO_COMPANY_ID)!
      .customers.all()
      .find((c) => c.id !== AWKWARD_CUSTOMER_ID)?.id;
    const raw = await postRaw(
      stack,
      { query: ENTITIES, variables: { r: [{ __typename: "Customer", companyId: DEMO_COMPANY_ID, customerId: id }] } },
      { "x-router-secret": ROUTER_SECRET },
    );
    expect(raw.status, raw.text.slice(0, 300)).toBe(200);
    const body = graphqlBody(raw);
    expect(body.errors).toBeUndefined();
    expect(body.data?.["_entities"]).toEqual([expect.objectContaining({ customerId: id })]);
    stack.resetUpstream();
    expectList(
      stack,
      await postRaw(stack, { query: LIST, variables: { companyId: DEMO_COMPANY_ID } }, { "x-router-secret": ROUTER_SECRET }),
    );
  });

  it("refuses the same query without the secret or with a wrong one", async () => {
    const attempts: Record<string, string>[] = [{}, { "x-router-secret": `${ROUTER_SECRET}x` }, { "x-router-secret": "" }];
    for (const headers of attempts) {
      const raw = await postRaw(
        stack,
        { query: ENTITIES, variables: { r: [{ __typename: "Customer", companyId: DEMO_COMPANY_ID, customerId: "x" }] } },
        headers,
      );
      expect([400, 401], raw.text.slice(0, 300)).toContain(raw.status);
      expect(codes(graphqlBody(raw))[0]).toMatch(/^(UNAUTHENTICATED|PERSISTED_QUERY_NOT_FOUND|BAD_USER_INPUT)$/);
    }
    expectNoUpstream(stack);
  });
});

describe("trusted documents configuration", () => {
  async function startupError(env: Record<string, string>): Promise<unknown> {
    let gateway: ReturnType<typeof createGateway> | undefined;
    try {
      const config = parseConfig({ CODAT_BASE_URL: "http://127.0.0.1:9", PORT: "0", HOST: "127.0.0.1", ...env });
      gateway = createGateway(config, { stopGracePeriodMs: 100, logger: silentLogger() });
      await gateway.listen();
    } catch (error) {
      return error;
    }
    await gateway.stop();
    return undefined;
  }

  it("refuses to start with a missing or malformed manifest, naming the variable", async () => {
    const missing = await startupError({ PERSISTED_OPERATIONS: path.join(dir, "nope.json") });
    expect(missing).toBeInstanceOf(Error);
    if (missing instanceof ConfigError) expect(missing.problems.join("\n")).toContain("PERSISTED_OPERATIONS");

    const bad = path.join(dir, "bad.json");
    writeFileSync(bad, "{ not json");
    const malformed = await startupError({ PERSISTED_OPERATIONS: bad });
    expect(malformed).toBeInstanceOf(Error);

    const wrongShape = path.join(dir, "array.json");
    writeFileSync(wrongShape, JSON.stringify([LIST]));
    expect(await startupError({ PERSISTED_OPERATIONS: wrongShape })).toBeInstanceOf(Error);
  });
});
