import { describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";

const stack = useStack();

interface Connections {
  connections:
    | {
        connectionId: string;
        companyId: string;
        platformName: string | null;
        sourceType: string | null;
        status: string | null;
        integrationKey: string | null;
        created: string | null;
      }[]
    | null;
}

describe("connections", () => {
  it("lists the demo company's connections in one Codat call, the demo connection among them", async () => {
    stack.resetUpstream();
    const result = await stack.graphql<Connections>(
      `query($c: ID!) { connections(companyId: $c) { connectionId companyId platformName sourceType status integrationKey linkUrl lastSync created } }`,
      { c: DEMO_COMPANY_ID },
    );
    expect(result.errors).toBeUndefined();
    const demo = result.data!.connections!.find((c) => c.connectionId === DEMO_CONNECTION_ID);
    expect(demo).toMatchObject({ companyId: DEMO_COMPANY_ID, status: "Linked", sourceType: "Accounting" });
    expect(demo!.platformName).toEqual(expect.any(String));
    expect(demo!.created).toEqual(expect.any(String));
    expect(stack.upstream()).toHaveLength(1);
    expect(stack.upstream()[0]).toMatchObject({
      method: "GET",
      path: `/companies/${DEMO_COMPANY_ID}/connections`,
      query: { page: "1", pageSize: "2000" },
    });
  });

  it("an unknown company nulls the field with NOT_FOUND; a malformed id is BAD_USER_INPUT with no call", async () => {
    const unknown = await stack.graphql<Connections>(`{ connections(companyId: "00000000-0000-4000-8000-00000000abcd") { connectionId } }`);
    expect(unknown.data?.connections).toBeNull();
    expect(unknown.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    stack.resetUpstream();
    const malformed = await stack.graphql<Connections>(`{ connections(companyId: "../x") { connectionId } }`);
    expect(malformed.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(stack.upstream()).toHaveLength(0);
  });
});
