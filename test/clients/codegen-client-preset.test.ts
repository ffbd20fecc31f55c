/**
 * graphql-codegen's client preset against the running gateway: typed documents for a frontend, and the
 * trusted-documents manifest (`persisted-documents.json`) the gateway enforces with PERSISTED_OPERATIONS.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generate } from "@graphql-codegen/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { startStack, type Stack } from "../helpers/stack.js";

let open: Stack;
let dir: string;
beforeAll(async () => {
  open = await startStack();
  dir = mkdtempSync(path.join(tmpdir(), "client-preset-"));
  writeFileSync(
    path.join(dir, "customers.graphql"),
    `query FirstCustomers($companyId: ID!) { customers(companyId: $companyId, first: 3) { totalCount nodes { id customerId customerName } } }\n`,
  );
});
afterAll(async () => {
  await open.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("graphql-codegen client preset", () => {
  it("generates typed documents and a manifest the gateway then enforces", async () => {
    const out = path.join(dir, "gql") + "/";
    await generate(
      {
        schema: open.url,
        documents: [path.join(dir, "*.graphql")],
        generates: { [out]: { preset: "client", presetConfig: { persistedDocuments: { hashAlgorithm: "sha256" } } } },
        silent: true,
        errorsOnly: true,
      },
      true,
    );
    const graphqlTs = readFileSync(path.join(out, "graphql.ts"), "utf8");
    expect(graphqlTs).toContain("export type FirstCustomersQuery");
    const manifestFile = path.join(out, "persisted-documents.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Record<string, string>;
    const [hash] = Object.keys(manifest);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);

    const locked = await startStack({ env: { PERSISTED_OPERATIONS: manifestFile } });
    try {
      const listed = await fetch(locked.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ documentId: hash, variables: { companyId: DEMO_COMPANY_ID } }),
      });
      const body = (await listed.json()) as { data?: { customers: { totalCount: number } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data!.customers.totalCount).toBeGreaterThan(0);
      const unlisted = await locked.graphql(`{ __typename }`);
      expect(unlisted.errors?.[0]?.extensions?.["code"]).toBeDefined();
      expect(unlisted.data ?? null).toBeNull();
    } finally {
      await locked.close();
    }
  });
});
