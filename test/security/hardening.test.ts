/**
 * Hardening of the GraphQL endpoint: ids that try to leave their company, operation limits (aliases, depth,
 * directives, tokens, cost, body size), browser defaults (CORS, CSRF), production error masking, and the
 * startup refusal of an unauthenticated gateway exposed with a real key.
 */
import { request as httpRequest } from "node:http";
import { beforeAll, describe, expect, it } from "vitest";

import {
  ATTACHMENT_CUSTOMER_ID,
  AWKWARD_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  SECOND_COMPANY_ID,
  SECOND_CONNECTION_ID,
} from "codat-simulator";
import { useStack, type Stack } from "../helpers/stack.js";
import {
  aliases,
  bearer,
  codes,
  expectNoUpstream,
  graphqlBody,
  jwtEnv,
  mint,
  postRaw,
  request,
  type GraphQLBody,
  type RawResponse,
} from "./support.js";
import { configProblems } from "../helpers/config.js";

/** A 400 refusal with the given code(s), and nothing sent to Codat. */
function expectRefused(stack: Stack, raw: RawResponse, allowed: string[], status = 400): GraphQLBody {
  expect(raw.status, raw.text.slice(0, 400)).toBe(status);
  const body = graphqlBody(raw);
  expect(body.errors?.length, raw.text.slice(0, 400)).toBeGreaterThan(0);
  expect(allowed, raw.text.slice(0, 400)).toContain(body.errors?.[0]?.extensions?.["code"]);
  expect(body.data ?? null).toBeNull();
  expectNoUpstream(stack);
  return body;
}

/** `levels` nested `properties { option { … } }` pairs under customerCreateUpdateModel (depth 1 + 2·levels + 1). */
function pushOptionChain(levels: number): string {
  let inner = "displayName";
  for (let i = 0; i < levels; i++) inner = `properties { name option { ${inner} } }`;
  return `{ customerCreateUpdateModel(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}") { ${inner} } }`;
}

const COST_NODE = "edges { node { contacts { phone { number } } addresses { city } } }";

