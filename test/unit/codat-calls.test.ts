/** The Codat calls an operation is predicted to make (src/security/codat-calls.ts), as the loaders batch them. */
import { Kind, parse, type OperationDefinitionNode } from "graphql";
import { describe, expect, it } from "vitest";
import { toGlobalId } from "../../src/ids/global-id.js";
import { buildSchema } from "../../src/schema.js";
import { predictCodatCalls } from "../../src/security/codat-calls.js";
import { checkEstimate, estimateOperation } from "../../src/security/estimate.js";
import { operationCost } from "../../src/security/limits.js";

const schema = buildSchema();
const C = "8a210b68-6988-11ed-a1eb-0242ac120002";
const K = "2e9d2c44-f675-40ba-8049-353bfcb5e171";
const uuid = (i: number, group = 0) => `00000000-0000-0000-${String(group).padStart(4, "0")}-${String(i).padStart(12, "0")}`;

function parts(source: string) {
  const document = parse(source);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return { document, operation };
}
const calls = (source: string, variables: Record<string, unknown> = {}) => {
  const { document, operation } = parts(source);
  return predictCodatCalls(schema, document, operation, variables);
};
const cost = (source: string, variables: Record<string, unknown> = {}) => {
  const { document, operation } = parts(source);
  return operationCost(schema, document, operation, variables);
};

describe("predicted Codat calls", () => {
  it("prices a defaulted variable like the literal, in cost and calls", () => {
    const literal = `{ customers(companyId: "${C}", first: 500) { nodes { customerName } } }`;
    const defaulted = `query($f: Int = 500) { customers(companyId: "${C}", first: $f) { nodes { customerName } } }`;
    expect(cost(defaulted)).toBe(cost(literal));
    expect(cost(defaulted, { f: 2 })).toBeLessThan(cost(literal));
    expect(calls(defaulted)).toBe(1);
  });

  it("counts a list page's calls by its window", () => {
    expect(calls(`{ customers(companyId: "${C}", first: 10) { totalCount } }`)).toBe(1);
    expect(calls(`{ customers(companyId: "${C}", first: 10, after: "c") { totalCount } }`)).toBe(2);
    expect(calls(`{ customers(companyId: "${C}", last: 10) { totalCount } }`)).toBe(3);
    expect(calls(`{ pushOperations(companyId: "${C}", last: 10, before: "c") { totalCount } }`)).toBe(2);
  });

  it("batches customers by id per company, 49 per call, and counts other ids one by one", () => {
    const customers = (n: number, group = 0) =>
      Array.from({ length: n }, (_, i) => toGlobalId({ type: "Customer", companyId: C, customerId: uuid(i, group) }));
    const nodes = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`;
    expect(calls(nodes, { ids: customers(49) })).toBe(1);
    expect(calls(nodes, { ids: customers(50) })).toBe(2);
    expect(calls(nodes, { ids: customers(100) })).toBe(3);
    // The same ids again (aliases) are the same loader keys.
    expect(calls(`query($ids: [ID!]!) { a: nodes(ids: $ids) { id } b: nodes(ids: $ids) { id } }`, { ids: customers(100) })).toBe(3);
    const attachments = Array.from({ length: 7 }, (_, i) =>
      toGlobalId({ type: "Attachment", companyId: C, connectionId: K, customerId: uuid(i), attachmentId: "a" }),
    );
    expect(calls(nodes, { ids: [...attachments, "not-an-id", ...customers(3)] })).toBe(8);
    // customer(...) lookups join the same batch.
    expect(
      calls(
        `{ a: customer(companyId: "${C}", customerId: "${uuid(1)}") { id } b: customer(companyId: "${C}", customerId: "${uuid(2)}") { id } }`,
      ),
    ).toBe(1);
    // An id that cannot go into a query is read alone.
    expect(calls(`{ customer(companyId: "${C}", customerId: "a b") { id } }`)).toBe(1);
  });

  it("counts _entities per representation and per batch call", () => {
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerName } } }`;
    const reps = (n: number, spread: boolean) =>
      Array.from({ length: n }, (_, i) => ({ __typename: "Customer", companyId: spread ? uuid(i, 1) : C, customerId: uuid(i) }));
    expect(calls(query, { r: reps(300, false) })).toBe(7);
    expect(calls(query, { r: reps(300, true) })).toBe(300);
    expect(
      calls(query, { r: [{ __typename: "PushOperation", companyId: C, pushOperationKey: uuid(1) }, "junk", { __typename: "Nope" }] }),
    ).toBe(1);
    expect(cost(query, { r: reps(300, false) })).toBe(301);
  });

  it("counts attachments per parent, once for aliases with the same arguments, through fragments", () => {
    const page = `{ customers(companyId: "${C}", first: 50) { nodes { a: attachments(connectionId: "${K}") { name } b: attachments(connectionId: "${K}") { name } } } }`;
    expect(calls(page)).toBe(51);
    const other = `{ customers(companyId: "${C}", first: 20) { nodes { attachments(connectionId: "${K}") { name } other: attachments(connectionId: "${uuid(1)}") { name } } } }`;
    expect(calls(other)).toBe(41);
    const fragment = `{ customers(companyId: "${C}", first: 10) { nodes { ...A } } } fragment A on Customer { attachments(connectionId: "${K}") { name } }`;
    expect(calls(fragment)).toBe(11);
  });

  it("refuses over the calls cap naming the estimate, and over the cost cap", () => {
    const { document, operation } = parts(
      `{ customers(companyId: "${C}", first: 50) { nodes { attachments(connectionId: "${K}") { name } } } }`,
    );
    const estimate = estimateOperation(schema, document, operation, {});
    expect(checkEstimate(estimate, { maxCost: 50_000, maxCodatCalls: 51 })).toBeUndefined();
    const refusal = checkEstimate(estimate, { maxCost: 50_000, maxCodatCalls: 50 });
    expect(refusal?.message).toMatch(/estimated 51 Codat calls; the limit is 50/);
    expect(refusal?.extensions["code"]).toBe("BAD_USER_INPUT");
    expect(checkEstimate(estimate, { maxCost: 10 })?.message).toMatch(/estimated cost is \d+; the limit is 10/);
  });
});
