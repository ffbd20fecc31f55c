/** PUSH_STATUS_* settings: active polling by default, a slow safety net when webhooks are configured. */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { configProblems } from "../helpers/config.js";

const base = { CODAT_BASE_URL: "http://127.0.0.1:1" };

describe("push status configuration", () => {
  it("polls actively without webhooks and slowly with CODAT_WEBHOOK_SECRET", () => {
    expect(parseConfig(base).pushStatus).toEqual({
      pollIntervalMs: 500,
      maxPollIntervalMs: 10_000,
      maxWaitMs: 1_800_000,
      maxConnections: 10_000,
    });
    expect(parseConfig({ ...base, CODAT_WEBHOOK_SECRET: "w".repeat(32) }).pushStatus).toMatchObject({
      pollIntervalMs: 30_000,
      maxPollIntervalMs: 60_000,
    });
    expect(
      parseConfig({
        ...base,
        PUSH_STATUS_POLL_INTERVAL_MS: "20",
        PUSH_STATUS_POLL_MAX_INTERVAL_MS: "100",
        PUSH_STATUS_MAX_WAIT_MS: "5000",
        WS_MAX_CONNECTIONS: "50",
      }).pushStatus,
    ).toEqual({ pollIntervalMs: 20, maxPollIntervalMs: 100, maxWaitMs: 5_000, maxConnections: 50 });
  });

  it("refuses a max interval below the first and values out of range", () => {
    expect(
      configProblems({ ...base, PUSH_STATUS_POLL_INTERVAL_MS: "5000", PUSH_STATUS_POLL_MAX_INTERVAL_MS: "1000" }).join("\n"),
    ).toContain("PUSH_STATUS_POLL_MAX_INTERVAL_MS");
    expect(configProblems({ ...base, PUSH_STATUS_POLL_INTERVAL_MS: "0" }).join("\n")).toContain("PUSH_STATUS_POLL_INTERVAL_MS");
    expect(configProblems({ ...base, PUSH_STATUS_MAX_WAIT_MS: "abc" }).join("\n")).toContain("PUSH_STATUS_MAX_WAIT_MS");
  });
});
