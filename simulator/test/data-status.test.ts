/**
 * `GET /companies/{companyId}/dataStatus`: per data type the latest successful sync, whose id changes exactly when
 * the company's records of that type do (the gateway's read cache checks it past its soft age).
 */
import { describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, SECOND_COMPANY_ID } from "../src/index.js";
import { waitFor } from "../../test/helpers/wait.js";
import { useSimulator } from "./helpers.js";

interface Status {
  customers?: { dataType: string; lastSuccessfulSync: string; currentStatus: string; latestSuccessfulSyncId: string; latestSyncId: string };
}

describe("dataStatus", () => {
  const sim = useSimulator({ pushDelayMs: 0 });
  const status = async (companyId: string): Promise<Status> =>
    (await (await fetch(`${sim.url}/companies/${companyId}/dataStatus`)).json()) as Status;

  it("answers the customers' last successful sync, unchanged while nothing changes, per company", async () => {
    const first = await status(DEMO_COMPANY_ID);
    expect(first.customers).toMatchObject({ dataType: "customers", currentStatus: "Complete" });
    expect(first.customers?.latestSuccessfulSyncId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.customers?.latestSyncId).toBe(first.customers?.latestSuccessfulSyncId);
    expect(Number.isNaN(Date.parse(first.customers?.lastSuccessfulSync ?? ""))).toBe(false);
    expect(await status(DEMO_COMPANY_ID)).toEqual(first);
    expect((await status(SECOND_COMPANY_ID)).customers?.latestSuccessfulSyncId).not.toBe(first.customers?.latestSuccessfulSyncId);
  });

  it("gives a new sync id once a push changed the company's customers", async () => {
    const before = (await status(DEMO_COMPANY_ID)).customers?.latestSuccessfulSyncId;
    const response = await fetch(`${sim.url}/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/push/customers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ customerName: "Synced Ltd", status: "Active", defaultCurrency: "GBP" }),
    });
    expect(response.status).toBeLessThan(300);
    await waitFor(async () => (await status(DEMO_COMPANY_ID)).customers?.latestSuccessfulSyncId !== before);
  });

  it("answers 404 for an unknown company", async () => {
    const response = await fetch(`${sim.url}/companies/00000000-0000-4000-8000-000000000000/dataStatus`);
    expect(response.status).toBe(404);
  });
});
