/**
 * How long a user waits: runs an npm script (default `start`) N times (default 3) in the current directory and
 * prints the time from the command to the gateway's `GraphQL gateway ready at` line, each run and the median. Each
 * run's process group is stopped with SIGTERM once ready. `--fresh` removes what a fresh clone after `npm ci` has
 * not got (dist/, simulator/dist/, the generated sources) before each run, so `npm start` builds first.
 *
 *   node scripts/time-to-ready.mjs --fresh start    # first `npm start` after `npm ci`
 *   node scripts/time-to-ready.mjs start            # `npm start` again
 *   node scripts/time-to-ready.mjs dev              # `npm run dev`
 *
 * The README's start times come from this, on a fresh clone (`git clone … && npm ci`), nothing else running.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";

const args = process.argv.slice(2);
const fresh = args.includes("--fresh");
const runs = Number(args.find((a) => a.startsWith("--runs="))?.slice("--runs=".length) ?? 3);
const script = args.find((a) => !a.startsWith("--")) ?? "start";
const GENERATED = ["dist", "simulator/dist", "src/__generated__", "src/codat/__generated__", "simulator/src/__generated__"];

/** One run: ms from spawn to the ready line. */
function once() {
  if (fresh) for (const dir of GENERATED) rmSync(dir, { recursive: true, force: true });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn("npm", script === "start" ? ["start"] : ["run", script], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PORT: "0", LOG_PRETTY: "false" },
    });
    let output = "";
    let ready;
    const onData = (chunk) => {
      output += chunk;
      if (ready === undefined && output.includes("GraphQL gateway ready at")) {
        ready = performance.now() - started;
        process.kill(-child.pid, "SIGTERM");
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", () => (ready === undefined ? reject(new Error(`exited before ready:\n${output.slice(-2000)}`)) : resolve(ready)));
  });
}

const times = [];
for (let i = 0; i < runs; i += 1) {
  const ms = await once();
  times.push(ms);
  console.log(`npm ${script === "start" ? "start" : `run ${script}`}${fresh ? " (fresh)" : ""}: ready after ${(ms / 1000).toFixed(2)} s`);
}
const sorted = [...times].sort((a, b) => a - b);
console.log(`median of ${runs}: ${(sorted[(runs - 1) >> 1] / 1000).toFixed(2)} s`);
