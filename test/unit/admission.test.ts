/**
 * graphql/admission.ts without a server: the masking step formats an error the same whether Apollo hands it
 * over (formatError) or the WebSocket has it in hand (formatGraphQLError), and the router secret and trusted
 * documents decide the same for any transport.
 */
import { createHash } from "node:crypto";
import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { Admission, ROUTER_ONLY_MESSAGE, UNTRUSTED_MESSAGE } from "../../src/graphql/admission.js";
import { buildSchema } from "../../src/schema.js";
import { OperationLimitError } from "../../src/security/limits.js";
import { TrustedDocuments } from "../../src/security/trusted-documents.js";

const limits = { maxDepth: 12, maxAliases: 100, maxDirectives: 20, maxCost: 50_000, maxTokens: 5_000 };
const LISTED = 'subscription { pushOperationUpdated(companyId: "c", pushOperationKey: "k") { id } }';

function admission(extra: Partial<ConstructorParameters<typeof Admission>[0]> = {}): Admission {
  return new Admission({ schema: buildSchema(), limits, hideSchemaDetails: false, includeStacktrace: false, ...extra });
}

describe("masking", () => {
  it.each([
    ["an unexpected error", new GraphQLError("connect ECONNREFUSED 10.0.0.1:443", { originalError: new Error("boom") })],
    ["a coded error", new GraphQLError("No such customer.", { extensions: { code: "NOT_FOUND" } })],
    [
      "a limit's rejection",
      new GraphQLError("Too deep.", {
        extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
        originalError: new OperationLimitError("Too deep."),
      }),
    ],
  ])("formats %s the same for Apollo and the WebSocket", (_name, error) => {
    const pipeline = admission();
    const formatted = pipeline.formatGraphQLError(error);
    expect(pipeline.formatError(error.toJSON(), error)).toEqual(formatted);
    expect(formatted.extensions?.["stacktrace"]).toBeUndefined();
  });

  it("hides what a client must not see", () => {
    const pipeline = admission();
    expect(pipeline.formatGraphQLError(new GraphQLError("connect ECONNREFUSED 10.0.0.1:443"))).toEqual({
      message: "Internal server error",
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    });
    const limit = new GraphQLError("Too deep.", {
      extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
      originalError: new OperationLimitError("Too deep."),
    });
    expect(pipeline.formatGraphQLError(limit).extensions?.["code"]).toBe("BAD_USER_INPUT");
  });
});

describe("router secret and trusted documents", () => {
  it("refuses a request without the router secret, and takes one with it", () => {
    const pipeline = admission({ routerSecret: { header: "x-router-secret", value: "s".repeat(16) } });
    expect(pipeline.routerRefusal({})?.message).toBe(ROUTER_ONLY_MESSAGE);
    expect(pipeline.routerRefusal({ "x-router-secret": "wrong" })?.extensions["code"]).toBe("UNAUTHENTICATED");
    expect(pipeline.routerRefusal({ "x-router-secret": "s".repeat(16) })).toBeUndefined();
    expect(admission().routerRefusal({})).toBeUndefined();
  });

  it("resolves a listed document, lets the router's own text through, refuses anything else", () => {
    const hash = createHash("sha256").update(LISTED).digest("hex");
    const pipeline = admission({ trustedDocuments: new TrustedDocuments({ [hash]: LISTED }) });
    expect(pipeline.trustedDocument({ documentId: hash }, false)).toBe(LISTED);
    expect(pipeline.trustedDocument({ query: "{ __typename }" }, true)).toBeUndefined();
    const refused = pipeline.trustedDocument({ query: "{ __typename }" }, false);
    expect(refused).toBeInstanceOf(GraphQLError);
    expect((refused as GraphQLError).message).toBe(UNTRUSTED_MESSAGE);
    expect(pipeline.admit({ query: "{ __typename }" }, false)).toEqual([refused]);
    expect(admission().trustedDocument({ query: "{ __typename }" }, false)).toBeUndefined();
  });

  it("admits a listed subscription by its id", () => {
    const hash = createHash("sha256").update(LISTED).digest("hex");
    const admitted = admission({ trustedDocuments: new TrustedDocuments({ [hash]: LISTED }) }).admit({ documentId: hash }, false);
    expect("document" in admitted && admitted.operation.operation).toBe("subscription");
  });
});
