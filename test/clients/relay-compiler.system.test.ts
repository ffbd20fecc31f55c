/**
 * Relay's compiler accepts the schema: `Node` with `id: ID!` and `Query.node(id:)`, which `@refetchable`
 * fragments need. The schema is what a Relay app would download (introspection of the running gateway); the
 * compiler is relay-compiler's own binary, shipped inside its npm package.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildClientSchema, getIntrospectionQuery, printSchema, type IntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useStack } from "../helpers/stack.js";

// relay-compiler ships one binary per platform inside its package (no os/cpu fields) and exports the path of the
// one for this machine: null on a platform it has none for (then the test skips, saying why once).
const RELAY = createRequire(import.meta.url)("relay-compiler") as string | null;
const NO_RELAY = RELAY === null || !existsSync(RELAY);
if (NO_RELAY) console.warn(`relay-compiler.system.test.ts skipped: relay-compiler has no binary for ${process.platform}-${process.arch}`);

const stack = useStack();
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "relay-"));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
});

function relayProject(fragment: string): void {
  mkdirSync(path.join(dir, "src"), { recursive: true });
  writeFileSync(path.join(dir, "relay.config.json"), JSON.stringify({ src: "./src", schema: "./schema.graphql", language: "typescript" }));
  writeFileSync(
    path.join(dir, "src", "CustomerRow.ts"),
    `import { graphql } from "react-relay";\nexport const fragment = graphql\`${fragment}\`;\n`,
  );
}

describe.skipIf(NO_RELAY)("relay-compiler", () => {
  it("compiles and validates a @refetchable fragment on Customer (its refetch query goes through node(id:))", async () => {
    const introspection = await stack.graphql<IntrospectionQuery>(getIntrospectionQuery());
    writeFileSync(path.join(dir, "schema.graphql"), printSchema(buildClientSchema(introspection.data!)));
    relayProject(`
      fragment CustomerRow_customer on Customer @refetchable(queryName: "CustomerRowRefetchQuery") {
        customerId
        customerName
        status
        attachments(connectionId: "2e9d2c44-f675-40ba-8049-353bfcb5e171") { id name }
      }
    `);
    // A compile (writing the artifacts into the scratch project), then --validate: the artifacts are current.
    const compiled = spawnSync(RELAY!, [], { cwd: dir, encoding: "utf8" });
    expect(compiled.status, compiled.stdout + compiled.stderr).toBe(0);
    expect(existsSync(path.join(dir, "src/__generated__/CustomerRowRefetchQuery.graphql.ts"))).toBe(true);
    const ok = spawnSync(RELAY!, ["--validate"], { cwd: dir, encoding: "utf8" });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);

    // The check can fail: a field the schema lacks is refused.
    relayProject(`fragment CustomerRow_customer on Customer @refetchable(queryName: "CustomerRowRefetchQuery") { noSuchField }`);
    const bad = spawnSync(RELAY!, [], { cwd: dir, encoding: "utf8" });
    expect(bad.status).not.toBe(0);
  }, 60_000);
});
