/**
 * `npm run bench:scale`: what sharing Codat's per-company cap through Redis costs, and what several replicas buy.
 *
 *   1. limiter cost: one gateway without REDIS_URL (the in-process limiter) and one with it (the Redis-shared
 *      limiter), same simulator, sequential (concurrency 1) interleaved A/B samples of README's `FirstPage`
 *      query (one Codat call per operation, checked with the simulator's request count): p50/p99 of each, the
 *      added p50 (Redis − local), and the Redis commands per Codat call (`INFO commandstats` before/after a
 *      block of operations on the Redis side alone);
 *   2. replicas: 1 vs N (default 3) gateways, all with REDIS_URL sharing the cap, closed-loop load round-robin over
 *      the replicas by the client, alternating the demo and the second company (two per-company caps): ops/s,
 *      the N ÷ 1 ratio round by round, failed ops, and the simulator's max in flight per company during the load.
 *
 * Both at 0 ms and at `--latency` ms (default 20) of simulated latency, one simulator per latency (the bench
 * simulator takes its latency at start). At 0 ms everything is CPU-bound; at 20 ms the cap bounds throughput.
 * One `redis-server` (a free loopback port, no persistence) for the run; every gateway group gets its own
 * REDIS_KEY_PREFIX. Every process started here is stopped at the end, on error too.
 *
 * Flags (`npm run bench:scale -- --rounds 5`):
 *   --samples N        c=1 samples per side at 0 ms (default 1000)
 *   --warmup N         c=1 warm-up operations per side at 0 ms (default 300)
 *   --slow-samples N   c=1 samples per side at --latency (default 300)
 *   --slow-warmup N    c=1 warm-up operations per side at --latency (default 50)
 *   --command-ops N    operations on the Redis side alone for the command count (default 100)
 *   --latency MS       the second simulated latency (default 20)
 *   --cap-latency MS   a third latency, scale-out phase only, high enough that the cap rather than CPU bounds
 *                      throughput on a small machine (default 100; 0 skips it)
 *   --replicas N       replicas in the scale-out phase (default 3)
 *   --concurrency N    concurrent operations under load, over all replicas (default 30)
 *   --duration MS      each recorded load phase (default 3000)
 *   --rounds N         load rounds (each: 1 replica, then N replicas) (default 3)
 *   --gateway-flags "…"  node flags for the gateways (default: those of package.json's start script; use `=`)
 *   --node-env VALUE   NODE_ENV of the gateways (default production)
 *   --out FILE         JSON output (default bench/results/scale.json)
 *
 * Exit code 0 whenever the harness ran (checks may FAIL), 1 on a harness error.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { dirname, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEMO_COMPANY_ID, SECOND_COMPANY_ID } from "codat-simulator";
import { BenchChild } from "./lib/child.js";
import { HttpClient, postJson, type PreparedRequest } from "./lib/http.js";
import { BACKGROUND_WARNING_CORES, describeError, formatSpread, GRAPHQL_ERRORS, spread, type Spread } from "./lib/pair.js";
import { BackgroundCpu, readCpuMs } from "./lib/proc.js";
import { startBenchRedis, type BenchRedis } from "./lib/redis-server.js";
import { Samples, summarize, type LatencySummary } from "./lib/stats.js";
import { renderTable } from "./lib/table.js";
import { FIRST_PAGE_QUERY } from "./scenarios/customers-page.js";
import { target, type Table, type Target } from "./scenarios/types.js";

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoDir = resolve(benchDir, "..");
const COMPANIES = [DEMO_COMPANY_ID, SECOND_COMPANY_ID] as const;
/** The gateway's default per-company cap (CODAT_MAX_CONCURRENCY_PER_COMPANY), which Codat enforces too. */
const CAP = 10;
/**
 * The commands the gateway's Lua scripts run (src/redis/permits.ts): INFO commandstats counts them as it
 * counts a client's, so they are left out of the round trips (the gateway never sends them itself).
 */
