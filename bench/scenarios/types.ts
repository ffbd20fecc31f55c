/**
 * What a benchmark scenario is. run.ts starts the simulator and the gateway once, then runs each scenario in
 * turn with a BenchContext; a scenario returns tables (printed), targets (printed PASS/FAIL) and data (written to
 * bench/results/latest.json). Request/response comparisons (gateway vs direct REST) use lib/pair.ts; a scenario
 * with another shape (the download benchmark: throughput of one long stream) measures whatever it needs.
 *
 * Adding a scenario: write `bench/scenarios/<name>.ts` exporting a `Scenario`, add it to scenarios/index.ts.
 */
import type { BenchChild } from "../lib/child.js";

export interface BenchSettings {
  /** Length of each recorded load phase, ms. */
  durationMs: number;
  /** Load rounds per scenario (each side once per round); figures are the median round, ratios median and range. */
  rounds: number;
  /** Concurrent operations in load phases. */
  concurrency: number;
  /** Sequential (concurrency 1) latency samples per side. */
  samples: number;
  /** Sequential warm-up operations per side, before the samples. */
  warmup: number;
  /** Operations per side in the upstream-call calibration phase. */
  calibrationOps: number;
  /** The simulator's artificial latency per response, ms. */
  simulatorLatencyMs: number;
}

export interface BenchContext {
  readonly settings: BenchSettings;
  /** The simulator's base URL, e.g. http://127.0.0.1:40123 (Codat's REST paths below it). */
  readonly simulatorUrl: string;
  /** The gateway's GraphQL endpoint. */
  readonly graphqlUrl: string;
  readonly gateway: BenchChild;
  /** The minimal Apollo Server baseline (bench/baseline-process.mjs) over the same simulator. */
  readonly baseline: BenchChild;
  readonly simulator: BenchChild;
  /** The node flags the gateway process runs with (the start script's unless --gateway-flags). */
  readonly gatewayNodeFlags: readonly string[];
  /** Requests the simulator has received since it started. */
  simulatorRequestCount(): Promise<number>;
  log(message: string): void;
}

export interface Target {
  name: string;
  /** NaN when it could not be measured (counts as FAIL). */
  value: number;
  comparison: "<=" | ">=";
  limit: number;
  unit: string;
  pass: boolean;
  note?: string;
}

export function target(name: string, value: number, comparison: "<=" | ">=", limit: number, unit: string, note?: string): Target {
  const pass = Number.isFinite(value) && (comparison === "<=" ? value <= limit : value >= limit);
  return { name, value, comparison, limit, unit, pass, ...(note === undefined ? {} : { note }) };
}

export interface Table {
  headers: string[];
  rows: string[][];
}

export interface ScenarioResult {
  id: string;
  title: string;
  /** `failed`: the scenario could not be measured (the gateway answered errors during verification, …). */
  status: "ok" | "skipped" | "failed";
  reason?: string;
  tables: Table[];
  targets: Target[];
  /** Printed under the tables (for example: other processes were busy during a phase). */
  warnings?: string[];
  data: unknown;
}

export interface Scenario {
  id: string;
  title: string;
  /** Settings for this scenario's gateway beyond the defaults (environment variables, as an operator sets them). */
  gatewayEnv?: Record<string, string>;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}
