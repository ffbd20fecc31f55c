/**
 * Caller authentication (AUTH_MODE=jwt): which tokens get in, which get a 401 (and nothing upstream), and how
 * the companies claim is read.
 */
import { createHash } from "node:crypto";
import { generateKeyPair } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, SECOND_COMPANY_ID } from "codat-simulator";
import { startStack, useStack, type Stack } from "../helpers/stack.js";
import {
  AUDIENCE,
  ISSUER,
  JWT_SECRET,
  OTHER_SECRET,
  bearer,
  expectForbiddenAt,
  expectNoUpstream,
  expectUnauthenticated,
  graphqlBody,
  jwtEnv,
  mint,
  postRaw,
  request,
  rsaKey,
  startJwksServer,
  unsignedToken,
  type JwksServer,
} from "./support.js";
import { configProblems } from "../helpers/config.js";

const PROBE = `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }`;
const SECOND_PROBE = `{ customers(companyId: "${SECOND_COMPANY_ID}", first: 1) { totalCount } }`;
const ALICE = { sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] };

/** A query that succeeded: data, no errors, and it really went upstream. */
function expectServed(stack: Stack, raw: Awaited<ReturnType<typeof postRaw>>): void {
  expect(raw.status, raw.text.slice(0, 300)).toBe(200);
  const body = graphqlBody(raw);
  expect(body.errors).toBeUndefined();
  expect(body.data?.["customers"]).toMatchObject({ totalCount: expect.any(Number) });
  expect(stack.upstream().length).toBeGreaterThan(0);
}

describe("jwt mode with a shared HS secret", () => {
  const stack = useStack({ env: jwtEnv({ CACHE_ENABLED: "false" }) });

  it("serves a caller with a valid HS256 token", async () => {
    expectServed(stack, await postRaw(stack, { query: PROBE }, bearer(await mint(ALICE))));
  });

  it.each(["HS384", "HS512"])("accepts %s with the same secret", async (alg) => {
    expectServed(stack, await postRaw(stack, { query: PROBE }, bearer(await mint(ALICE, { alg }))));
  });

  it("accepts an audience array that contains the configured audience", async () => {
    const token = await mint(ALICE, { audience: ["some-other-api", AUDIENCE] });
    expectServed(stack, await postRaw(stack, { query: PROBE }, bearer(token)));
  });

  const refusals: { name: string; headers: () => Promise<Record<string, string>> }[] = [
    { name: "no Authorization header", headers: async () => ({}) },
    { name: "an empty bearer", headers: async () => ({ authorization: "Bearer " }) },
    { name: "a garbage token", headers: async () => bearer("garbage") },
    { name: "a malformed three-part token", headers: async () => bearer("a.b.c") },
    { name: "a Basic credential", headers: async () => ({ authorization: `Basic ${Buffer.from("alice:secret").toString("base64")}` }) },
    { name: "a token signed with another secret (forged)", headers: async () => bearer(await mint(ALICE, { key: OTHER_SECRET })) },
    { name: "an expired token", headers: async () => bearer(await mint(ALICE, { expiresIn: -3600 })) },
    {
      name: "a token not valid yet (nbf in an hour)",
      headers: async () => bearer(await mint(ALICE, { notBefore: 3600, expiresIn: 7200 })),
    },
    { name: "a token for another audience", headers: async () => bearer(await mint(ALICE, { audience: "someone-else" })) },
    { name: "a token without an audience", headers: async () => bearer(await mint(ALICE, { audience: null })) },
    { name: "a token from another issuer", headers: async () => bearer(await mint(ALICE, { issuer: "https://evil.example/" })) },
    { name: "a token without an issuer", headers: async () => bearer(await mint(ALICE, { issuer: null })) },
    { name: "an unsigned token (alg: none)", headers: async () => bearer(unsignedToken({ ...ALICE, codat_company_ids: ["*"] })) },
    {
      name: "a valid token with its signature stripped",
      headers: async () => {
        const [header, payload] = (await mint(ALICE)).split(".");
        return bearer(`${header}.${payload}.`);
      },
    },
    {
      name: "a valid signature over a tampered payload (companies widened to *)",
      headers: async () => {
        const [header, payload, signature] = (await mint(ALICE)).split(".");
        const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
        const widened = Buffer.from(JSON.stringify({ ...claims, codat_company_ids: ["*"] })).toString("base64url");
        return bearer(`${header}.${widened}.${signature}`);
      },
    },
    {
      name: "an RS256 token from an unknown key (HS secret configured)",
      headers: async () => {
        const { privateKey } = await generateKeyPair("RS256");
        return bearer(await mint(ALICE, { key: privateKey, alg: "RS256" }));
      },
    },
    // My reading of "the caller id is the sub claim": a token that names no caller cannot be bound to links.
    { name: "a token without sub", headers: async () => bearer(await mint({ codat_company_ids: [DEMO_COMPANY_ID] })) },
  ];

  it.each(refusals)("answers 401 UNAUTHENTICATED, with no upstream call, to $name", async ({ headers }) => {
    const raw = await postRaw(stack, { query: PROBE }, await headers());
    expectUnauthenticated(stack, raw);
  });

  it("authenticates every GraphQL request, even one that needs no upstream data", async () => {
    expectUnauthenticated(stack, await postRaw(stack, { query: "{ __typename }" }));
    expectUnauthenticated(stack, await postRaw(stack, { query: "{ _service { sdl } }" }));
  });

  it("authenticates GET requests too", async () => {
    const raw = await request(`${stack.url}?query=${encodeURIComponent(PROBE)}`, { headers: { "apollo-require-preflight": "true" } });
    expectUnauthenticated(stack, raw);
    const ok = await request(`${stack.url}?query=${encodeURIComponent(PROBE)}`, {
      headers: { "apollo-require-preflight": "true", ...bearer(await mint(ALICE)) },
    });
    expectServed(stack, ok);
  });

  it("refuses a token whose companies claim would allow everything when it is forged", async () => {
    const raw = await postRaw(
      stack,
      { query: SECOND_PROBE },
      bearer(await mint({ sub: "mallory", codat_company_ids: ["*"] }, { key: OTHER_SECRET })),
    );
    expectUnauthenticated(stack, raw);
  });
});

