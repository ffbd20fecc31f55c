import { describe, expect, it } from "vitest";
import * as simulatorPackage from "codat-simulator";
import { loadSimulator, SimulatorNotInstalledError, type SimulatorPackage } from "../../src/embedded-upstream.js";

// Compile-time: the simulator package offers what the gateway's entry point calls.
const typed: SimulatorPackage = simulatorPackage;

describe("embedded upstream loader", () => {
  it("loads the simulator package, which starts and stops", async () => {
    const loaded = await loadSimulator();
    expect(loaded.DEMO_COMPANY_ID).toBe(typed.DEMO_COMPANY_ID);
    const sim = await loaded.startSimulator({ latencyMs: 0 });
    try {
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await sim.close();
    }
  });

  it("a missing package is a clear error naming what to set", async () => {
    const error = await loadSimulator("codat-simulator-not-installed").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulatorNotInstalledError);
    expect((error as Error).message).toContain("CODAT_API_KEY");
  });
});