describe("ids and limits under authentication", () => {
  const stack = useStack({ env: jwtEnv() });
  let alice: Record<string, string>;
  const send = (query: string, variables?: Record<string, unknown>) => postRaw(stack, { query, variables }, alice);

  beforeAll(async () => {
    alice = bearer(await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] }));
  });

  describe("ids that try to reach another company or endpoint", () => {
    const companyIds = [
      `${DEMO_COMPANY_ID}/../${SECOND_COMPANY_ID}`,
      `${DEMO_COMPANY_ID}/../../companies/${SECOND_COMPANY_ID}`,
      `${DEMO_COMPANY_ID}%2F..%2F${SECOND_COMPANY_ID}`,
      `${DEMO_COMPANY_ID}%2f%2e%2e%2f${SECOND_COMPANY_ID}`,
      `../${SECOND_COMPANY_ID}`,
      `${DEMO_COMPANY_ID}?x=/companies/${SECOND_COMPANY_ID}`,
      `${DEMO_COMPANY_ID}#`,
      `${DEMO_COMPANY_ID}\n`,
      ` ${DEMO_COMPANY_ID}`,
      `${DEMO_COMPANY_ID}\u0000`,
      `${DEMO_COMPANY_ID}\\..\\${SECOND_COMPANY_ID}`,
      "*",
      "",
    ];

    it.each(companyIds.map((id) => ({ id, shown: JSON.stringify(id) })))(
      "companyId $shown is refused before any Codat call",
      async ({ id }) => {
        for (const query of [
          `query($c: ID!) { customers(companyId: $c, first: 1) { totalCount } }`,
          `query($c: ID!) { customer(companyId: $c, customerId: "x") { customerId } }`,
          `query($c: ID!) { pushOperations(companyId: $c, first: 1) { totalCount } }`,
        ]) {
          const raw = await send(query, { c: id });
          expect([200, 400], raw.text.slice(0, 300)).toContain(raw.status);
          const body = graphqlBody(raw);
          expect(codes(body).length, raw.text.slice(0, 300)).toBeGreaterThan(0);
          for (const code of codes(body)) expect(["BAD_USER_INPUT", "FORBIDDEN"]).toContain(code);
        }
        expectNoUpstream(stack);
      },
    );

    const pathIds = [
      `../../../../companies/${SECOND_COMPANY_ID}/connections/${SECOND_CONNECTION_ID}/data/customers/x`,
      `..%2F..%2F..%2F..%2Fcompanies%2F${SECOND_COMPANY_ID}`,
      `%2e%2e`,
      "..",
      ".",
      "x/../../y",
      "x?pageSize=5000",
      "x#frag",
    ];

    it.each(pathIds.map((id) => ({ id, shown: JSON.stringify(id) })))(
      "customer/attachment id $shown is refused before any Codat call",
      async ({ id }) => {
        const attachment = await send(
          `query($cu: ID!, $a: ID!) { customerAttachment(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customerId: $cu, attachmentId: $a) { id } }`,
          { cu: id, a: "a1" },
        );
        expect(codes(graphqlBody(attachment))).toEqual(["BAD_USER_INPUT"]);
        const attachmentId = await send(
          `query($cu: ID!, $a: ID!) { customerAttachment(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customerId: $cu, attachmentId: $a) { id } }`,
          { cu: ATTACHMENT_CUSTOMER_ID, a: id },
        );
        expect(codes(graphqlBody(attachmentId))).toEqual(["BAD_USER_INPUT"]);
        const update = await send(`mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { pushOperation { status } } }`, {
          i: {
            companyId: DEMO_COMPANY_ID,
            connectionId: DEMO_CONNECTION_ID,
            customerId: id,
            customer: { customerName: "x", status: "ACTIVE" },
          },
        });
        expect(codes(graphqlBody(update))).toEqual(["BAD_USER_INPUT"]);
        expectNoUpstream(stack);
      },
    );

    it("a customer id carrying Codat query-language operators never returns another customer", async () => {
      const [first] = stack.simulator.store
        .company(DEMO_COMPANY_ID)!
        .customers.all()
        .filter((c) => c.id !== AWKWARD_CUSTOMER_ID);
      for (const id of [`x||id=${first?.id}`, `x}||{id!=x`, `${first?.id}&&id!=${first?.id}||id=${first?.id}`]) {
        const body = graphqlBody(
          await send(`query($id: ID!) { customer(companyId: "${DEMO_COMPANY_ID}", customerId: $id) { customerId } }`, { id }),
        );
        const found = (body.data?.["customer"] as { id: string } | null | undefined)?.id;
        if (found !== undefined) expect(found, id).toBe(id);
      }
    });

    it("download paths that try to leave the route are refused without an upstream call", async () => {
      for (const path of [
        "/downloads/..%2F..%2Fgraphql",
        "/downloads/%2e%2e",
        "/downloads/a%2Fb.c",
        "/downloads/..%5C..%5Cgraphql",
        "/downloads/x.y%00",
      ]) {
        const raw = await request(`${stack.origin}${path}`);
        expect([400, 403, 404], `${path}: ${raw.status}`).toContain(raw.status);
      }
      expectNoUpstream(stack);
    });
  });

  describe("operation limits (defaults)", () => {
    it("refuses an alias bomb of 500 customer lookups (by the alias limit or, being long, the token limit)", async () => {
      const query = `{ ${aliases(500, (i) => `a${i}: customer(companyId: "${DEMO_COMPANY_ID}", customerId: "x${i}") { customerId }`)} }`;
      expectRefused(stack, await send(query), ["BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED"]);
    });

    it("refuses alias bombs that stay under the token limit", async () => {
      expectRefused(stack, await send(`{ ${aliases(500, (i) => `a${i}: __typename`)} }`), ["BAD_USER_INPUT"]);
      const lookups = `query($c: ID!) { ${aliases(200, (i) => `a${i}: customer(companyId: $c, customerId: "x") { customerId }`)} }`;
      expectRefused(stack, await send(lookups, { c: DEMO_COMPANY_ID }), ["BAD_USER_INPUT"]);
    });

    it("allows 100 aliases and refuses 101", async () => {
      const ok = await send(`{ ${aliases(100, (i) => `a${i}: __typename`)} }`);
      expect(ok.status, ok.text.slice(0, 300)).toBe(200);
      expect(graphqlBody(ok).errors).toBeUndefined();
      expectRefused(stack, await send(`{ ${aliases(101, (i) => `a${i}: __typename`)} }`), ["BAD_USER_INPUT"]);
    });

    it("counts aliases inside fragments", async () => {
      const query = `{ ...A ...B }
        fragment A on Query { ${aliases(60, (i) => `a${i}: __typename`)} }
        fragment B on Query { ${aliases(60, (i) => `b${i}: __typename`)} }`;
      expectRefused(stack, await send(query), ["BAD_USER_INPUT"]);
    });

    it("refuses a depth bomb through a recursive type", async () => {
      expectRefused(stack, await send(pushOptionChain(15)), ["BAD_USER_INPUT"]);
    });

    it("allows a reasonably nested query", async () => {
      const raw = await send(pushOptionChain(2));
      expect(raw.status, raw.text.slice(0, 300)).toBe(200);
      expect(graphqlBody(raw).errors).toBeUndefined();
    });

    it("measures depth through fragment spreads", async () => {
      const fragments = Array.from(
        { length: 12 },
        (_, i) => `fragment F${i} on PushOption { properties { option { ${i === 11 ? "displayName" : `...F${i + 1}`} } } }`,
      ).join("\n");
      const query = `{ customerCreateUpdateModel(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}") { ...F0 } }\n${fragments}`;
      expectRefused(stack, await send(query), ["BAD_USER_INPUT"]);
    });

    it("measures depth through inline fragments and introspection", async () => {
      let inline = "displayName";
      for (let i = 0; i < 14; i++) inline = `... on PushOption { properties { option { ${inline} } } }`;
      expectRefused(
        stack,
        await send(`{ customerCreateUpdateModel(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}") { ${inline} } }`),
        ["BAD_USER_INPUT"],
      );
      let type = "name";
      for (let i = 0; i < 20; i++) type = `ofType { ${type} }`;
      expectRefused(stack, await send(`{ __type(name: "Customer") { fields { type { ${type} } } } }`), ["BAD_USER_INPUT"]);
    });

    it("answers a fragment cycle with a 400 (no hang, no crash)", async () => {
      const query = `{ customerCreateUpdateModel(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}") { ...A } }
        fragment A on PushOption { properties { option { ...B } } }
        fragment B on PushOption { properties { option { ...A } } }`;
      expectRefused(stack, await send(query), ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"]);
      const ok = await send("{ __typename }");
      expect(ok.status).toBe(200);
    });

    it("refuses a directive bomb spread over inline fragments", async () => {
      const query = `{ ${Array.from({ length: 100 }, () => "... @include(if: true) { __typename }").join(" ")} }`;
      expectRefused(stack, await send(query), ["BAD_USER_INPUT"]);
    });

    it("refuses 100 directives on one field", async () => {
      const query = `{ __typename ${"@include(if: true) ".repeat(100)} }`;
      expectRefused(stack, await send(query), ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"]);
    });

    it("allows a few directives", async () => {
      const raw = await send(
        `query($yes: Boolean!) { a: __typename @include(if: $yes) b: __typename @skip(if: $yes) ... @include(if: true) { __typename } }`,
        {
          yes: true,
        },
      );
      expect(raw.status, raw.text.slice(0, 300)).toBe(200);
      expect(graphqlBody(raw).errors).toBeUndefined();
    });

    it("refuses a token bomb in the parser", async () => {
      expectRefused(stack, await send(`{ ${"__typename ".repeat(6000)}}`), ["GRAPHQL_PARSE_FAILED"]);
      expectRefused(stack, await send(`{ __typename(${"a: 1 ".repeat(2000)}) }`), ["GRAPHQL_PARSE_FAILED"]);
    });

    it("refuses a cost bomb: customers(first: 500) with nested lists under 10 aliases", async () => {
      const query = `{ ${aliases(10, (i) => `c${i}: customers(companyId: "${DEMO_COMPANY_ID}", first: 500) { ${COST_NODE} }`)} }`;
      expectRefused(stack, await send(query), ["BAD_USER_INPUT"]);
    });

    it("counts a fragment's cost at every spread (no bypass by moving the nested lists into a fragment)", async () => {
      const query = `{ ${aliases(10, (i) => `c${i}: customers(companyId: "${DEMO_COMPANY_ID}", first: 500) { ...Heavy }`)} }
        fragment Heavy on CustomerConnection { ${COST_NODE} }`;
      expectRefused(stack, await send(query), ["BAD_USER_INPUT"]);
    });

    // 2^40 expansions: a check that expanded fragments would never answer, and the test would time out.
    it("refuses a fragment bomb (each fragment spreading the next twice) quickly", async () => {
      const fragments = Array.from(
        { length: 40 },
        (_, i) =>
          `fragment F${i} on Query { ${i < 39 ? `...F${i + 1} ...F${i + 1}` : `customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount }`} }`,
      ).join("\n");
      expectRefused(stack, await send(`{ ...F0 }\n${fragments}`), ["BAD_USER_INPUT"]);
      const ok = await send("{ __typename }");
      expect(ok.status).toBe(200);
    });

    it("computes cost from variables, not just literals", async () => {
      const query = `query($n: Int) { ${aliases(10, (i) => `c${i}: customers(companyId: "${DEMO_COMPANY_ID}", first: $n) { ${COST_NODE} }`)} }`;
      expectRefused(stack, await send(query, { n: 500 }), ["BAD_USER_INPUT"]);
      const backwards = `query($n: Int) { ${aliases(10, (i) => `c${i}: customers(companyId: "${DEMO_COMPANY_ID}", last: $n) { ${COST_NODE} }`)} }`;
      expectRefused(stack, await send(backwards, { n: 500 }), ["BAD_USER_INPUT"]);
    });

    it("counts _entities by the number of representations", async () => {
      const representations = Array.from({ length: 3000 }, (_, i) => ({
        __typename: "Customer",
        companyId: DEMO_COMPANY_ID,
        customerId: `c${i}`,
      }));
      const raw = await send(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerId contacts { phone { number } } addresses { city } } } }`,
        { r: representations },
      );
      expectRefused(stack, raw, ["BAD_USER_INPUT"]);
    });

    it("lets an ordinary page through (README's first page)", async () => {
      const raw = await send(`query FirstPage {
        customers(companyId: "${DEMO_COMPANY_ID}", first: 20) {
          totalCount pageInfo { hasNextPage endCursor }
          edges { cursor node { customerId customerName status addresses { type city } contacts { name phone { number type } } } }
        } }`);
      expect(raw.status, raw.text.slice(0, 300)).toBe(200);
      expect(graphqlBody(raw).errors).toBeUndefined();
    });

    it("refuses first/last above 500 with BAD_USER_INPUT and no upstream call", async () => {
      for (const [query, variables] of [
        [`{ customers(companyId: "${DEMO_COMPANY_ID}", first: 501) { totalCount } }`, undefined],
        [`{ customers(companyId: "${DEMO_COMPANY_ID}", last: 100000) { totalCount } }`, undefined],
        [`query($n: Int) { customers(companyId: "${DEMO_COMPANY_ID}", first: $n) { totalCount } }`, { n: 501 }],
        [`{ pushOperations(companyId: "${DEMO_COMPANY_ID}", first: 1000) { totalCount } }`, undefined],
      ] as const) {
        const raw = await send(query, variables);
        expect([200, 400]).toContain(raw.status);
        expect(codes(graphqlBody(raw))).toContain("BAD_USER_INPUT");
      }
      expectNoUpstream(stack);
    });

    it("refuses a body over 1 MiB with 413 (declared or streamed) and no upstream call", async () => {
      const big = JSON.stringify({
        query: `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }`,
        variables: { pad: "x".repeat(1_100_000) },
      });
      const declared = await request(stack.url, { method: "POST", headers: { "content-type": "application/json", ...alice }, body: big });
      expect(declared.status).toBe(413);
      const streamed = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          stack.url,
          { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked", ...alice } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        for (let i = 0; i < 20; i++) req.write(big.slice(i * 60_000, (i + 1) * 60_000));
        req.end(big.slice(20 * 60_000));
      });
      expect(streamed).toBe(413);
      expectNoUpstream(stack);
    });

    it("refuses batched operation arrays (they would bypass per-operation limits)", async () => {
      const one = { query: `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }` };
      const raw = await postRaw(
        stack,
        Array.from({ length: 200 }, () => one),
        alice,
      );
      expect(raw.status, raw.text.slice(0, 300)).toBe(400);
      expectNoUpstream(stack);
    });

    it("sends no CORS headers when CORS_ORIGINS is not set", async () => {
      const preflight = await request(stack.url, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example.com",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
      const actual = await request(stack.url, {
        method: "POST",
        headers: { origin: "https://app.example.com", "content-type": "application/json", ...alice },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      expect(actual.headers.get("access-control-allow-origin")).toBeNull();
    });
  });
});

describe("configurable limits", () => {
  const stack = useStack({
    env: {
      MAX_QUERY_DEPTH: "4",
      MAX_ALIASES: "3",
      MAX_DIRECTIVES: "2",
      MAX_TOKENS: "100",
      MAX_QUERY_COST: "200",
      MAX_REQUEST_BYTES: "4096",
    },
  });
  const send = (query: string) => postRaw(stack, { query });

  it("honours each variable", async () => {
    const small = await send(`{ a: __typename b: __typename }`);
    expect(small.status, small.text).toBe(200);
    expectRefused(stack, await send(`{ ${aliases(4, (i) => `a${i}: __typename`)} }`), ["BAD_USER_INPUT"]);
    expectRefused(stack, await send(pushOptionChain(4)), ["BAD_USER_INPUT"]);
    expectRefused(stack, await send(`{ ${"... @include(if: true) { __typename } ".repeat(3)} }`), ["BAD_USER_INPUT"]);
    expectRefused(stack, await send(`{ ${"__typename ".repeat(150)}}`), ["GRAPHQL_PARSE_FAILED"]);
    expectRefused(stack, await send(`{ customers(companyId: "${DEMO_COMPANY_ID}", first: 500) { nodes { customerId customerName } } }`), [
      "BAD_USER_INPUT",
    ]);
    const big = await request(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }", variables: { pad: "x".repeat(5000) } }),
    });
    expect(big.status).toBe(413);
    expectNoUpstream(stack);
  });
});

describe("browser defaults: CORS and CSRF", () => {
  const ALLOWED = "https://app.example.com";
  const ALSO_ALLOWED = "https://admin.example.com";
  const stack = useStack({ env: jwtEnv({ CORS_ORIGINS: `${ALLOWED}, ${ALSO_ALLOWED}` }) });
  let alice: Record<string, string>;
  beforeAll(async () => {
    alice = bearer(await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] }));
  });

  const preflight = (origin: string) =>
    request(stack.url, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });

  it("answers a preflight from an allowed origin with 204 and the origin echoed (no token needed)", async () => {
    for (const origin of [ALLOWED, ALSO_ALLOWED]) {
      const raw = await preflight(origin);
      expect(raw.status).toBe(204);
      expect(raw.headers.get("access-control-allow-origin")).toBe(origin);
      const allowHeaders = (raw.headers.get("access-control-allow-headers") ?? "").toLowerCase();
      expect(allowHeaders).toContain("authorization");
      expect(allowHeaders).toContain("content-type");
      expect((raw.headers.get("access-control-allow-methods") ?? "").toUpperCase()).toContain("POST");
    }
    expectNoUpstream(stack);
  });

  it("gives other origins no access-control-allow-origin (403 on preflight)", async () => {
    for (const origin of [
      "https://evil.example",
      `${ALLOWED}.evil.example`,
      "http://app.example.com",
      "null",
      "https://app.example.com:8443",
      "https://example.com",
    ]) {
      const raw = await preflight(origin);
      expect(raw.headers.get("access-control-allow-origin"), origin).toBeNull();
      expect(raw.status, origin).toBe(403);
    }
    expectNoUpstream(stack);
  });

  it("adds the header to actual requests from allowed origins only, never *", async () => {
    const query = JSON.stringify({ query: `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }` });
    const ok = await request(stack.url, {
      method: "POST",
      headers: { origin: ALLOWED, "content-type": "application/json", ...alice },
      body: query,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    const other = await request(stack.url, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json", ...alice },
      body: query,
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const unauthenticated = await request(stack.url, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json" },
      body: query,
    });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses simple (CSRF-able) requests with 400 and no upstream call", async () => {
    const query = `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }`;
    const body = JSON.stringify({ query });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const raw = await request(stack.url, { method: "POST", headers: { "content-type": type, ...alice }, body });
      expect(raw.status, `${type}: ${raw.text.slice(0, 200)}`).toBe(400);
    }
    const get = await request(`${stack.url}?query=${encodeURIComponent(query)}`, { headers: alice });
    expect(get.status, get.text.slice(0, 200)).toBe(400);
    expectNoUpstream(stack);
  });

  it("never runs a mutation over GET", async () => {
    const mutation = `mutation { createCustomer(input: { companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customer: { customerName: "Via GET", status: ACTIVE } }) { pushOperation { status } } }`;
    const raw = await request(`${stack.url}?query=${encodeURIComponent(mutation)}`, {
      headers: { "apollo-require-preflight": "true", ...alice },
    });
    expect(raw.status).toBe(405);
    expectNoUpstream(stack);
  });
});

describe("production error masking", () => {
  const API_KEY = "sk_live_SECURITY_SUITE_0123456789abcdefXYZ";
  const BASIC = Buffer.from(API_KEY).toString("base64");
  const MARKER = "RAW-UPSTREAM-BODY-MARKER-7f3a";
  const stack = useStack({
    simulator: { apiKey: API_KEY },
    env: { NODE_ENV: "production", AUTH_MODE: "none", CODAT_API_KEY: API_KEY, CACHE_ENABLED: "false" },
  });

  /** Nothing secret or internal in a response body. */
  function expectClean(text: string, { allowMarker = false }: { allowMarker?: boolean } = {}) {
    const upstream = new URL(stack.simulator.url);
    expect(text).not.toContain(stack.simulator.url);
    expect(text).not.toContain(upstream.host);
    expect(text).not.toContain(`:${upstream.port}`);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(BASIC);
    expect(text.toLowerCase()).not.toContain("authorization");
    expect(text).not.toContain("stacktrace");
    expect(text).not.toMatch(/\n\s+at |node_modules|\/src\/|\.ts:\d+/);
    if (!allowMarker) expect(text).not.toContain(MARKER);
  }

  const leakyBody = () => ({
    error: `${MARKER} failed calling ${stack.simulator.url}/companies/${DEMO_COMPANY_ID}/data/customers with Authorization: Basic ${BASIC}`,
    headers: { authorization: `Basic ${BASIC}`, "x-api-key": API_KEY },
    statusCode: 500,
  });
  const PROBE = `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }`;

  it("works at all (the simulator checks the key)", async () => {
    const result = await stack.graphql(PROBE);
    expect(result.errors).toBeUndefined();
    expect(stack.upstream()[0]?.headers["authorization"]).toBe(`Basic ${BASIC}`);
  });

  it("a 500 whose body echoes the URL and the credentials reaches the client as a code and a generic message", async () => {
    stack.simulator.injectFault({ kind: "status", status: 500, body: leakyBody(), times: Infinity });
    const result = await stack.graphql(PROBE);
    expect(result.errors?.[0]?.extensions?.["code"]).toMatch(/^(UPSTREAM_ERROR|INTERNAL_SERVER_ERROR)$/);
    expectClean(result.text);
  });

  it("a 4xx whose error text echoes the key, with or without an Authorization prefix, does not leak it", async () => {
    for (const error of [
      `Invalid API key ${API_KEY} for ${stack.simulator.url}`,
      `Credential ${BASIC} was rejected`,
      `${MARKER} key=${API_KEY}; Authorization: Basic ${BASIC}`,
    ]) {
      stack.simulator.clearFaults();
      stack.simulator.injectFault({ kind: "status", status: 400, body: { error, statusCode: 400 }, times: Infinity });
      const result = await stack.graphql(PROBE);
      expect(result.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
      expectClean(result.text, { allowMarker: true });
    }
  });

  it("a malformed upstream body is not echoed", async () => {
    stack.simulator.injectFault({ kind: "malformed", times: Infinity });
    const result = await stack.graphql(PROBE);
    expect(result.errors?.length).toBeGreaterThan(0);
    expect(result.text).not.toContain("Arielle");
    expectClean(result.text);
  });

  it("an upstream answer of the wrong shape becomes a coded error without internals", async () => {
    stack.simulator.injectFault({
      kind: "status",
      status: 200,
      body: {
        results: [{ id: 42, customerName: { nested: MARKER }, addresses: "nope", contacts: 7, status: null }],
        pageNumber: 1,
        pageSize: 1,
        totalResults: 1,
      },
      times: Infinity,
    });
    const result = await stack.graphql(
      `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { nodes { customerId customerName status addresses { city } contacts { name } } } }`,
    );
    for (const error of result.errors ?? []) {
      expect(["UPSTREAM_ERROR", "INTERNAL_SERVER_ERROR"]).toContain(error.extensions?.["code"]);
      expect(error.message).not.toMatch(/TypeError|Cannot read|undefined|null is not|Expected/);
    }
    expectClean(result.text);
  });

  it("a download failing upstream with a leaky body is masked too", async () => {
    const attachment = stack.simulator.store.company(DEMO_COMPANY_ID)!.attachments.get(ATTACHMENT_CUSTOMER_ID)?.[0];
    const link = await stack.graphql<{ customerAttachment: { downloadUrl: string } }>(
      `{ customerAttachment(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customerId: "${ATTACHMENT_CUSTOMER_ID}", attachmentId: "${attachment?.attachment.id}") { downloadUrl } }`,
    );
    const url = link.data?.customerAttachment.downloadUrl;
    expect(url).toBeDefined();
    for (const status of [501, 400]) {
      stack.simulator.clearFaults();
      stack.simulator.injectFault({ kind: "status", status, path: /\/download$/, body: leakyBody(), times: Infinity });
      const raw = await request(url ?? "");
      expect(raw.status).toBeGreaterThanOrEqual(400);
      expectClean(raw.text, { allowMarker: status < 500 });
    }
  });

  it("hides field suggestions", async () => {
    for (const query of [
      `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCont } }`,
      `{ custmers(companyId: "${DEMO_COMPANY_ID}") { totalCount } }`,
      `{ customers(companyID: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }`,
      `query($c: Customr) { __typename }`,
      `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { nodes { status(x: ACTIV) } } }`,
    ]) {
      const result = await stack.graphql(query);
      expect(result.status).toBe(400);
      expect(result.text, query).not.toMatch(/did you mean/i);
      expect(result.text).not.toMatch(/totalCount"|"customers"\?|companyId\?/);
    }
    expectNoUpstream(stack);
  });

  it("disables introspection", async () => {
    for (const query of [`{ __schema { queryType { name } } }`, `{ __type(name: "Customer") { fields { name } } }`]) {
      const result = await stack.graphql(query);
      expect(result.status).toBe(400);
      expect(result.data ?? null).toBeNull();
    }
  });
});

describe("startup refusal of an open gateway with a real key", () => {
  const KEY = "sk_live_config_suite_key_0123456789";
  const base = { CODAT_API_KEY: KEY, PORT: "0" };

  it.each(["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "gateway.internal", "127.0.0.1.nip.io", "localhost.evil.example"])(
    "refuses AUTH_MODE=none (explicit or default) with a key on HOST=%s, in one line naming AUTH_MODE and ALLOW_UNAUTHENTICATED",
    (host) => {
      for (const env of [
        { ...base, HOST: host, AUTH_MODE: "none" },
        { ...base, HOST: host },
        { ...base, HOST: host, ALLOW_UNAUTHENTICATED: "false" },
      ]) {
        const problems = configProblems(env);
        expect(problems, JSON.stringify(env)).toHaveLength(1);
        expect(problems[0]).toContain("AUTH_MODE");
        expect(problems[0]).toContain("ALLOW_UNAUTHENTICATED");
        expect(problems[0]).not.toContain(KEY);
      }
    },
  );

  it("accepts the explicit opt-out, loopback hosts, the simulator, and jwt mode", () => {
    expect(configProblems({ ...base, HOST: "0.0.0.0", ALLOW_UNAUTHENTICATED: "true" })).toEqual([]);
    for (const host of ["127.0.0.1", "127.10.20.30", "::1", "localhost"]) expect(configProblems({ ...base, HOST: host }), host).toEqual([]);
    expect(configProblems({ ...base })).toEqual([]);
    expect(configProblems({ PORT: "0", HOST: "0.0.0.0" })).toEqual([]);
    expect(configProblems({ PORT: "0", HOST: "0.0.0.0", CODAT_BASE_URL: "http://127.0.0.1:9" })).toEqual([]);
    expect(configProblems({ ...base, HOST: "0.0.0.0", ...jwtEnv() })).toEqual([]);
  });
});