describe("jwt mode in production", () => {
  const stack = useStack({ env: jwtEnv({ NODE_ENV: "production" }) });

  it("never executes an operation without a token, whatever the Accept header (no landing-page bypass for APQ hashes)", async () => {
    const query = "{ __typename }";
    const sha256Hash = createHash("sha256").update(query).digest("hex");
    // An authenticated client registers the operation as an automatic persisted query…
    const registered = await postRaw(
      stack,
      { query, extensions: { persistedQuery: { version: 1, sha256Hash } } },
      bearer(await mint(ALICE)),
    );
    expect(registered.status).toBe(200);
    // …then anyone replays it by hash over GET, with a browser-like Accept header and no token.
    const extensions = encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash } }));
    for (const accept of ["text/html, application/json", "application/json, text/html;q=0.9", "*/*, text/html"]) {
      const raw = await request(`${stack.url}?extensions=${extensions}`, { headers: { accept, "apollo-require-preflight": "true" } });
      expect(raw.status, `${accept}: ${raw.text.slice(0, 120)}`).toBe(401);
      expectUnauthenticated(stack, raw);
    }
  });
});

describe("the companies claim", () => {
  const stack = useStack({ env: jwtEnv({ CACHE_ENABLED: "false" }) });

  async function probe(claims: Record<string, unknown>, companyId: string) {
    const raw = await postRaw(
      stack,
      { query: `{ customers(companyId: "${companyId}", first: 1) { totalCount } }` },
      bearer(await mint(claims)),
    );
    expect(raw.status, raw.text.slice(0, 300)).toBe(200);
    return graphqlBody(raw);
  }

  async function expectAllowed(claims: Record<string, unknown>, companyId: string) {
    stack.resetUpstream();
    const body = await probe(claims, companyId);
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    expect(body.data?.["customers"]).toMatchObject({ totalCount: expect.any(Number) });
    expect(stack.upstream().some((r) => r.path.toLowerCase().startsWith(`/companies/${companyId.toLowerCase()}/`))).toBe(true);
  }

  async function expectForbidden(claims: Record<string, unknown>, companyId: string) {
    stack.resetUpstream();
    const body = await probe(claims, companyId);
    expectForbiddenAt(body, ["customers"]);
    expectNoUpstream(stack);
  }

  it("reads an array of ids", async () => {
    const claims = { sub: "array", codat_company_ids: [DEMO_COMPANY_ID] };
    await expectAllowed(claims, DEMO_COMPANY_ID);
    await expectForbidden(claims, SECOND_COMPANY_ID);
  });

  it("reads a space-separated string", async () => {
    const claims = { sub: "spaces", codat_company_ids: `${DEMO_COMPANY_ID} ${SECOND_COMPANY_ID}` };
    await expectAllowed(claims, DEMO_COMPANY_ID);
    await expectAllowed(claims, SECOND_COMPANY_ID);
  });

  it("reads a comma-separated string", async () => {
    const claims = { sub: "commas", codat_company_ids: `${SECOND_COMPANY_ID},${DEMO_COMPANY_ID}` };
    await expectAllowed(claims, DEMO_COMPANY_ID);
    await expectAllowed(claims, SECOND_COMPANY_ID);
    await expectForbidden({ sub: "single", codat_company_ids: SECOND_COMPANY_ID }, DEMO_COMPANY_ID);
  });

  it('treats "*" (in an array or as the string) as every company', async () => {
    await expectAllowed({ sub: "star-array", codat_company_ids: ["*"] }, SECOND_COMPANY_ID);
    await expectAllowed({ sub: "star-string", codat_company_ids: "*" }, DEMO_COMPANY_ID);
  });

  it("compares company ids case-insensitively, both ways", async () => {
    await expectAllowed({ sub: "upper-claim", codat_company_ids: [DEMO_COMPANY_ID.toUpperCase()] }, DEMO_COMPANY_ID);
    await expectAllowed({ sub: "lower-claim", codat_company_ids: [DEMO_COMPANY_ID] }, DEMO_COMPANY_ID.toUpperCase());
    await expectForbidden({ sub: "lower-claim", codat_company_ids: [DEMO_COMPANY_ID] }, SECOND_COMPANY_ID.toUpperCase());
  });

  it("matches whole ids only: no prefix, substring or pattern matching", async () => {
    await expectForbidden({ sub: "prefix", codat_company_ids: [DEMO_COMPANY_ID.slice(0, 20)] }, DEMO_COMPANY_ID);
    await expectForbidden({ sub: "superstring", codat_company_ids: `x${DEMO_COMPANY_ID}x` }, DEMO_COMPANY_ID);
    await expectForbidden({ sub: "superstring-array", codat_company_ids: [`${DEMO_COMPANY_ID}x`] }, DEMO_COMPANY_ID);
    await expectForbidden({ sub: "glob", codat_company_ids: ["8a210b68*"] }, DEMO_COMPANY_ID);
    await expectForbidden({ sub: "dot-star", codat_company_ids: [".*"] }, DEMO_COMPANY_ID);
  });

  it("allows nothing for a missing, empty or wrongly typed claim", async () => {
    for (const claims of [
      { sub: "missing" },
      { sub: "empty-array", codat_company_ids: [] },
      { sub: "empty-string", codat_company_ids: "" },
      { sub: "number", codat_company_ids: 42 },
      { sub: "object", codat_company_ids: { [DEMO_COMPANY_ID]: true } },
      { sub: "nested", codat_company_ids: [[DEMO_COMPANY_ID]] },
      { sub: "other-claim", companies: [DEMO_COMPANY_ID] },
    ]) {
      await expectForbidden(claims, DEMO_COMPANY_ID);
    }
  });

  it("with no claim, every entry point is FORBIDDEN and nothing goes upstream", async () => {
    const headers = bearer(await mint({ sub: "nobody" }));
    const run = async (query: string, variables?: Record<string, unknown>) => {
      const raw = await postRaw(stack, { query, variables }, headers);
      expect(raw.status, raw.text.slice(0, 300)).toBe(200);
      return graphqlBody(raw);
    };
    const key = "a0c1e2f3-1111-4222-8333-444455556666";
    expectForbiddenAt(await run(`{ customer(companyId: "${DEMO_COMPANY_ID}", customerId: "x") { customerId } }`), ["customer"]);
    expectForbiddenAt(await run(`{ pushOperations(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }`), ["pushOperations"]);
    expectForbiddenAt(await run(`{ pushOperation(companyId: "${DEMO_COMPANY_ID}", pushOperationKey: "${key}") { status } }`), [
      "pushOperation",
    ]);
    expectForbiddenAt(
      await run(`{ customerCreateUpdateModel(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}") { displayName } }`),
      ["customerCreateUpdateModel"],
    );
    expectForbiddenAt(
      await run(`mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { pushOperation { status } } }`, {
        i: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: { customerName: "Nobody Ltd" } },
      }),
      ["createCustomer"],
    );
    const entities = await run(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerId } } }`, {
      r: [{ __typename: "Customer", companyId: DEMO_COMPANY_ID, customerId: "x" }],
    });
    expectForbiddenAt(entities, ["_entities", 0]);
    expectNoUpstream(stack);
  });
});

describe("a custom AUTH_COMPANIES_CLAIM", () => {
  const CLAIM = "https://example.com/claims/codat-companies";
  const stack = useStack({ env: jwtEnv({ AUTH_COMPANIES_CLAIM: CLAIM, CACHE_ENABLED: "false" }) });

  it("reads the configured claim and ignores the default one", async () => {
    const allowed = await postRaw(stack, { query: PROBE }, bearer(await mint({ sub: "custom", [CLAIM]: [DEMO_COMPANY_ID] })));
    expectServed(stack, allowed);
    stack.resetUpstream();
    const ignored = await postRaw(stack, { query: PROBE }, bearer(await mint({ sub: "default-claim", codat_company_ids: ["*"] })));
    expect(ignored.status).toBe(200);
    expectForbiddenAt(graphqlBody(ignored), ["customers"]);
    expectNoUpstream(stack);
  });
});

describe("jwt mode with a remote JWKS", () => {
  let jwks: JwksServer;
  let stack: Stack;
  let signing: Awaited<ReturnType<typeof rsaKey>>;
  beforeAll(async () => {
    signing = await rsaKey("key-1");
    jwks = await startJwksServer([signing.publicJwk]);
    stack = await startStack({ env: { AUTH_MODE: "jwt", AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE } });
  });
  afterAll(async () => {
    await stack?.close();
    await jwks?.close();
  });
  beforeEach(() => stack.resetUpstream());

  it("serves a caller whose RS256 token is signed by a key in the JWKS", async () => {
    const token = await mint(ALICE, { key: signing.privateKey, alg: "RS256", kid: signing.kid });
    expectServed(stack, await postRaw(stack, { query: PROBE }, bearer(token)));
    expect(jwks.hits).toBeGreaterThan(0);
  });

  it("refuses a token with a kid the JWKS does not have", async () => {
    const stranger = await rsaKey("key-unknown");
    const token = await mint(ALICE, { key: stranger.privateKey, alg: "RS256", kid: stranger.kid });
    expectUnauthenticated(stack, await postRaw(stack, { query: PROBE }, bearer(token)));
  });

  it("refuses a token signed by another key that claims the JWKS's kid", async () => {
    const stranger = await rsaKey(signing.kid);
    const token = await mint(ALICE, { key: stranger.privateKey, alg: "RS256", kid: signing.kid });
    expectUnauthenticated(stack, await postRaw(stack, { query: PROBE }, bearer(token)));
  });

  it("refuses HS256 tokens (algorithm confusion with the public key as an HMAC secret)", async () => {
    const publicPem = JSON.stringify(signing.publicJwk);
    const token = await mint(ALICE, { key: publicPem, alg: "HS256", kid: signing.kid });
    expectUnauthenticated(stack, await postRaw(stack, { query: PROBE }, bearer(token)));
    const secretToken = await mint(ALICE, { key: JWT_SECRET, alg: "HS256" });
    expectUnauthenticated(stack, await postRaw(stack, { query: PROBE }, bearer(secretToken)));
  });

  it("still checks issuer, audience and expiry of JWKS-signed tokens", async () => {
    const sign = (options: Parameters<typeof mint>[1]) =>
      mint(ALICE, { key: signing.privateKey, alg: "RS256", kid: signing.kid, ...options });
    expectUnauthenticated(stack, await postRaw(stack, { query: PROBE }, bearer(await sign({ issuer: "https://evil.example/" }))));
    expectUnauthenticated(stack, await postRaw(stack, { query: PROBE }, bearer(await sign({ audience: "other" }))));
    expectUnauthenticated(stack, await postRaw(stack, { query: PROBE }, bearer(await sign({ expiresIn: -3600 }))));
  });

  it("refuses an unsigned token", async () => {
    expectUnauthenticated(stack, await postRaw(stack, { query: PROBE }, bearer(unsignedToken(ALICE))));
  });
});

describe("authentication configuration", () => {
  const base = { CODAT_BASE_URL: "http://127.0.0.1:9", PORT: "0", HOST: "127.0.0.1" };

  it("accepts a complete HS or JWKS configuration", () => {
    expect(configProblems({ ...base, ...jwtEnv() })).toEqual([]);
    expect(
      configProblems({
        ...base,
        AUTH_MODE: "jwt",
        AUTH_JWKS_URL: "https://issuer.example/.well-known/jwks.json",
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
      }),
    ).toEqual([]);
  });

  it("requires an issuer and an audience in jwt mode", () => {
    const { AUTH_ISSUER: _i, ...noIssuer } = jwtEnv();
    expect(configProblems({ ...base, ...noIssuer }).join("\n")).toContain("AUTH_ISSUER");
    const { AUTH_AUDIENCE: _a, ...noAudience } = jwtEnv();
    expect(configProblems({ ...base, ...noAudience }).join("\n")).toContain("AUTH_AUDIENCE");
  });

  it("requires a key source in jwt mode", () => {
    const { AUTH_JWT_SECRET: _s, ...noKey } = jwtEnv();
    expect(configProblems({ ...base, ...noKey }).join("\n")).toMatch(/AUTH_JWT_SECRET|AUTH_JWKS_URL/);
  });

  it("refuses a short HS secret without echoing it", () => {
    const short = "short-secret-31-characters-long";
    expect(short.length).toBe(31);
    const problems = configProblems({ ...base, ...jwtEnv({ AUTH_JWT_SECRET: short }) });
    expect(problems.join("\n")).toContain("AUTH_JWT_SECRET");
    expect(problems.join("\n")).not.toContain(short);
  });

  it("refuses an unknown AUTH_MODE and a malformed JWKS URL", () => {
    expect(configProblems({ ...base, AUTH_MODE: "basic" }).join("\n")).toContain("AUTH_MODE");
    expect(
      configProblems({ ...base, AUTH_MODE: "jwt", AUTH_JWKS_URL: "not a url", AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE }).join("\n"),
    ).toContain("AUTH_JWKS_URL");
  });
});
