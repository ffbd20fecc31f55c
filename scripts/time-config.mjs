/**
 * What the configuration costs at startup: in N fresh node processes (default 20), the time to import the compiled
 * config module (zod and the models included) and the time of one parseConfig of a typical environment. Prints the
 * median and the range of each, in ms. After `npm run build`:
 *
 *   node scripts/time-config.mjs                                  # dist/config.js
 *   node scripts/time-config.mjs --runs=20 --module=<other build>/config.js   # to compare with another build
 */
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import path from "node:path";

const runs = Number(process.argv.find((a) => a.startsWith("--runs="))?.slice("--runs=".length) ?? 20);
const module = pathToFileURL(path.resolve(process.argv.find((a) => a.startsWith("--module="))?.slice(9) ?? "dist/config.js")).href;
const child = `
const t0 = performance.now();
const { parseConfig } = await import(${JSON.stringify(module)});
const t1 = performance.now();
parseConfig({ CODAT_BASE_URL: "http://127.0.0.1:9", PORT: "0", LOG_LEVEL: "warn", SIGNING_SECRET: "s".repeat(40), REDIS_URL: "redis://127.0.0.1:6379" });
const t2 = performance.now();
console.log(JSON.stringify({ importMs: t1 - t0, parseMs: t2 - t1 }));`;
const samples = [];
for (let i = 0; i < runs; i += 1)
  samples.push(JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", child], { encoding: "utf8" })));
const summary = (key) => {
  const values = samples.map((s) => s[key]).sort((a, b) => a - b);
  const median = values.length % 2 ? values[(values.length - 1) / 2] : (values[values.length / 2 - 1] + values[values.length / 2]) / 2;
  return `${key}: median ${median.toFixed(2)} ms (${values[0].toFixed(2)} to ${values.at(-1).toFixed(2)})`;
};
console.log(`${runs} runs, node ${process.version}: ${summary("importMs")}; ${summary("parseMs")}`);
