/**
 * The request/response comparison shared by the customer scenarios: one operation through the gateway vs the
 * same data straight from the simulator, measured under the same conditions in this order:
 *
 *   1. verify       one operation per side, parsed and compared by the scenario (are we measuring the same data?)
 *   2. calibrate    `calibrationOps` sequential operations per side; simulator request count → upstream calls/op
 *   3. warm-up      `warmup` sequential operations per side, interleaved
 *   4. latency      `samples` sequential operations per side (concurrency 1), interleaved A/B so drift (GC,
 *                   CPU frequency, noisy neighbours) hits both sides alike
 *   5. load         `rounds` rounds; in each, per side (direct, baseline, gateway): 0.5 s unrecorded ramp, then
 *                   `durationMs` with `concurrency` closed-loop workers; ops/s, latency under load, failed ops,
 *                   CPU per op of the server and simulator processes; for the gateway phase, its peak RSS (VmHWM
 *                   reset at the start of the phase when the kernel allows, and RSS sampled every 50 ms). Each
 *                   side reports its median round (by ops/s) and the range over rounds; ratios to the baseline
 *                   are taken round by round (so drift between rounds cancels) and reported as median and range.
 *
 * Client cost is identical: the same HttpClient (node:http, keep-alive Agent sized concurrency × fan-out) reads
 * every body into a Buffer and parses nothing; the only check per operation is the status (and, for GraphQL,
 * that the body has no top-level `"errors"` key).
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchContext, ScenarioResult, Table, Target } from "../scenarios/types.js";
import { target } from "../scenarios/types.js";
import { HttpClient } from "./http.js";
import { BackgroundCpu, readCpuMs, readMemory, resetPeakRss, sampleRss } from "./proc.js";
import { Samples, summarize, type LatencySummary } from "./stats.js";

export type Operation = (client: HttpClient) => Promise<Buffer[]>;

export interface Side {
  /** Requests one operation sends in parallel (sizes the client's socket pool). */
  fanout: number;
  operation: Operation;
}

export interface PairSpec {
  id: string;
  title: string;
  gateway: Side;
  direct: Side;
  /** The same operation against the minimal Apollo Server baseline. */
  baseline?: Side;
  /** Parses one response per side; returns a description of the difference, or undefined when they agree. */
  verify(gateway: Buffer[], direct: Buffer[]): string | undefined;
  /** Scenario-specific targets. */
  targets(result: PairResult): Target[];
  /** Extra facts for the JSON (ids used, queries, …). */
  details?: Record<string, unknown>;
}

export interface LoadResult {
  /** Every round's ops/s and server CPU per op, in order (this result is the median round by ops/s). */
  rounds: { opsPerSecond: number; cpuMsPerOp: number }[];
  concurrency: number;
  durationMs: number;
  ops: number;
  failed: number;
  firstError?: string;
  opsPerSecond: number;
  latencyMs: LatencySummary;
  gatewayCpuMsPerOp: number;
  simulatorCpuMsPerOp: number;
  /** Cores used by other processes on the machine during the phase (noise). */
  backgroundCores: number;
}

export interface SideResult {
  upstreamCallsPerOp: number;
  sequential: { latencyMs: LatencySummary; failed: number; firstError?: string; backgroundCores: number };
  load: LoadResult;
}

export interface PairResult {
  gateway: SideResult;
  direct: SideResult;
  /** The baseline under the same load (ops/s, CPU per op of its own process in gatewayCpuMsPerOp). */
  baseline?: LoadResult;
  /** Gateway ÷ baseline per round (ops/s, CPU per op): median and range. */
  baselineRatios?: { opsPerSecond: Spread; cpuPerOp: Spread };
  /** Gateway p50 − direct p50 at concurrency 1, ms. */
  addedP50Ms: number;
  addedP99Ms: number;
  gatewayMemory: {
    /** VmHWM at the end of the gateway load phase, bytes. */
    peakRssBytes: number;
    /** Whether VmHWM was reset at the start of the phase (else it is the process-lifetime peak). */
    peakRssPhaseOnly: boolean;
    /** Largest RSS sampled during the phase, bytes. */
    sampledMaxRssBytes: number;
    /** process.memoryUsage() of the gateway right after the phase. */
    memoryUsageAfter: NodeJS.MemoryUsage;
    /** V8 heap spaces right after the phase: { size, used } bytes by space name. */
    heapSpacesAfter: Record<string, { size: number; used: number }>;
  };
  mismatch?: string;
}

/** The median of a set of per-round figures and their range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN };
}

export const formatSpread = (s: Spread, digits = 2): string =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

/** Background CPU (cores) above which a scenario warns that its numbers are noisy. */
export const BACKGROUND_WARNING_CORES = 0.15;