const SCRIPT_COMMANDS = new Set(["time", "zremrangebyscore", "zcard", "zscore", "zadd", "pexpire", "zrem"]);

function parseSettings() {
  const { values } = parseArgs({
    options: {
      samples: { type: "string", default: "1000" },
      warmup: { type: "string", default: "300" },
      "slow-samples": { type: "string", default: "300" },
      "slow-warmup": { type: "string", default: "50" },
      "command-ops": { type: "string", default: "100" },
      latency: { type: "string", default: "20" },
      "cap-latency": { type: "string", default: "100" },
      replicas: { type: "string", default: "3" },
      concurrency: { type: "string", default: "30" },
      duration: { type: "string", default: "3000" },
      rounds: { type: "string", default: "3" },
      "gateway-flags": { type: "string" },
      "node-env": { type: "string", default: "production" },
      out: { type: "string", default: join(benchDir, "results", "scale.json") },
    },
  });
  const int = (name: keyof typeof values, min: number): number => {
    const raw = String(values[name]);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got "${raw}"`);
    return n;
  };
  return {
    samples: int("samples", 1),
    warmup: int("warmup", 0),
    slowSamples: int("slow-samples", 1),
    slowWarmup: int("slow-warmup", 0),
    commandOps: int("command-ops", 1),
    slowLatencyMs: int("latency", 1),
    capLatencyMs: int("cap-latency", 0),
    replicas: int("replicas", 2),
    concurrency: int("concurrency", 1),
    durationMs: int("duration", 100),
    rounds: int("rounds", 1),
    gatewayFlags: (values["gateway-flags"] ?? startScriptFlags()).split(/\s+/).filter(Boolean),
    nodeEnv: values["node-env"],
    out: resolve(values.out),
  };
}
type Settings = ReturnType<typeof parseSettings>;

/** The node flags of package.json's `start` script (`[exec] node <flags> dist/main.js`), as run.ts reads them. */
function startScriptFlags(): string {
  const pkg = JSON.parse(readFileSync(join(repoDir, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  return /^(?:exec\s+)?node\s+(.*?)\s*dist\/main\.js/.exec(pkg.scripts?.["start"] ?? "")?.[1] ?? "";
}

interface LimiterCost {
  latencyMs: number;
  samplesPerSide: number;
  warmupPerSide: number;
  codatCallsPerOp: { local: number; redis: number };
  local: LatencySummary;
  redis: LatencySummary;
  addedP50Ms: number;
  addedP99Ms: number;
  failed: number;
  firstError?: string;
  /** Commands the gateway sent to Redis per Codat call (those its scripts run left out): its round trips. */
  redisRoundTripsPerCall: number;
  /** Every command Redis ran per Codat call, the scripts' included (total_commands_processed). */
  redisCommandsPerCall: number;
  /** Per Codat call, by name, the commands scripts run included (INFO commandstats). */
  redisCommandsByName: Record<string, number>;
  commandOps: number;
  backgroundCores: number;
}

interface LoadPhase {
  replicas: number;
  ops: number;
  opsPerSecond: number;
  failed: number;
  firstError?: string;
  latencyMs: LatencySummary;
  /** The simulator's most requests in flight at once, per company, during the recorded phase. */
  maxInFlight: Record<string, number>;
  codatCallsPerOp: number;
  /** Commands the gateways sent to Redis (their scripts' left out) per Codat call. */
  redisRoundTripsPerCall: number;
  /** TAKE script calls per Codat call: above 1, permits were asked for again while all were taken. */
  redisTakesPerCall: number;
  /** CPU of every gateway replica together, ms per operation. */
  gatewayCpuMsPerOp: number;
  redisCpuMsPerOp: number;
  backgroundCores: number;
}

interface ScaleOut {
  latencyMs: number;
  /** Reference: one replica without REDIS_URL (the in-process limiter). */
  inProcess: LoadPhase[];
  one: LoadPhase[];
  many: LoadPhase[];
  opsPerSecond: { inProcess: Spread; one: Spread; many: Spread };
  /** many ÷ one ops/s, round by round. */
  ratio: Spread;
  /** one (Redis) ÷ inProcess ops/s, round by round: what sharing costs a lone replica. */
  oneVsInProcess: Spread;
}

type Log = (message: string) => void;

/** One FirstPage operation: 200, no top-level errors. */
async function firstPage(client: HttpClient, request: PreparedRequest): Promise<Buffer> {
  const body = await client.send(request);
  if (body.includes(GRAPHQL_ERRORS)) throw new Error(`GraphQL errors: ${body.subarray(0, 300).toString("utf8")}`);
  return body;
}

function requestFor(gateway: BenchChild, companyId: string): PreparedRequest {
  return postJson(gateway.info.url, { operationName: "FirstPage", query: FIRST_PAGE_QUERY, variables: { companyId } });
}

/** Every gateway answers both companies' first page with 20 customers; returns Codat calls per operation (all gateways). */
async function verifyAndCalibrate(gateways: BenchChild[], sim: BenchChild, ops = 20): Promise<number> {
  const client = new HttpClient(1);
  try {
    for (const gateway of gateways) {
      for (const companyId of COMPANIES) {
        const parsed = JSON.parse((await firstPage(client, requestFor(gateway, companyId))).toString("utf8")) as {
          data?: { customers?: { edges: unknown[]; pageInfo: { hasNextPage: boolean } } };
        };
        const page = parsed.data?.customers;
        if (page?.edges.length !== 20 || !page.pageInfo.hasNextPage)
          throw new Error(`${gateway.info.url}: company ${companyId} did not answer a 20-customer first page with a next page`);
      }
    }
    const before = await simRequests(sim);
    for (const gateway of gateways) {
      const request = requestFor(gateway, DEMO_COMPANY_ID);
      for (let i = 0; i < ops; i++) await firstPage(client, request);
    }
    return ((await simRequests(sim)) - before) / (ops * gateways.length);
  } finally {
    client.close();
  }
}

const simRequests = async (sim: BenchChild): Promise<number> => (await sim.call<{ requests: number }>("stats")).requests;

async function startGateway(settings: Settings, sim: BenchChild, env: Record<string, string>): Promise<BenchChild> {
  return BenchChild.start({
    name: env["REDIS_URL"] ? "gateway+redis" : "gateway",
    script: relative(repoDir, join(benchDir, "gateway-process.mjs")),
    args: [sim.info.url, ...Object.entries(env).map(([name, value]) => `${name}=${value}`)],
    nodeFlags: settings.gatewayFlags,
    env: { NODE_ENV: settings.nodeEnv },
    cwd: repoDir,
  });
}

/** Part 1: c=1 interleaved A/B, in-process limiter vs Redis-shared, then the Redis commands per Codat call. */
async function limiterCost(
  settings: Settings,
  latencyMs: number,
  sim: BenchChild,
  local: BenchChild,
  shared: BenchChild,
  redis: BenchRedis,
  log: Log,
): Promise<LimiterCost> {
  const samplesPerSide = latencyMs === 0 ? settings.samples : settings.slowSamples;
  const warmupPerSide = latencyMs === 0 ? settings.warmup : settings.slowWarmup;
  const codatCallsPerOp = { local: await verifyAndCalibrate([local], sim), redis: await verifyAndCalibrate([shared], sim) };
  const sides = [local, shared].map((gateway) => ({
    client: new HttpClient(1),
    request: requestFor(gateway, DEMO_COMPANY_ID),
    samples: new Samples(),
  }));
  let failed = 0;
  let firstError: string | undefined;
  const run = async (count: number, record: boolean) => {
    for (let i = 0; i < count; i++) {
      for (const side of sides) {
        const t0 = performance.now();
        try {
          await firstPage(side.client, side.request);
          if (record) side.samples.push(performance.now() - t0);
        } catch (error) {
          failed++;
          firstError ??= describeError(error);
        }
      }
    }
  };
  log(`${latencyMs} ms: limiter cost, ${warmupPerSide} warm-up + ${samplesPerSide} c=1 samples per side, interleaved`);
  await run(warmupPerSide, false);
  const background = new BackgroundCpu([local.pid, shared.pid, sim.pid, redis.pid]);
  await run(samplesPerSide, true);
  const backgroundCores = background.stop();
  for (const side of sides) side.client.close();

  log(`${latencyMs} ms: Redis commands over ${settings.commandOps} operations on the Redis side alone`);
  const client = new HttpClient(1);
  const request = requestFor(shared, DEMO_COMPANY_ID);
  const calls0 = await redis.commandCalls();
  const sim0 = await simRequests(sim);
  for (let i = 0; i < settings.commandOps; i++) {
    try {
      await firstPage(client, request);
    } catch (error) {
      failed++;
      firstError ??= describeError(error);
    }
  }
  const codatCalls = (await simRequests(sim)) - sim0;
  const calls1 = await redis.commandCalls();
  client.close();
  const byName: Record<string, number> = {};
  let roundTrips = 0;
  const names = Object.keys(calls1.calls).sort(
    (a, b) => Number(SCRIPT_COMMANDS.has(a)) - Number(SCRIPT_COMMANDS.has(b)) || a.localeCompare(b),
  );
  for (const name of names) {
    const delta = calls1.calls[name]! - (calls0.calls[name] ?? 0);
    if (name === "info" || delta <= 0) continue;
    byName[name] = +(delta / Math.max(1, codatCalls)).toFixed(2);
    if (!SCRIPT_COMMANDS.has(name)) roundTrips += delta;
  }
  const [localSummary, redisSummary] = sides.map((side) => summarize(side.samples.view())) as [LatencySummary, LatencySummary];
  return {
    latencyMs,
    samplesPerSide,
    warmupPerSide,
    codatCallsPerOp,
    local: localSummary,
    redis: redisSummary,
    addedP50Ms: redisSummary.p50 - localSummary.p50,
    addedP99Ms: redisSummary.p99 - localSummary.p99,
    failed,
    ...(firstError === undefined ? {} : { firstError }),
    redisRoundTripsPerCall: roundTrips / Math.max(1, codatCalls),
    // The first snapshot's own INFO is in the second's count.
    redisCommandsPerCall: (calls1.processed - calls0.processed - 1) / Math.max(1, codatCalls),
    redisCommandsByName: byName,
    commandOps: settings.commandOps,
    backgroundCores,
  };
}

/** Closed loop at `concurrency` over `targets`, round-robin by operation, alternating the two companies. */
async function load(
  settings: Settings,
  targets: readonly BenchChild[],
  all: readonly BenchChild[],
  sim: BenchChild,
  redis: BenchRedis,
  durationMs: number,
  record: boolean,
): Promise<LoadPhase> {
  const clients = targets.map(() => new HttpClient(settings.concurrency));
  const requests = targets.map((gateway) => COMPANIES.map((companyId) => requestFor(gateway, companyId)));
  const samples = new Samples();
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  if (record) await sim.call("resetMaxInFlight");
  const pids = all.map((g) => g.pid);
  const background = record ? new BackgroundCpu([...pids, sim.pid, redis.pid]) : undefined;
  const cpu0 = { gateways: pids.reduce((sum, pid) => sum + readCpuMs(pid), 0), redis: readCpuMs(redis.pid) };
  const sim0 = record ? await simRequests(sim) : 0;
  const redis0 = record ? await redis.commandCalls() : undefined;
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const k = next++;
      const replica = k % targets.length;
      const t0 = performance.now();
      try {
        await firstPage(clients[replica]!, requests[replica]![k % COMPANIES.length]!);
        if (record) samples.push(performance.now() - t0);
      } catch (error) {
        failed++;
        firstError ??= describeError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, worker));
  const elapsedMs = performance.now() - start;
  const backgroundCores = background?.stop() ?? 0;
  const cpu1 = { gateways: pids.reduce((sum, pid) => sum + readCpuMs(pid), 0), redis: readCpuMs(redis.pid) };
  const codatCalls = record ? (await simRequests(sim)) - sim0 : 0;
  const redis1 = record ? await redis.commandCalls() : undefined;
  const delta = (name: string): number => (redis1?.calls[name] ?? 0) - (redis0?.calls[name] ?? 0);
  let roundTrips = 0;
  for (const name of Object.keys(redis1?.calls ?? {})) if (name !== "info" && !SCRIPT_COMMANDS.has(name)) roundTrips += delta(name);
  const maxInFlight = record ? await sim.call<Record<string, number>>("maxInFlight", [...COMPANIES]) : {};
  for (const client of clients) client.close();
  const ops = samples.length;
  return {
    replicas: targets.length,
    ops,
    opsPerSecond: ops / (elapsedMs / 1000),
    failed,
    ...(firstError === undefined ? {} : { firstError }),
    latencyMs: summarize(samples.view()),
    maxInFlight,
    codatCallsPerOp: codatCalls / Math.max(1, ops),
    redisRoundTripsPerCall: roundTrips / Math.max(1, codatCalls),
    // The TAKE script runs ZCARD once per call of it (GIVE and RENEW never): more than 1 per Codat call means
    // replicas asked again (REDIS_RETRY_INTERVAL_MS) while every permit was taken.
    redisTakesPerCall: delta("zcard") / Math.max(1, codatCalls),
    gatewayCpuMsPerOp: (cpu1.gateways - cpu0.gateways) / Math.max(1, ops),
    redisCpuMsPerOp: (cpu1.redis - cpu0.redis) / Math.max(1, ops),
    backgroundCores,
  };
}

/**
 * Part 2: rounds of (the in-process reference, 1 Redis replica, N Redis replicas), so slow drift of the machine
 * touches each alike; ratios are taken round by round.
 */
async function scaleOut(
  settings: Settings,
  latencyMs: number,
  sim: BenchChild,
  local: BenchChild,
  replicas: BenchChild[],
  redis: BenchRedis,
  log: Log,
): Promise<ScaleOut> {
  const all = [local, ...replicas];
  const configs: { name: string; targets: BenchChild[]; phases: LoadPhase[] }[] = [
    { name: "1 replica, in-process limiter", targets: [local], phases: [] },
    { name: "1 replica, Redis", targets: replicas.slice(0, 1), phases: [] },
    { name: `${replicas.length} replicas, Redis`, targets: replicas, phases: [] },
  ];
  for (let round = 1; round <= settings.rounds; round++) {
    for (const config of configs) {
      log(
        `${latencyMs} ms: round ${round}/${settings.rounds}, ${config.name}, concurrency ${settings.concurrency}, ${settings.durationMs} ms`,
      );
      await load(settings, config.targets, all, sim, redis, 300, false);
      await sleep(50);
      config.phases.push(await load(settings, config.targets, all, sim, redis, settings.durationMs, true));
      await sleep(100);
    }
  }
  const [inProcess, one, many] = configs.map((c) => c.phases) as [LoadPhase[], LoadPhase[], LoadPhase[]];
  const ops = (phases: LoadPhase[]) => spread(phases.map((p) => p.opsPerSecond));
  return {
    latencyMs,
    inProcess,
    one,
    many,
    opsPerSecond: { inProcess: ops(inProcess), one: ops(one), many: ops(many) },
    ratio: spread(many.map((p, i) => p.opsPerSecond / one[i]!.opsPerSecond)),
    oneVsInProcess: spread(one.map((p, i) => p.opsPerSecond / inProcess[i]!.opsPerSecond)),
  };
}

const ms = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const us = (valueMs: number): string => (Number.isFinite(valueMs) ? `${Math.round(valueMs * 1000)} µs` : "n/a");
const lat = (s: LatencySummary): string => `${ms(s.p50)} / ${ms(s.p99)}`;

function costTable(costs: LimiterCost[]): Table {
  const row = (metric: string, cell: (c: LimiterCost) => string): string[] => [metric, ...costs.map(cell)];
  return {
    headers: ["limiter cost per Codat call, c=1", ...costs.map((c) => `${c.latencyMs} ms latency`)],
    rows: [
      row("Codat calls / op (local, Redis)", (c) => `${c.codatCallsPerOp.local.toFixed(2)}, ${c.codatCallsPerOp.redis.toFixed(2)}`),
      row("samples per side (after warm-up)", (c) => `${c.samplesPerSide} (${c.warmupPerSide})`),
      row("in-process limiter p50 / p99 (ms)", (c) => lat(c.local)),
      row("Redis-shared limiter p50 / p99 (ms)", (c) => lat(c.redis)),
      row("added p50, Redis − local", (c) => us(c.addedP50Ms)),
      row("added p99, Redis − local", (c) => us(c.addedP99Ms)),
      row("Redis round trips / Codat call", (c) => c.redisRoundTripsPerCall.toFixed(2)),
      row("Redis commands / Codat call, scripts' included", (c) => c.redisCommandsPerCall.toFixed(2)),
      row(
        "  by name",
        (c) =>
          Object.entries(c.redisCommandsByName)
            .map(([name, n]) => `${name} ${n}`)
            .join(", ") || "-",
      ),
      row("failed ops", (c) => String(c.failed)),
      row("background CPU (cores)", (c) => c.backgroundCores.toFixed(2)),
    ],
  };
}

/** The most ops/s the two companies' caps allow: 2 × 10 calls in flight, each held for at least the latency. */
const capBound = (latencyMs: number): number => (latencyMs === 0 ? Number.POSITIVE_INFINITY : (COMPANIES.length * CAP * 1000) / latencyMs);

/** What bounds the in-process replica's throughput: the cap when it reaches 80% of the cap's bound, else CPU. */
function boundBy(r: ScaleOut): "cap" | "CPU" {
  return r.opsPerSecond.inProcess.median >= 0.8 * capBound(r.latencyMs) ? "cap" : "CPU";
}

function scaleTable(r: ScaleOut, settings: Settings): Table {
  const columns = [
    { phases: r.inProcess, label: "1 replica, in-process", ops: r.opsPerSecond.inProcess, ratio: "-" },
    { phases: r.one, label: "1 replica, Redis", ops: r.opsPerSecond.one, ratio: `${formatSpread(r.oneVsInProcess)} of in-process` },
    {
      phases: r.many,
      label: `${settings.replicas} replicas, Redis`,
      ops: r.opsPerSecond.many,
      ratio: `${formatSpread(r.ratio)} of 1 Redis`,
    },
  ];
  type Column = (typeof columns)[number];
  const row = (metric: string, cell: (c: Column) => string): string[] => [metric, ...columns.map(cell)];
  const median = (phases: LoadPhase[]): LoadPhase => [...phases].sort((a, b) => a.opsPerSecond - b.opsPerSecond)[(phases.length - 1) >> 1]!;
  const maxOf = (phases: LoadPhase[], companyId: string) => Math.max(...phases.map((p) => p.maxInFlight[companyId] ?? 0));
  const bound = capBound(r.latencyMs);
  return {
    headers: [
      `${r.latencyMs} ms latency, c=${settings.concurrency} (${boundBy(r)}-bound; cap allows ${Number.isFinite(bound) ? `${bound.toFixed(0)} ops/s` : "∞"})`,
      ...columns.map((c) => c.label),
    ],
    rows: [
      row("ops/s, median (range)", (c) => `${c.ops.median.toFixed(0)} (${c.ops.min.toFixed(0)}–${c.ops.max.toFixed(0)})`),
      row("ops/s ratio, round by round: median (range)", (c) => c.ratio),
      row("latency p50 / p99, median round (ms)", (c) => lat(median(c.phases).latencyMs)),
      row("failed ops (all rounds)", (c) => String(c.phases.reduce((sum, p) => sum + p.failed, 0))),
      row("simulator max in flight: demo / second", (c) => `${maxOf(c.phases, DEMO_COMPANY_ID)} / ${maxOf(c.phases, SECOND_COMPANY_ID)}`),
      row("Codat calls / op", (c) => ms(median(c.phases).codatCallsPerOp)),
      row("Redis round trips / Codat call", (c) => ms(median(c.phases).redisRoundTripsPerCall)),
      row("  of which permit requests (TAKE)", (c) => ms(median(c.phases).redisTakesPerCall)),
      row("gateway CPU / op, all replicas (ms)", (c) => ms(median(c.phases).gatewayCpuMsPerOp, 3)),
      row("Redis CPU / op (ms)", (c) => ms(median(c.phases).redisCpuMsPerOp, 3)),
      row("background CPU, worst round (cores)", (c) => Math.max(...c.phases.map((p) => p.backgroundCores)).toFixed(2)),
    ],
  };
}

async function main(): Promise<number> {
  const settings = parseSettings();
  const started = Date.now();
  const log: Log = (message) => process.stderr.write(`[bench:scale ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
  const signingSecret = randomBytes(24).toString("hex");
  const running = new Set<BenchChild>();
  const stopChild = async (child: BenchChild): Promise<void> => {
    running.delete(child);
    const exit = await child.stop();
    if (exit && (exit.code !== 0 || exit.signal !== null))
      log(`warning: ${child.name} exited with code ${exit.code}, signal ${exit.signal}`);
  };
  const costs: LimiterCost[] = [];
  const scales: ScaleOut[] = [];
  let redis: BenchRedis | undefined;
  try {
    redis = await startBenchRedis();
    log(`redis-server ${redis.url} (pid ${redis.pid})`);
    const phases = [
      { latencyMs: 0, cost: true },
      { latencyMs: settings.slowLatencyMs, cost: true },
      ...(settings.capLatencyMs > 0 ? [{ latencyMs: settings.capLatencyMs, cost: false }] : []),
    ];
    for (const { latencyMs, cost } of phases) {
      const sim = await BenchChild.start({
        name: "simulator",
        script: relative(repoDir, join(benchDir, "simulator-process.ts")),
        args: ["--latency", String(latencyMs)],
        cwd: repoDir,
      });
      running.add(sim);
      const redisEnv = {
        REDIS_URL: redis.url,
        SIGNING_SECRET: signingSecret,
        REDIS_KEY_PREFIX: `bench-scale-${process.pid}-${latencyMs}ms:`,
        REDIS_EXPECTED_REPLICAS: String(settings.replicas),
      };
      const local = await startGateway(settings, sim, {});
      running.add(local);
      const replicas = [await startGateway(settings, sim, redisEnv)];
      running.add(replicas[0]!);
      log(`${latencyMs} ms: simulator ${sim.info.url}, gateway ${local.info.url} (in-process), ${replicas[0]!.info.url} (Redis)`);
      if (cost) costs.push(await limiterCost(settings, latencyMs, sim, local, replicas[0]!, redis, log));
      while (replicas.length < settings.replicas) {
        const replica = await startGateway(settings, sim, redisEnv);
        running.add(replica);
        replicas.push(replica);
      }
      const callsPerOp = await verifyAndCalibrate([local, ...replicas], sim, latencyMs >= 50 ? 5 : 20);
      if (callsPerOp !== 1) log(`warning: ${callsPerOp.toFixed(2)} Codat calls per operation, expected 1`);
      // The new replicas' JIT catches up with the first one's before anything is recorded.
      await load(settings, replicas, [local, ...replicas], sim, redis, 1000, false);
      scales.push(await scaleOut(settings, latencyMs, sim, local, replicas, redis, log));
      for (const child of [local, ...replicas, sim]) await stopChild(child);
    }
  } finally {
    await Promise.all([...running].map((child) => stopChild(child)));
    await redis?.stop();
  }

  const cpu = cpus();
  const environment = {
    node: process.version,
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    platform: `${process.platform} ${process.arch}`,
  };
  const checks: Target[] = [
    ...costs.flatMap((c) => [
      target(`${c.latencyMs} ms: Codat calls per operation, Redis side`, c.codatCallsPerOp.redis, "<=", 1, "calls"),
      target(`${c.latencyMs} ms: the Redis side used Redis`, c.redisRoundTripsPerCall, ">=", 1, "round trips/call"),
      target(`${c.latencyMs} ms: failed ops, c=1`, c.failed, "<=", 0, "ops", c.firstError),
    ]),
    ...scales.flatMap((s) => {
      const phases = [...s.inProcess, ...s.one, ...s.many];
      const worst = Math.max(...phases.flatMap((p) => COMPANIES.map((id) => p.maxInFlight[id] ?? 0)));
      return [
        target(
          `${s.latencyMs} ms: failed ops under load`,
          phases.reduce((sum, p) => sum + p.failed, 0),
          "<=",
          0,
          "ops",
          phases.find((p) => p.firstError)?.firstError,
        ),
        target(`${s.latencyMs} ms: simulator max in flight per company`, worst, "<=", CAP, "requests"),
      ];
    }),
  ];
  const background = Math.max(
    ...costs.map((c) => c.backgroundCores),
    ...scales.flatMap((s) => [...s.inProcess, ...s.one, ...s.many].map((p) => p.backgroundCores)),
  );

  const lines: string[] = [""];
  lines.push(`Scale-out with a Redis-shared per-company cap — node ${environment.node}, ${environment.cores} × ${environment.cpu}`);
  lines.push(
    `gateway processes: ${[...settings.gatewayFlags, `NODE_ENV=${settings.nodeEnv}`].join(" ")}; README's FirstPage query (first: 20)`,
  );
  lines.push("");
  lines.push(renderTable(costTable(costs)));
  lines.push("");
  lines.push(
    `load: ${settings.rounds} rounds × ${settings.durationMs} ms per side at concurrency ${settings.concurrency}, round-robin over the replicas, ` +
      `alternating the demo and the second company (cap ${CAP} each, shared through Redis)`,
  );
  for (const r of scales) {
    lines.push("");
    lines.push(renderTable(scaleTable(r, settings)));
  }
  lines.push(
    `note: "CPU-bound" = the in-process replica stays under 80% of what the caps allow (${COMPANIES.length} companies × ${CAP} in flight ÷ latency): ` +
      `the ${settings.replicas} replicas, the simulator, Redis and the load generator then share ${environment.cores} cores, so the ` +
      `${settings.replicas} ÷ 1 ratio measures CPU contention, not the limiter. Cap-bound, more replicas cannot add throughput: the ratio ` +
      `should stay near 1 with max in flight ≤ ${CAP} per company.`,
  );
  if (background > BACKGROUND_WARNING_CORES)
    lines.push(
      `warning: other processes used up to ${background.toFixed(2)} cores during measurement: numbers are noisy, rerun on a quiet machine`,
    );
  lines.push("");
  lines.push("Checks");
  for (const t of checks) {
    const value = Number.isInteger(t.value) ? String(t.value) : ms(t.value);
    lines.push(`  ${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${value} ${t.unit} (${t.comparison} ${t.limit})${t.note ? ` — ${t.note}` : ""}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);

  mkdirSync(dirname(settings.out), { recursive: true });
  writeFileSync(
    settings.out,
    `${JSON.stringify(
      {
        finishedAt: new Date().toISOString(),
        durationS: (Date.now() - started) / 1000,
        environment,
        settings,
        limiterCost: costs,
        scaleOut: scales,
        // The printed tables, as docs/performance.md renders them (scripts/docs-render.ts).
        tables: [costTable(costs), ...scales.map((r) => scaleTable(r, settings))],
        checks,
        maxBackgroundCores: background,
      },
      null,
      2,
    )}\n`,
  );
  log(`results written to ${relative(process.cwd(), settings.out)}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error("bench:scale: harness error:", error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
