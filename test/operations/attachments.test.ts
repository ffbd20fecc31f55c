import { describe, expect, it } from "vitest";
import {
  ATTACHMENT_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  ManualClock,
  SECOND_CONNECTION_ID,
  type AttachmentRecord,
} from "codat-simulator";
import { startStack, useStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

interface AttachmentNode {
  attachmentId: string;
  name: string | null;
  contentType: string | null;
  fileSize: number | null;
  dateCreated: string | null;
  includeWhenSent: boolean | null;
  modifiedDate: string | null;
  downloadUrl: string;
}

const FIELDS = "attachmentId name contentType fileSize dateCreated includeWhenSent modifiedDate downloadUrl";

const LIST_QUERY = /* GraphQL */ `
  query List($companyId: ID!, $connectionId: ID!, $id: ID!) {
    customer(companyId: $companyId, customerId: $id) { customerId attachments(connectionId: $connectionId) { ${FIELDS} } }
  }
`;

const GET_QUERY = /* GraphQL */ `
  query Get($companyId: ID!, $connectionId: ID!, $customerId: ID!, $attachmentId: ID!) {
    customerAttachment(companyId: $companyId, connectionId: $connectionId, customerId: $customerId, attachmentId: $attachmentId) { ${FIELDS} }
  }
`;

// Counts the Codat calls of each operation: no read cache (test/cache/ covers it).
const stack = useStack({ env: { CACHE_ENABLED: "false" } });

function records(customerId: string): AttachmentRecord[] {
  return stack.simulator.store.company(DEMO_COMPANY_ID)?.attachments.get(customerId) ?? [];
}

function expected(record: AttachmentRecord): Omit<AttachmentNode, "downloadUrl"> {
  const a = record.attachment;
  return {
    attachmentId: a.id,
    name: a.name ?? null,
    contentType: a.contentType ?? null,
    fileSize: a.fileSize,
    dateCreated: a.dateCreated ?? null,
    includeWhenSent: a.includeWhenSent ?? null,
    modifiedDate: a.modifiedDate ?? null,
  };
}

const attachmentCalls = () => stack.upstream().filter((r) => r.path.includes("/attachments"));

describe("Customer.attachments", () => {
  it("lists a customer's attachments with absolute download links, in one call after the customer's", async () => {
    const want = records(ATTACHMENT_CUSTOMER_ID);
    expect(want.length).toBeGreaterThan(0);
    const result = await stack.graphql<{ customer: { id: string; attachments: AttachmentNode[] } }>(LIST_QUERY, {
      companyId: DEMO_COMPANY_ID,
      connectionId: DEMO_CONNECTION_ID,
      id: ATTACHMENT_CUSTOMER_ID,
    });
    expect(result.errors).toBeUndefined();
    const list = result.data?.customer.attachments ?? [];
    expect(list.map(({ downloadUrl: _url, ...rest }) => rest)).toEqual(want.map(expected));
    for (const attachment of list) {
      expect(attachment.downloadUrl).toMatch(new RegExp(`^${stack.origin}/downloads/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`));
    }
    expect(new Set(list.map((a) => a.downloadUrl)).size).toBe(list.length);
    expect(attachmentCalls().map((r) => r.rawUrl)).toEqual([
      `/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/data/customers/${ATTACHMENT_CUSTOMER_ID}/attachments`,
    ]);
    // The download route is not called by listing.
    expect(stack.upstream().some((r) => r.path.endsWith("/download"))).toBe(false);
  });

  it("answers an empty list for a customer without attachments", async () => {
    const company = stack.simulator.store.company(DEMO_COMPANY_ID);
    const bare = company?.customers.all().find((c) => !company.attachments.has(c.id));
    expect(bare).toBeDefined();
    const result = await stack.graphql<{ customer: { attachments: AttachmentNode[] } }>(LIST_QUERY, {
      companyId: DEMO_COMPANY_ID,
      connectionId: DEMO_CONNECTION_ID,
      id: bare?.id,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data?.customer.attachments).toEqual([]);
    expect(attachmentCalls()).toHaveLength(1);
  });

  it("deduplicates the same list asked for twice in one operation", async () => {
    const result = await stack.graphql(/* GraphQL */ `{
      customer(companyId: "${DEMO_COMPANY_ID}", customerId: "${ATTACHMENT_CUSTOMER_ID}") {
        a: attachments(connectionId: "${DEMO_CONNECTION_ID}") { id }
        b: attachments(connectionId: "${DEMO_CONNECTION_ID.toUpperCase()}") { name }
      }
      again: customer(companyId: "${DEMO_COMPANY_ID}", customerId: "${ATTACHMENT_CUSTOMER_ID}") {
        attachments(connectionId: "${DEMO_CONNECTION_ID}") { fileSize }
      }
    }`);
    expect(result.errors).toBeUndefined();
    expect(attachmentCalls()).toHaveLength(1);
  });

  it("fetches the attachments of 50 customers within the per-company limit, one call each and no 429", async () => {
    // A second stack whose simulator holds every answer until the test moves its clock: the calls overlap
    // however busy the machine is, and what is in flight can be read exactly.
    const clock = new ManualClock();
    const slow = await startStack({ simulator: { latencyMs: 20, clock } });
    try {
      const answer = slow.graphql<{
        customers: { nodes: { customerId: string; attachments: { attachmentId: string }[] }[] };
      }>(/* GraphQL */ `{
        customers(companyId: "${DEMO_COMPANY_ID}", first: 50) {
          nodes {
            customerId
            attachments(connectionId: "${DEMO_CONNECTION_ID}") { attachmentId }
            same: attachments(connectionId: "${DEMO_CONNECTION_ID}") { downloadUrl }
          }
        }
      }`);
      let settled = false;
      void answer.finally(() => {
        settled = true;
      });
      // The customers page first.
      await waitFor(() => clock.pending === 1);
      clock.advance(20);
      // Then the 50 attachment lists: 10 reach Codat, the other 40 wait in the gateway's per-company queue.
      await waitFor(() => clock.pending === 10);
      expect(slow.gateway.client.inFlight(DEMO_COMPANY_ID)).toBe(10);
      expect(slow.gateway.client.queued(DEMO_COMPANY_ID)).toBe(40);
      let peakAtCodat = 0;
      while (!settled) {
        await waitFor(() => clock.pending > 0 || settled);
        peakAtCodat = Math.max(peakAtCodat, clock.pending);
        clock.advance(20);
      }
      const result = await answer;
      expect(result.errors).toBeUndefined();
      const nodes = result.data?.customers.nodes ?? [];
      expect(nodes).toHaveLength(50);
      const company = slow.simulator.store.company(DEMO_COMPANY_ID);
      for (const node of nodes) {
        expect(node.attachments.map((a) => a.attachmentId)).toEqual(
          (company?.attachments.get(node.customerId) ?? []).map((r) => r.attachment.id),
        );
      }
      const calls = slow.upstream().filter((r) => r.path.endsWith("/attachments"));
      // Exactly one call per customer: a 429 would have been retried and shown up as a 51st call.
      expect(calls).toHaveLength(50);
      expect(new Set(calls.map((r) => r.path)).size).toBe(50);
      expect(slow.upstream()).toHaveLength(51);
      expect(peakAtCodat).toBeLessThanOrEqual(10);
    } finally {
      await slow.close();
    }
  });

  it("reports an unknown connection as NOT_FOUND on the field alone", async () => {
    const result = await stack.graphql<{ customer: { id: string; attachments: unknown } | null }>(LIST_QUERY, {
      companyId: DEMO_COMPANY_ID,
      connectionId: SECOND_CONNECTION_ID,
      id: ATTACHMENT_CUSTOMER_ID,
    });
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    expect(result.errors?.[0]?.path).toEqual(["customer", "attachments"]);
    expect(result.text).not.toContain(new URL(stack.simulator.url).host);
  });
});

describe("customerAttachment", () => {
  it("gets one attachment by id", async () => {
    const [record] = records(ATTACHMENT_CUSTOMER_ID);
    if (!record) throw new Error("the demo customer has attachments");
    const result = await stack.graphql<{ customerAttachment: AttachmentNode }>(GET_QUERY, {
      companyId: DEMO_COMPANY_ID,
      connectionId: DEMO_CONNECTION_ID,
      customerId: ATTACHMENT_CUSTOMER_ID,
      attachmentId: record.attachment.id,
    });
    expect(result.errors).toBeUndefined();
    const { downloadUrl, ...rest } = result.data?.customerAttachment ?? ({} as AttachmentNode);
    expect(rest).toEqual(expected(record));
    expect(downloadUrl.startsWith(`${stack.origin}/downloads/`)).toBe(true);
    expect(stack.upstream().map((r) => r.rawUrl)).toEqual([
      `/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/data/customers/${ATTACHMENT_CUSTOMER_ID}/attachments/${record.attachment.id}`,
    ]);
  });

  it("is null, without an error, when Codat has no such attachment", async () => {
    const result = await stack.graphql(GET_QUERY, {
      companyId: DEMO_COMPANY_ID,
      connectionId: DEMO_CONNECTION_ID,
      customerId: ATTACHMENT_CUSTOMER_ID,
      attachmentId: "00000000-0000-4000-8000-00000000dead",
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ customerAttachment: null });
    expect(stack.upstream()).toHaveLength(1);
  });

  it("refuses malformed ids with BAD_USER_INPUT and no upstream call", async () => {
    const cases = [
      { companyId: "not-a-uuid", connectionId: DEMO_CONNECTION_ID, customerId: "c", attachmentId: "a" },
      { companyId: DEMO_COMPANY_ID, connectionId: "nope", customerId: "c", attachmentId: "a" },
      { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customerId: "../x", attachmentId: "a" },
      { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customerId: "c", attachmentId: "a/b" },
      { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customerId: "c", attachmentId: "a%2Fb" },
      { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customerId: "c", attachmentId: ".." },
    ];
    for (const variables of cases) {
      const result = await stack.graphql(GET_QUERY, variables);
      expect(result.errors?.[0]?.extensions?.["code"], JSON.stringify(variables)).toBe("BAD_USER_INPUT");
      expect(result.data).toEqual({ customerAttachment: null });
    }
    const list = await stack.graphql(LIST_QUERY, { companyId: DEMO_COMPANY_ID, connectionId: "nope", id: ATTACHMENT_CUSTOMER_ID });
    expect(list.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    // Only the customer lookup of the last query reached Codat.
    expect(stack.upstream().every((r) => !r.path.includes("/attachments"))).toBe(true);
    expect(stack.upstream()).toHaveLength(1);
  });
});

describe("partial results", () => {
  it("one failed attachments call inside a page nulls that list alone; the page and the other lists stand", async () => {
    stack.resetUpstream();
    // The first attachments call is refused (a 400 is not retried); the others answer normally.
    stack.simulator.injectFault({ kind: "status", status: 400, path: /\/attachments$/, times: 1 });
    const result = await stack.graphql<{ customers: { nodes: { id: string; attachments: { name: string }[] | null }[] } }>(
      `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 3) { nodes { customerId attachments(connectionId: "${DEMO_CONNECTION_ID}") { name } } } }`,
    );
    const nodes = result.data!.customers.nodes;
    expect(nodes).toHaveLength(3);
    expect(nodes.filter((n) => n.attachments === null)).toHaveLength(1);
    expect(nodes.filter((n) => Array.isArray(n.attachments))).toHaveLength(2);
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.path).toEqual(["customers", "nodes", nodes.findIndex((n) => n.attachments === null), "attachments"]);
    expect(result.errors![0]!.extensions?.["code"]).toBe("BAD_USER_INPUT");
  });
});