export const GRAPHQL_ERRORS = Buffer.from('"errors":');

export class GraphQLErrorsResponse extends Error {}

/** The gateway side of a pair: one prepared GraphQL request, failing on any `errors` in the answer. */
export function graphqlSide(request: Parameters<HttpClient["send"]>[0]): Side {
  return {
    fanout: 1,
    async operation(client) {
      const body = await client.send(request);
      if (body.includes(GRAPHQL_ERRORS)) throw new GraphQLErrorsResponse(body.subarray(0, 400).toString("utf8"));
      return [body];
    },
  };
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name === "Error" ? "" : `${error.name}: `}${error.message}`.slice(0, 400);
  return String(error).slice(0, 400);
}

async function sequential(
  sides: { op: Operation; client: HttpClient; samples: Samples; failed: number; firstError?: string }[],
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    for (const side of sides) {
      const t0 = performance.now();
      try {
        await side.op(side.client);
        side.samples.push(performance.now() - t0);
      } catch (error) {
        side.failed++;
        side.firstError ??= describeError(error);
      }
    }
  }
}

export async function closedLoop(op: Operation, client: HttpClient, concurrency: number, durationMs: number, record: boolean) {
  const samples = new Samples();
  let failed = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await op(client);
        if (record) samples.push(performance.now() - t0);
      } catch (error) {
        failed++;
        firstError ??= describeError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { samples, failed, firstError, elapsedMs: performance.now() - start };
}

export async function runPair(ctx: BenchContext, spec: PairSpec): Promise<{ result: PairResult | undefined; scenario: ScenarioResult }> {
  const { settings } = ctx;
  const sides = { gateway: spec.gateway, direct: spec.direct } as const;
  const names = ["gateway", "direct"] as const;

  // 1. verify
  ctx.log(`${spec.id}: verify`);
  const verifyClient = new HttpClient(4 * Math.max(spec.gateway.fanout, spec.direct.fanout));
  let mismatch: string | undefined;
  try {
    const gatewayBodies = await spec.gateway.operation(verifyClient);
    const directBodies = await spec.direct.operation(verifyClient);
    mismatch = spec.verify(gatewayBodies, directBodies);
  } catch (error) {
    verifyClient.close();
    const reason = `verification request failed: ${describeError(error)}`;
    return {
      result: undefined,
      scenario: {
        id: spec.id,
        title: spec.title,
        status: "failed",
        reason,
        tables: [],
        targets: [target("responses verified", Number.NaN, "<=", 0, "", reason)],
        data: { reason },
      },
    };
  }

  // 2. calibrate
  ctx.log(`${spec.id}: calibrate (${settings.calibrationOps} ops per side)`);
  const callsPerOp: Record<(typeof names)[number], number> = { gateway: Number.NaN, direct: Number.NaN };
  for (const name of names) {
    const before = await ctx.simulatorRequestCount();
    for (let i = 0; i < settings.calibrationOps; i++) await sides[name].operation(verifyClient);
    callsPerOp[name] = ((await ctx.simulatorRequestCount()) - before) / settings.calibrationOps;
  }
  verifyClient.close();

  // 3 + 4. warm-up and sequential latency, interleaved
  ctx.log(`${spec.id}: warm-up ${settings.warmup} + ${settings.samples} sequential samples per side`);
  const seq = names.map((name) => ({
    name,
    op: sides[name].operation,
    client: new HttpClient(sides[name].fanout),
    samples: new Samples(),
    failed: 0,
    firstError: undefined as string | undefined,
  }));
  await sequential(seq, settings.warmup);
  for (const side of seq) {
    side.samples = new Samples();
    side.failed = 0;
    side.firstError = undefined;
  }
  const seqBackground = new BackgroundCpu([ctx.gateway.pid, ctx.simulator.pid]);
  await sequential(seq, settings.samples);
  const seqBackgroundCores = seqBackground.stop();
  for (const side of seq) side.client.close();

  // 5. load, in rounds: direct, baseline, gateway in each (so the gateway's post-load GC never overlaps another
  // side's phase, and slow drift of the machine touches every side of a round alike).
  const order = spec.baseline ? (["direct", "baseline", "gateway"] as const) : (["direct", "gateway"] as const);
  const rounds: Record<(typeof order)[number], LoadResult[]> = { direct: [], baseline: [], gateway: [] };
  let gatewayMemory: PairResult["gatewayMemory"] | undefined;
  for (let round = 1; round <= settings.rounds; round++) {
    for (const name of order) {
      const side = name === "baseline" ? spec.baseline! : sides[name];
      const serverPid = name === "baseline" ? ctx.baseline.pid : ctx.gateway.pid;
      ctx.log(
        `${spec.id}: round ${round}/${settings.rounds}, load ${name}, concurrency ${settings.concurrency}, ${settings.durationMs} ms`,
      );
      const client = new HttpClient(settings.concurrency * side.fanout);
      await closedLoop(side.operation, client, settings.concurrency, 500, false);
      await sleep(100);
      const phaseOnly = name === "gateway" && resetPeakRss(ctx.gateway.pid);
      const sampler = name === "gateway" ? sampleRss(ctx.gateway.pid) : undefined;
      const background = new BackgroundCpu([ctx.gateway.pid, ctx.simulator.pid, ctx.baseline.pid]);
      const cpu0 = { server: readCpuMs(serverPid), simulator: readCpuMs(ctx.simulator.pid) };
      const run = await closedLoop(side.operation, client, settings.concurrency, settings.durationMs, true);
      const backgroundCores = background.stop();
      const cpu1 = { server: readCpuMs(serverPid), simulator: readCpuMs(ctx.simulator.pid) };
      if (sampler) {
        const sampledMax = sampler.stop();
        const memory = readMemory(ctx.gateway.pid);
        // The highest peak of any round is the scenario's peak.
        if (gatewayMemory === undefined || memory.hwm > gatewayMemory.peakRssBytes) {
          gatewayMemory = {
            peakRssBytes: memory.hwm,
            peakRssPhaseOnly: phaseOnly,
            sampledMaxRssBytes: Math.max(sampledMax, gatewayMemory?.sampledMaxRssBytes ?? 0),
            memoryUsageAfter: await ctx.gateway.call<NodeJS.MemoryUsage>("memory"),
            heapSpacesAfter: await ctx.gateway.call<Record<string, { size: number; used: number }>>("heapSpaces"),
          };
        }
      }
      client.close();
      const ops = run.samples.length;
      rounds[name].push({
        rounds: [],
        concurrency: settings.concurrency,
        durationMs: settings.durationMs,
        ops,
        failed: run.failed,
        ...(run.firstError === undefined ? {} : { firstError: run.firstError }),
        opsPerSecond: ops / (run.elapsedMs / 1000),
        latencyMs: summarize(run.samples.view()),
        gatewayCpuMsPerOp: (cpu1.server - cpu0.server) / Math.max(1, ops),
        simulatorCpuMsPerOp: (cpu1.simulator - cpu0.simulator) / Math.max(1, ops),
        backgroundCores,
      });
      await sleep(200);
    }
  }
  const load = {} as Record<(typeof names)[number], LoadResult> & { baseline?: LoadResult };
  for (const name of order) load[name] = medianRound(rounds[name]);
  const baselineRatios =
    rounds.baseline.length > 0
      ? {
          opsPerSecond: spread(rounds.gateway.map((g, i) => g.opsPerSecond / rounds.baseline[i]!.opsPerSecond)),
          cpuPerOp: spread(rounds.gateway.map((g, i) => g.gatewayCpuMsPerOp / rounds.baseline[i]!.gatewayCpuMsPerOp)),
        }
      : undefined;

  const sideResult = (name: (typeof names)[number]): SideResult => {
    const s = seq.find((x) => x.name === name)!;
    return {
      upstreamCallsPerOp: callsPerOp[name],
      sequential: {
        latencyMs: summarize(s.samples.view()),
        failed: s.failed,
        backgroundCores: seqBackgroundCores,
        ...(s.firstError === undefined ? {} : { firstError: s.firstError }),
      },
      load: load[name],
    };
  };
  const gateway = sideResult("gateway");
  const direct = sideResult("direct");
  const result: PairResult = {
    gateway,
    direct,
    ...(load.baseline ? { baseline: load.baseline } : {}),
    ...(baselineRatios ? { baselineRatios } : {}),
    addedP50Ms: gateway.sequential.latencyMs.p50 - direct.sequential.latencyMs.p50,
    addedP99Ms: gateway.sequential.latencyMs.p99 - direct.sequential.latencyMs.p99,
    gatewayMemory: gatewayMemory!,
    ...(mismatch === undefined ? {} : { mismatch }),
  };

  const failedOps = gateway.sequential.failed + gateway.load.failed + direct.sequential.failed + direct.load.failed;
  const firstFailure = gateway.sequential.firstError ?? gateway.load.firstError ?? direct.sequential.firstError ?? direct.load.firstError;
  const targets: Target[] = [
    target("gateway and direct return the same data", mismatch === undefined ? 0 : 1, "<=", 0, "differences", mismatch),
    target("failed operations (both sides, all phases)", failedOps, "<=", 0, "ops", firstFailure),
    ...spec.targets(result),
  ];
  const busiest = Math.max(gateway.sequential.backgroundCores, gateway.load.backgroundCores, direct.load.backgroundCores);
  const warnings =
    busiest > BACKGROUND_WARNING_CORES
      ? [`other processes used up to ${busiest.toFixed(2)} cores during measurement: numbers are noisy, rerun on a quiet machine`]
      : [];
  return {
    result,
    scenario: {
      id: spec.id,
      title: spec.title,
      status: "ok",
      tables: [pairTable(result, settings.concurrency)],
      targets,
      warnings,
      data: { ...result, details: spec.details ?? {} },
    },
  };
}

/**
 * The round with the median ops/s, carrying every round's figures; failures are summed over the rounds and
 * background CPU is the worst round's, so neither hides in the median.
 */
function medianRound(results: LoadResult[]): LoadResult {
  const sorted = [...results].sort((a, b) => a.opsPerSecond - b.opsPerSecond);
  const median = sorted[(sorted.length - 1) >> 1]!;
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  return {
    ...median,
    rounds: results.map((r) => ({ opsPerSecond: r.opsPerSecond, cpuMsPerOp: r.gatewayCpuMsPerOp })),
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    ...(firstError === undefined ? {} : { firstError }),
    backgroundCores: Math.max(...results.map((r) => r.backgroundCores)),
  };
}

const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(2) : "n/a");
const mb = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

function pairTable(r: PairResult, concurrency: number): Table {
  const row = (metric: string, g: string, d: string): string[] => [metric, g, d];
  const lat = (s: LatencySummary) => `${ms(s.p50)} / ${ms(s.p99)}`;
  return {
    headers: ["metric", "gateway", "direct REST"],
    rows: [
      row("upstream calls / op", r.gateway.upstreamCallsPerOp.toFixed(2), r.direct.upstreamCallsPerOp.toFixed(2)),
      row("latency p50 / p99, c=1 (ms)", lat(r.gateway.sequential.latencyMs), lat(r.direct.sequential.latencyMs)),
      row("added latency p50 / p99, c=1 (ms)", `${ms(r.addedP50Ms)} / ${ms(r.addedP99Ms)}`, "-"),
      row(`ops/s, c=${concurrency}`, r.gateway.load.opsPerSecond.toFixed(0), r.direct.load.opsPerSecond.toFixed(0)),
      row(`latency p50 / p99, c=${concurrency} (ms)`, lat(r.gateway.load.latencyMs), lat(r.direct.load.latencyMs)),
      row(
        "failed ops (c=1 + load)",
        String(r.gateway.sequential.failed + r.gateway.load.failed),
        String(r.direct.sequential.failed + r.direct.load.failed),
      ),
      row(
        "background CPU, c=1 / load (cores)",
        `${r.gateway.sequential.backgroundCores.toFixed(2)} / ${r.gateway.load.backgroundCores.toFixed(2)}`,
        `${r.direct.sequential.backgroundCores.toFixed(2)} / ${r.direct.load.backgroundCores.toFixed(2)}`,
      ),
      row("gateway CPU / op under load (ms)", ms(r.gateway.load.gatewayCpuMsPerOp), "-"),
      ...(r.baseline && r.baselineRatios
        ? [
            row(
              "baseline (minimal Apollo + undici) ops/s / CPU ms/op",
              `${r.baseline.opsPerSecond.toFixed(0)} / ${ms(r.baseline.gatewayCpuMsPerOp)}`,
              "-",
            ),
            row(
              `gateway / baseline ops/s, median (range) of ${r.gateway.load.rounds.length}`,
              formatSpread(r.baselineRatios.opsPerSecond),
              "-",
            ),
            row(`gateway / baseline CPU per op, median (range)`, formatSpread(r.baselineRatios.cpuPerOp), "-"),
          ]
        : []),
      row("gateway / direct ops/s", (r.gateway.load.opsPerSecond / r.direct.load.opsPerSecond).toFixed(2), "-"),
      row("simulator CPU / op under load (ms)", ms(r.gateway.load.simulatorCpuMsPerOp), ms(r.direct.load.simulatorCpuMsPerOp)),
      row(
        `gateway peak RSS under load (MB)`,
        `${mb(r.gatewayMemory.peakRssBytes)}${r.gatewayMemory.peakRssPhaseOnly ? "" : " (lifetime)"}`,
        "-",
      ),
    ],
  };
}
