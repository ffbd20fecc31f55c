import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { configProblems } from "../helpers/config.js";

describe("parseConfig", () => {
  it("defaults to the embedded simulator on loopback:4000", () => {
    expect(parseConfig({})).toMatchObject({
      useSimulator: true,
      host: "127.0.0.1",
      port: 4000,
      production: false,
      introspection: true,
      codatBaseUrl: undefined,
    });
  });

  it("points at Codat when only an API key is set", () => {
    expect(parseConfig({ CODAT_API_KEY: "k" })).toMatchObject({
      useSimulator: false,
      codatBaseUrl: "https://api.codat.io",
      codatApiKey: "k",
    });
  });

  it("keeps Codat's request budget of 1 000 a minute with a real key, none for the simulator, 0 turning it off", () => {
    expect(parseConfig({ CODAT_API_KEY: "k" }).codatRequestsPerMinute).toBe(1_000);
    expect(parseConfig({}).codatRequestsPerMinute).toBe(0);
    expect(parseConfig({ CODAT_API_KEY: "k", CODAT_REQUESTS_PER_MINUTE: "0" }).codatRequestsPerMinute).toBe(0);
    expect(parseConfig({ CODAT_REQUESTS_PER_MINUTE: "600" }).codatRequestsPerMinute).toBe(600);
    expect(configProblems({ CODAT_REQUESTS_PER_MINUTE: "lots" })).toEqual([expect.stringContaining("CODAT_REQUESTS_PER_MINUTE")]);
  });

  it("uses CODAT_BASE_URL without a key", () => {
    expect(parseConfig({ CODAT_BASE_URL: "http://127.0.0.1:9999/" })).toMatchObject({
      useSimulator: false,
      codatBaseUrl: "http://127.0.0.1:9999",
      codatApiKey: undefined,
    });
  });

  it("turns introspection off in production unless asked", () => {
    const production = { NODE_ENV: "production", AUTH_MODE: "none", CODAT_BASE_URL: "http://127.0.0.1:9" };
    expect(parseConfig(production).introspection).toBe(false);
    expect(parseConfig({ ...production, GRAPHQL_INTROSPECTION: "true" }).introspection).toBe(true);
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

describe("settings a person can trust", () => {
  const upstream = { CODAT_BASE_URL: "http://127.0.0.1:9" };

  it("refuses an unknown NODE_ENV or AUTH_MODE, naming the variable", () => {
    expect(configProblems({ ...upstream, NODE_ENV: "prod" })).toEqual(['NODE_ENV must be production, development or test (got "prod")']);
    expect(configProblems({ ...upstream, AUTH_MODE: "oauth" })).toEqual(['AUTH_MODE must be none or jwt (got "oauth")']);
  });

  it("refuses a CODAT_API_KEY pasted as a Basic header value, with a hint", () => {
    const problems = configProblems({ CODAT_API_KEY: "Basic c2VjcmV0LWtleQ==" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^CODAT_API_KEY must be the API key itself.*remove the "Basic " prefix/);
    expect(problems[0]).not.toContain("c2VjcmV0");
  });

  it("refuses a missing or malformed PERSISTED_OPERATIONS file at startup", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "po-"));
    const bad = path.join(dir, "bad.json");
    writeFileSync(bad, "[1, 2]");
    const good = path.join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ abc: "{ __typename }" }));
    expect(configProblems({ ...upstream, PERSISTED_OPERATIONS: path.join(dir, "missing.json") })[0]).toMatch(
      /^PERSISTED_OPERATIONS .*no such file/,
    );
    expect(configProblems({ ...upstream, PERSISTED_OPERATIONS: bad })[0]).toMatch(/^PERSISTED_OPERATIONS .*JSON object/);
    expect(configProblems({ ...upstream, PERSISTED_OPERATIONS: good })).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  it("shows stack traces only when NODE_ENV=development names it", () => {
    expect(parseConfig(upstream)).toMatchObject({ development: false, mode: "default" });
    expect(parseConfig({ ...upstream, NODE_ENV: "test" })).toMatchObject({ development: false, mode: "test" });
    expect(parseConfig({ ...upstream, NODE_ENV: "development" })).toMatchObject({ development: true, mode: "development" });
  });

  it("refuses production with the default AUTH_MODE (no authentication) unless it is set explicitly", () => {
    const production = { NODE_ENV: "production", CODAT_BASE_URL: "http://127.0.0.1:9" };
    expect(configProblems(production)).toEqual([
      "AUTH_MODE must be set with NODE_ENV=production: AUTH_MODE=jwt to authenticate callers, or AUTH_MODE=none explicitly when a proxy in front authenticates them",
    ]);
    expect(configProblems({ ...production, CODAT_API_KEY: "k" })).toHaveLength(1);
    expect(parseConfig({ ...production, AUTH_MODE: "none" })).toMatchObject({ production: true, auth: undefined });
    expect(parseConfig({ ...production, ALLOW_UNAUTHENTICATED: "true" })).toMatchObject({ production: true, auth: undefined });
    expect(
      configProblems({ ...production, AUTH_MODE: "jwt", AUTH_JWT_SECRET: "s".repeat(32), AUTH_ISSUER: "i", AUTH_AUDIENCE: "a" }),
    ).toEqual([]);
    // Outside production the default stands.
    expect(configProblems({ CODAT_BASE_URL: "http://127.0.0.1:9" })).toEqual([]);
  });

  it("refuses production without an upstream unless the simulator is asked for by name", () => {
    expect(configProblems({ NODE_ENV: "production" })[0]).toMatch(/^NODE_ENV=production needs CODAT_API_KEY/);
    expect(parseConfig({ NODE_ENV: "production", CODAT_SIMULATOR: "true" })).toMatchObject({ useSimulator: true, production: true });
    expect(configProblems({ CODAT_SIMULATOR: "true", CODAT_API_KEY: "k" })[0]).toMatch(/^CODAT_SIMULATOR=true cannot be combined/);
  });

  it("gives every operation OPERATION_TIMEOUT_MS, a minute unless set, in whole milliseconds from 100", () => {
    expect(parseConfig(upstream).operationTimeoutMs).toBe(60_000);
    expect(parseConfig({ ...upstream, OPERATION_TIMEOUT_MS: "2500" }).operationTimeoutMs).toBe(2_500);
    expect(configProblems({ ...upstream, OPERATION_TIMEOUT_MS: "99" })).toEqual([
      'OPERATION_TIMEOUT_MS must be a whole number from 100 to 3600000 (got "99")',
    ]);
    expect(configProblems({ ...upstream, OPERATION_TIMEOUT_MS: "1m" })).toHaveLength(1);
  });

  it("refuses METRICS_PORT equal to PORT (the default one included); two port 0s are two free ports", () => {
    expect(configProblems({ ...upstream, PORT: "8080", METRICS_PORT: "8080" })).toEqual([
      "METRICS_PORT (8080) must differ from PORT (8080); unset it to serve /metrics on PORT",
    ]);
    expect(configProblems({ ...upstream, METRICS_PORT: "4000" })).toEqual([
      "METRICS_PORT (4000) must differ from PORT (4000); unset it to serve /metrics on PORT",
    ]);
    expect(parseConfig({ ...upstream, PORT: "0", METRICS_PORT: "0" })).toMatchObject({ port: 0, metricsPort: 0 });
    expect(parseConfig({ ...upstream, PORT: "8080", METRICS_PORT: "9464" })).toMatchObject({ port: 8080, metricsPort: 9464 });
  });

  it("refuses an OTLP endpoint that is not an http(s) URL, naming the variable without echoing the value", () => {
    const message = (name: string) => `${name} must be an http(s) URL of an OTLP/HTTP collector, such as http://collector:4318`;
    for (const bad of ["collector:4318", "grpc://collector:4317", "not a url", "http://"]) {
      expect(configProblems({ ...upstream, OTEL_EXPORTER_OTLP_ENDPOINT: bad })).toEqual([message("OTEL_EXPORTER_OTLP_ENDPOINT")]);
    }
    expect(configProblems({ ...upstream, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "localhost:4318/v1/traces" })).toEqual([
      message("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    ]);
    expect(configProblems({ ...upstream, OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://user:secret@collector" }).join("\n")).not.toContain("secret");
    expect(configProblems({ ...upstream, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toEqual([]);
    expect(configProblems({ ...upstream, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://otlp.example.com/v1/traces" })).toEqual([]);
  });

  it("reads the sampler and batch settings when tracing is on, all their problems with the others", () => {
    const tracing = { ...upstream, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" };
    expect(parseConfig(tracing).tracing).toMatchObject({ disabled: false, otlpTracesUrl: "http://collector:4318/v1/traces" });
    expect(parseConfig({ ...tracing, OTEL_TRACES_SAMPLER: "TraceIdRatio", OTEL_TRACES_SAMPLER_ARG: "0.25" }).tracing.sampler).toEqual({
      name: "traceidratio",
      ratio: 0.25,
    });
    expect(configProblems({ ...tracing, OTEL_TRACES_SAMPLER: "sometimes", OTEL_BSP_MAX_QUEUE_SIZE: "lots", PORT: "x" })).toEqual([
      'PORT must be a whole number from 0 to 65535 (got "x")',
      'OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio (got "sometimes")',
      'OTEL_BSP_MAX_QUEUE_SIZE must be a whole number (got "lots")',
    ]);
    // Off (no endpoint, or disabled): they are not read, as OpenTelemetry would not read them.
    expect(configProblems({ ...upstream, OTEL_TRACES_SAMPLER: "sometimes" })).toEqual([]);
    expect(parseConfig({ ...tracing, OTEL_SDK_DISABLED: "TRUE", OTEL_TRACES_SAMPLER: "sometimes" }).tracing.disabled).toBe(true);
    expect(parseConfig({ ...tracing, OTEL_TRACES_EXPORTER: "otlp, none" }).tracing.disabled).toBe(true);
  });
});
