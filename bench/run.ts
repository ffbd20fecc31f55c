/**
 * `npm run bench`: the gateway over the simulator vs the simulator's REST endpoints directly, for the same data,
 * under the same conditions. Three processes (2 cores in mind): the simulator and the gateway each in their own
 * child, the load generator here. Prints tables and PASS/FAIL targets, writes bench/results/latest.json.
 *
 * Flags (`npm run bench -- --concurrency 16`):
 *   --duration MS      each recorded load phase (default 3000)
 *   --rounds N         load rounds per scenario, each side once per round (default 3): median and range
 *   --concurrency N    concurrent operations under load (default 10)
 *   --samples N        sequential latency samples per side (default 1000)
 *   --warmup N         sequential warm-up operations per side (default 300)
 *   --calibration N    operations per side for counting upstream calls (default 20)
 *   --latency MS       simulator latency per response (default 0; the latency target assumes 0)
 *   --only a,b         scenario ids (customers-page, customers-by-id, download)
 *   --cpu-prof         run the gateway (and the baseline) with --cpu-prof; profiles in bench/results/profiles/
 *                      (see profile-summary.ts)
 *   --gateway-flags "…"  node flags for the gateway process (default: those of package.json's start script)
 *   --gateway-env "A=1 B=2"  settings for every scenario's gateway on top of its own (what a feature costs: LOG_LEVEL=warn, …)
 *   --node-env VALUE   NODE_ENV of the gateway process (default production, as deployed: graphql-js drops its dev checks)
 *                      It is also passed to the gateway's parseConfig (introspection off, no stack traces).
 *   --out FILE         JSON output (default bench/results/latest.json)
 *
 * Exit code 0 whenever the harness ran (targets may FAIL), 1 on a harness error.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BenchChild } from "./lib/child.js";
import { renderTable } from "./lib/table.js";
import { scenarios } from "./scenarios/index.js";
import type { BenchContext, BenchSettings, ScenarioResult, Target } from "./scenarios/types.js";

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoDir = resolve(benchDir, "..");

function parseSettings() {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "3000" },
      rounds: { type: "string", default: "3" },
      concurrency: { type: "string", default: "10" },
      samples: { type: "string", default: "1000" },
      warmup: { type: "string", default: "300" },
      calibration: { type: "string", default: "20" },
      latency: { type: "string", default: "0" },
      only: { type: "string" },
      "cpu-prof": { type: "boolean", default: false },
      "gateway-flags": { type: "string" },
      "gateway-env": { type: "string", default: "" },
      "node-env": { type: "string", default: "production" },
      out: { type: "string", default: join(benchDir, "results", "latest.json") },
    },
  });
  const int = (name: keyof typeof values, min: number): number => {
    const raw = String(values[name]);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got "${raw}"`);
    return n;
  };
  const settings: BenchSettings = {
    durationMs: int("duration", 100),
    rounds: int("rounds", 1),
    concurrency: int("concurrency", 1),
    samples: int("samples", 1),
    warmup: int("warmup", 0),
    calibrationOps: int("calibration", 1),
    simulatorLatencyMs: int("latency", 0),
  };
  const only = values.only
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of only ?? [])
    if (!scenarios.some((s) => s.id === id)) throw new Error(`unknown scenario "${id}" (${scenarios.map((s) => s.id).join(", ")})`);
  // By default the gateway runs as `npm start` runs it in production: the start script's node flags, NODE_ENV=production.
  const gatewayFlags = (values["gateway-flags"] ?? startScriptFlags()).split(/\s+/).filter(Boolean);
  const nodeEnv = values["node-env"];
  const gatewayEnv = values["gateway-env"].split(/\s+/).filter(Boolean);
  for (const entry of gatewayEnv)
    if (!/^[A-Z_][A-Z0-9_]*=/.test(entry)) throw new Error(`--gateway-env takes NAME=value pairs, got "${entry}"`);
  return { settings, only, cpuProf: values["cpu-prof"], gatewayFlags, gatewayEnv, nodeEnv, out: resolve(values.out) };
}

/** The node flags of package.json's `start` script (`[exec] node <flags> dist/main.js`). */
function startScriptFlags(): string {
  const pkg = JSON.parse(readFileSync(join(repoDir, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  const match = /^(?:exec\s+)?node\s+(.*?)\s*dist\/main\.js/.exec(pkg.scripts?.["start"] ?? "");
  return match?.[1] ?? "";
}

function renderTarget(t: Target): string {
  const value = Number.isFinite(t.value) ? (Number.isInteger(t.value) ? String(t.value) : t.value.toFixed(2)) : "n/a";
  const unit = t.unit ? ` ${t.unit}` : "";
  return `  ${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${value}${unit} (target ${t.comparison} ${t.limit}${unit})${t.note ? ` — ${t.note}` : ""}`;
}

async function main(): Promise<number> {
  const { settings, only, cpuProf, gatewayFlags, gatewayEnv, nodeEnv, out } = parseSettings();
  const started = Date.now();
  const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
  const profileDir = join(benchDir, "results", "profiles");
  if (cpuProf) mkdirSync(profileDir, { recursive: true });

  let simulator: BenchChild | undefined;
  let gateway: BenchChild | undefined;
  let baseline: BenchChild | undefined;
  const results: ScenarioResult[] = [];
  try {
    simulator = await BenchChild.start({
      name: "simulator",
      script: relative(repoDir, join(benchDir, "simulator-process.ts")),
      args: ["--latency", String(settings.simulatorLatencyMs)],
      cwd: repoDir,
    });
    log(`simulator ${simulator.info.url} (pid ${simulator.pid})`);
    const sim = simulator;
    baseline = await BenchChild.start({
      name: "baseline",
      script: relative(repoDir, join(benchDir, "baseline-process.mjs")),
      args: [sim.info.url],
      nodeFlags: cpuProf ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", "baseline.cpuprofile"] : [],
      env: { NODE_ENV: nodeEnv },
      cwd: repoDir,
    });
    log(`baseline ${baseline.info.url} (pid ${baseline.pid})`);
    const base = baseline;
    // A fresh gateway per scenario: its RSS (which rarely shrinks) and JIT state never carry over from the
    // previous scenario, so every "peak RSS" is that scenario's own.
    for (const scenario of scenarios) {
      if (only && !only.includes(scenario.id)) continue;
      const gw = await BenchChild.start({
        name: "gateway",
        script: relative(repoDir, join(benchDir, "gateway-process.mjs")),
        args: [sim.info.url, ...Object.entries(scenario.gatewayEnv ?? {}).map(([name, value]) => `${name}=${value}`), ...gatewayEnv],
        nodeFlags: [
          ...gatewayFlags,
          ...(cpuProf ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `gateway-${scenario.id}.cpuprofile`] : []),
        ],
        env: { NODE_ENV: nodeEnv },
        cwd: repoDir,
      });
      gateway = gw;
      log(`scenario ${scenario.id}: gateway ${gw.info.url} (pid ${gw.pid})`);
      const ctx: BenchContext = {
        settings,
        simulatorUrl: sim.info.url,
        graphqlUrl: gw.info.url,
        gateway: gw,
        baseline: base,
        simulator: sim,
        gatewayNodeFlags: gatewayFlags,
        simulatorRequestCount: async () => (await sim.call<{ requests: number }>("stats")).requests,
        log,
      };
      results.push(await scenario.run(ctx));
      const exit = await gw.stop();
      gateway = undefined;
      if (exit && (exit.code !== 0 || exit.signal !== null))
        throw new Error(`gateway exited with code ${exit.code}, signal ${exit.signal}`);
    }
  } finally {
    const exits = await Promise.all([gateway?.stop(), simulator?.stop(), baseline?.stop()]);
    for (const [name, exit] of [
      ["gateway", exits[0]],
      ["simulator", exits[1]],
    ] as const) {
      if (exit && (exit.code !== 0 || exit.signal !== null)) log(`warning: ${name} exited with code ${exit.code}, signal ${exit.signal}`);
    }
  }

  const cpu = cpus();
  const environment = {
    node: process.version,
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    platform: `${process.platform} ${process.arch}`,
  };
  const allTargets = results.flatMap((r) => r.targets.map((t) => ({ scenario: r.id, ...t })));

  const lines: string[] = [];
  lines.push("");
  lines.push(`Gateway vs direct REST — node ${environment.node}, ${environment.cores} × ${environment.cpu}`);
  if (Number(process.versions.node.split(".")[0]) < 24) {
    lines.push(
      `warning: the project targets Node 24 but this run used ${process.version}: run it with \`npm run bench\` (or npx), which put node_modules/.bin first`,
    );
  }
  lines.push(
    `load: ${settings.rounds} rounds × ${settings.durationMs} ms per side at concurrency ${settings.concurrency}; c=1: ${settings.samples} samples per side after ${settings.warmup} warm-up; ` +
      `calibration: ${settings.calibrationOps} ops; simulated latency: ${settings.simulatorLatencyMs} ms`,
  );
  {
    lines.push(`gateway process: ${[...gatewayFlags, `NODE_ENV=${nodeEnv}`, ...gatewayEnv].join(" ")}`);
  }
  for (const r of results) {
    lines.push("");
    lines.push(`${r.title}${r.status === "ok" ? "" : ` — ${r.status.toUpperCase()}: ${r.reason ?? ""}`}`);
    for (const table of r.tables) lines.push(renderTable(table));
    for (const warning of r.warnings ?? []) lines.push(`warning: ${warning}`);
  }
  lines.push("");
  lines.push("Targets");
  for (const r of results) {
    if (r.targets.length === 0) continue;
    lines.push(` ${r.title}`);
    for (const t of r.targets) lines.push(renderTarget(t));
  }
  const failed = allTargets.filter((t) => !t.pass).length;
  lines.push("");
  lines.push(failed === 0 ? `All ${allTargets.length} targets PASS.` : `${failed} of ${allTargets.length} targets FAIL.`);
  process.stdout.write(`${lines.join("\n")}\n`);

  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        finishedAt: new Date().toISOString(),
        durationS: (Date.now() - started) / 1000,
        environment,
        settings: { ...settings, cpuProf, gatewayFlags, nodeEnv },
        scenarios: results,
        targets: allTargets,
        pass: failed === 0,
      },
      null,
      2,
    )}\n`,
  );
  log(
    `results written to ${relative(process.cwd(), out)}${cpuProf ? `; gateway CPU profile in ${relative(process.cwd(), profileDir)}/` : ""}`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error("bench: harness error:", error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
