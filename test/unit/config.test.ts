import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";

describe("parseConfig", () => {
  it("defaults to the embedded simulator on loopback:4000", () => {
    expect(parseConfig({})).toMatchObject({ useSimulator: true, host: "127.0.0.1", port: 4000, production: false, introspection: true, codatBaseUrl: undefined });
  });

  it("points at Codat when only an API key is set", () => {
    expect(parseConfig({ CODAT_API_KEY: "k" })).toMatchObject({ useSimulator: false, codatBaseUrl: "https://api.codat.io", codatApiKey: "k" });
  });

  it("uses CODAT_BASE_URL without a key", () => {
    expect(parseConfig({ CODAT_BASE_URL: "http://127.0.0.1:9999/" })).toMatchObject({ useSimulator: false, codatBaseUrl: "http://127.0.0.1:9999", codatApiKey: undefined });
  });

  it("turns introspection off in production unless asked", () => {
    expect(parseConfig({ NODE_ENV: "production" }).introspection).toBe(false);
    expect(parseConfig({ NODE_ENV: "production", GRAPHQL_INTROSPECTION: "true" }).introspection).toBe(true);
  });

  it("reports every bad variable at once, one line each, without echoing URLs", () => {
    const error = (() => {
      try {
        parseConfig({ PORT: "eighty", CODAT_BASE_URL: "https://user:secret@api.codat.io", GRAPHQL_INTROSPECTION: "maybe" });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.join("\n")).not.toContain("secret");
    expect(problems.some((p) => p.startsWith("PORT"))).toBe(true);
    expect(problems.some((p) => p.startsWith("CODAT_BASE_URL"))).toBe(true);
  });
});
