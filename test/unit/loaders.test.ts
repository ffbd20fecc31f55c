import { describe, expect, it } from "vitest";
import { createLoaders } from "../../src/loaders/index.js";
import type { CodatApi } from "../../src/auth/scoped-client.js";
import type { CodatCustomerRecord, CodatCustomersPage } from "../../src/codat/types.js";

const COMPANY = "8A210B68-6988-11ED-A1EB-0242AC120002";

const record = (id: string): CodatCustomerRecord =>
  ({ id, customerName: `Customer ${id}`, status: "Active", addresses: [], contacts: [] }) as unknown as CodatCustomerRecord;

/** A Codat stand-in for the two customer reads, counting the calls made. */
function fakeApi(ids: string[]) {
  const calls: string[] = [];
  const api = {
    listCustomers: async (companyId: string, params: { query?: string | undefined }) => {
      calls.push(`list ${companyId} ${params.query ?? ""}`);
      const wanted = params.query?.match(/id=([^|&}]+)/g)?.map((part) => part.slice(3));
      const results = (wanted ?? ids).filter((id) => ids.includes(id)).map(record);
      return { results, pageNumber: 1, pageSize: 100, totalResults: results.length, _links: {} } as unknown as CodatCustomersPage;
    },
    getCustomer: async (companyId: string, id: string) => {
      calls.push(`get ${companyId} ${id}`);
      return ids.includes(id) ? record(id) : null;
    },
  };
  return { api: api as unknown as CodatApi, calls };
}

describe("createLoaders", () => {
  it("answers customer(id) for a customer read in a list page of the same request without a call", async () => {
    const { api, calls } = fakeApi(["c-1", "c-2", "c-3"]);
    const loaders = createLoaders(api);
    await loaders.customerPage.load({ companyId: COMPANY, page: 1, pageSize: 20 });
    expect(calls).toHaveLength(1);

    // The company id in another case is the same company.
    const [one, two] = await Promise.all([
      loaders.customer.load({ companyId: COMPANY.toLowerCase(), id: "c-2" }),
      loaders.customer.load({ companyId: COMPANY, id: "c-3" }),
    ]);
    expect(one).toMatchObject({ id: "c-2", customerName: "Customer c-2" });
    expect(two).toMatchObject({ id: "c-3", customerName: "Customer c-3" });
    expect(calls).toHaveLength(1);
  });

  it("still asks Codat for an id the page did not hold, in one call for the batch", async () => {
    const { api, calls } = fakeApi(["c-1", "c-2"]);
    const loaders = createLoaders(api);
    await loaders.customerPage.load({ companyId: COMPANY, page: 1, pageSize: 20 });
    const results = await Promise.all([
      loaders.customer.load({ companyId: COMPANY, id: "c-1" }),
      loaders.customer.load({ companyId: COMPANY, id: "c-9" }),
    ]);
    expect(results[0]).toMatchObject({ id: "c-1" });
    expect(results[1]).toBeNull();
    expect(calls).toHaveLength(2);
    expect(calls[1]).toContain("c-9");
    expect(calls[1]).not.toContain("c-1");
  });
});
