/**
 * `RecordedRequest.aborted`: whether the client gave up on a request before the simulator had answered it, so
 * tests of a client's cancellation can see it from the upstream side.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID } from "../src/index.js";
import { waitFor } from "../../test/helpers/wait.js";
import { customersPath, useSimulator } from "./helpers.js";

describe("RecordedRequest.aborted", () => {
  const sim = useSimulator();
  afterEach(() => {
    sim.clearFaults();
    sim.resetRequests();
  });

  it("marks a request whose client closed the connection before the answer", async () => {
    sim.injectFault({ kind: "hang" });
    const client = new AbortController();
    const hung = fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`, { signal: client.signal }).catch((error: unknown) => error);
    await waitFor(() => sim.requests.length === 1);
    expect(sim.requests[0]?.aborted).toBeUndefined();
    client.abort();
    expect(await hung).toMatchObject({ name: "AbortError" });
    await waitFor(() => sim.requests[0]?.aborted === true);
  });

  it("leaves answered requests, and connections the simulator cut itself, unmarked", async () => {
    await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`).then((r) => r.text());
    sim.injectFault({ kind: "reset" });
    await expect(fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`)).rejects.toThrow();
    // A later request on a fresh connection: by its answer, both earlier connections' closes have been seen.
    await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`, { headers: { connection: "close" } }).then((r) => r.text());
    expect(sim.requests).toHaveLength(3);
    expect(sim.requests.map((request) => request.aborted)).toEqual([undefined, undefined, undefined]);
  });
});
