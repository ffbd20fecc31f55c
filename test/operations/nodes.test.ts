/** Relay Global Object Identification: every Node's id refetches it through node(id:), batched like the root fields. */
import { describe, expect, it } from "vitest";
import { ATTACHMENT_CUSTOMER_ID, DEMO_COMPANY_ID, DEMO_CONNECTION_ID, SECOND_COMPANY_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";

const stack = useStack();

async function nodeOf(id: string, selection: string) {
  const result = await stack.graphql<{ node: Record<string, unknown> | null }>(
    `query($id: ID!) { node(id: $id) { __typename id ${selection} } }`,
    { id },
  );
  expect(result.errors, result.text.slice(0, 300)).toBeUndefined();
  return result.data!.node;
}

describe("node(id:)", () => {
  it("round-trips a Customer, an Attachment, a PushOperation and a DataConnection", async () => {
    const read = await stack.graphql<{
      customer: { id: string; customerId: string; attachments: { id: string; attachmentId: string }[] };
      pushOperations: { nodes: { id: string; pushOperationKey: string }[] };
      connections: { id: string; connectionId: string }[];
    }>(`{
      customer(companyId: "${DEMO_COMPANY_ID}", customerId: "${ATTACHMENT_CUSTOMER_ID}") {
        id customerId attachments(connectionId: "${DEMO_CONNECTION_ID}") { id attachmentId }
      }
      pushOperations(companyId: "${DEMO_COMPANY_ID}", first: 1) { nodes { id pushOperationKey } }
      connections(companyId: "${DEMO_COMPANY_ID}") { id connectionId }
    }`);
    expect(read.errors).toBeUndefined();
    const { customer, pushOperations, connections } = read.data!;
    expect(await nodeOf(customer.id, "... on Customer { customerId }")).toEqual({
      __typename: "Customer",
      id: customer.id,
      customerId: ATTACHMENT_CUSTOMER_ID,
    });
    const attachment = customer.attachments[0]!;
    expect(await nodeOf(attachment.id, "... on Attachment { attachmentId }")).toEqual({
      __typename: "Attachment",
      id: attachment.id,
      attachmentId: attachment.attachmentId,
    });
    const push = pushOperations.nodes[0]!;
    expect(await nodeOf(push.id, "... on PushOperation { pushOperationKey }")).toEqual({
      __typename: "PushOperation",
      id: push.id,
      pushOperationKey: push.pushOperationKey,
    });
    const connection = connections.find((c) => c.connectionId === DEMO_CONNECTION_ID)!;
    expect(await nodeOf(connection.id, "... on DataConnection { connectionId }")).toEqual({
      __typename: "DataConnection",
      id: connection.id,
      connectionId: DEMO_CONNECTION_ID,
    });
  });

  it("nodes(ids) batches customers of one company into one list call, like the root field", async () => {
    const page = await stack.graphql<{ customers: { nodes: { id: string }[] } }>(
      `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 20) { nodes { id } } }`,
    );
    const ids = page.data!.customers.nodes.map((n) => n.id);
    // The page filled these customers' entries in the read cache; the batching under test is what a miss does
    // (a connection event drops every entry of the company).
    await stack.gateway.cache?.dataChanged({ kind: "connection", companyId: DEMO_COMPANY_ID, dataTypes: ["*"] });
    stack.resetUpstream();
    const result = await stack.graphql<{ nodes: ({ id: string } | null)[] }>(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
    expect(result.errors).toBeUndefined();
    expect(result.data!.nodes.map((n) => n?.id)).toEqual(ids);
    expect(stack.upstream()).toHaveLength(1);
  });

  it("ids are globally unique: they encode the company, so one Codat id in two companies gives two ids", async () => {
    const { toGlobalId } = await import("../../src/ids/global-id.js");
    const same = "CUST-1";
    expect(toGlobalId({ type: "Customer", companyId: DEMO_COMPANY_ID, customerId: same })).not.toBe(
      toGlobalId({ type: "Customer", companyId: SECOND_COMPANY_ID, customerId: same }),
    );
    const [a, b] = await Promise.all(
      [DEMO_COMPANY_ID, SECOND_COMPANY_ID].map(async (companyId) => {
        const r = await stack.graphql<{ customers: { nodes: { id: string; customerId: string }[] } }>(
          `{ customers(companyId: "${companyId}", first: 1) { nodes { id customerId } } }`,
        );
        return r.data!.customers.nodes[0]!;
      }),
    );
    expect(a!.id).not.toBe(b!.id);
    expect(new Set([a!.id, b!.id]).size).toBe(2);
  });

  it("resolves a Customer federation reference by its global id", async () => {
    const page = await stack.graphql<{ customers: { nodes: { id: string; customerId: string }[] } }>(
      `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { nodes { id customerId } } }`,
    );
    const { id, customerId } = page.data!.customers.nodes[0]!;
    const result = await stack.graphql<{ _entities: ({ customerId: string } | null)[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerId } } }`,
      { r: [{ __typename: "Customer", id }] },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities).toEqual([{ customerId }]);
  });
});
