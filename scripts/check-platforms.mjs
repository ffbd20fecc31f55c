/**
 * `.ci/run`, after `npm ci`: proves `npm ci` works on the platforms CI is not (darwin-arm64, darwin-x64,
 * win32-x64, linux-arm64), and that CI itself has the Grafbase CLI. Plain JavaScript with no dependencies.
 *
 *  1. The lockfile: no package npm must install (one not flagged `optional`) may declare os/cpu fields that
 *     exclude one of the platforms (npm refuses those with EBADPLATFORM, npm/cli#2921), nor a libc (it would be
 *     refused on Linux with the other libc).
 *  2. `npm ci --dry-run --os=<os> --cpu=<cpu>` for each platform, in a scratch copy of package.json,
 *     package-lock.json and the local packages' package.json files (the checkout's node_modules is never
 *     touched). npm's --os/--cpu only decide which optional packages it skips: its EBADPLATFORM check of the
 *     others uses the running machine (arborist's build-ideal-tree.js). So npm runs with a preload that makes
 *     that check use the target platform too, and a package that would break `npm ci` there fails the dry run.
 *  3. On linux-x64 (CI) the Grafbase CLI must be installed, so the router tests never skip there.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The platforms besides CI's linux-x64 that `npm ci` must work on. */
export const PLATFORMS = [
  { os: "darwin", cpu: "arm64" },
  { os: "darwin", cpu: "x64" },
  { os: "win32", cpu: "x64" },
  { os: "linux", cpu: "arm64" },
];

/** npm's os/cpu rule (npm-install-checks): no list or "any" admits all; "!x" excludes x; otherwise x must be listed. */
export function admits(list, value) {
  if (list === undefined) return true;
  const entries = typeof list === "string" ? [list] : list;
  if (entries.length === 1 && entries[0] === "any") return true;
  let negated = 0;
  let listed = false;
  for (const entry of entries) {
    if (entry.startsWith("!")) {
      negated++;
      if (entry.slice(1) === value) return false;
    } else if (entry === value) {
      listed = true;
    }
  }
  return listed || negated === entries.length;
}

/**
 * Check 1 on a parsed package-lock.json (lockfileVersion 2 or 3): one line per package npm must install that one
 * of the platforms refuses. `optional: true` is what npm skips when a platform refuses it; `devOptional` and
 * `dev` packages are required in a development install, so they count.
 */
export function lockfileProblems(lock, platforms = PLATFORMS) {
  const problems = [];
  for (const [location, entry] of Object.entries(lock.packages ?? {})) {
    if (location === "" || entry.link || entry.optional) continue;
    const what = `${location}${entry.version ? `@${entry.version}` : ""}`;
    const refusing = platforms.filter((p) => !admits(entry.os, p.os) || !admits(entry.cpu, p.cpu));
    if (refusing.length > 0) {
      const fields = JSON.stringify({ os: entry.os, cpu: entry.cpu });
      problems.push(`${what} ${fields} is not optional: npm ci fails on ${refusing.map((p) => `${p.os}-${p.cpu}`).join(", ")}`);
    }
    if (entry.libc !== undefined && platforms.some((p) => p.os === "linux")) {
      problems.push(`${what} ${JSON.stringify({ libc: entry.libc })} is not optional: npm ci fails on Linux with another libc`);
    }
  }
  return problems;
}

/** npm's own CLI script: the one running us (`npm run`), or the global install's. */
function npmCli() {
  const running = process.env.npm_execpath;
  if (running?.endsWith("npm-cli.js") && existsSync(running)) return running;
  const global = path.join(execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim(), "npm", "bin", "npm-cli.js");
  if (!existsSync(global)) throw new Error(`check-platforms: npm's CLI script not found (${global})`);
  return global;
}

/**
 * Loaded into npm with --require: npm-install-checks' checkPlatform (which arborist calls with the running
 * machine for non-optional packages) defaults to the target platform. It fails loudly if npm's layout changes.
 */
const PRELOAD = `"use strict";
const path = require("node:path");
const npmDir = path.resolve(process.env.CHECK_PLATFORMS_NPM_CLI, "../..");
const arborist = require.resolve("@npmcli/arborist", { paths: [npmDir] });
const checks = require(require.resolve("npm-install-checks", { paths: [path.dirname(arborist)] }));
const checkPlatform = checks.checkPlatform;
const target = { os: process.env.CHECK_PLATFORMS_OS, cpu: process.env.CHECK_PLATFORMS_CPU };
checks.checkPlatform = (pkg, force, environment) => checkPlatform(pkg, force, { ...target, ...environment });
`;

/** Check 2: `npm ci --dry-run` for the platform in a scratch copy of the manifests; npm's exit status and output. */
export function dryRun(root, platform, cli = npmCli()) {
  const scratch = mkdtempSync(path.join(tmpdir(), "check-platforms-"));
  try {
    const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"));
    // The root's manifests and settings, and those of the local packages (workspaces, file: dependencies).
    const files = ["package.json", "package-lock.json", ".npmrc"];
    for (const location of Object.keys(lock.packages ?? {})) {
      if (location !== "" && !location.startsWith("node_modules/") && !location.includes("/node_modules/"))
        files.push(`${location}/package.json`);
    }
    for (const file of files) {
      if (!existsSync(path.join(root, file))) continue;
      mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
      copyFileSync(path.join(root, file), path.join(scratch, file));
    }
    const preload = path.join(scratch, "check-platforms-preload.cjs");
    writeFileSync(preload, PRELOAD);
    const args = ["--require", preload, cli, "ci", "--dry-run", `--os=${platform.os}`, `--cpu=${platform.cpu}`];
    const result = spawnSync(process.execPath, [...args, "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error"], {
      cwd: scratch,
      encoding: "utf8",
      env: { ...process.env, CHECK_PLATFORMS_NPM_CLI: cli, CHECK_PLATFORMS_OS: platform.os, CHECK_PLATFORMS_CPU: platform.cpu },
    });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  let failed = false;

  const problems = lockfileProblems(JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")));
  for (const problem of problems) console.error(`check-platforms: ${problem}`);
  failed ||= problems.length > 0;
  if (problems.length === 0)
    console.log("check-platforms: no required package in package-lock.json has os/cpu fields that exclude a platform");

  const cli = npmCli();
  for (const platform of PLATFORMS) {
    const name = `${platform.os}-${platform.cpu}`;
    const { ok, output } = dryRun(root, platform, cli);
    if (ok) {
      console.log(`check-platforms: ${name}: npm ci --dry-run: ${/added \d+ packages/.exec(output)?.[0] ?? "OK"}`);
    } else {
      failed = true;
      console.error(`check-platforms: ${name}: npm ci --dry-run failed:\n${output.trim()}`);
    }
  }

  // The router tests skip without the CLI; on CI's platform that would hide them.
  const { grafbaseBinary, GRAFBASE_MISSING_REASON, PLATFORM } = await import("../test/tools/grafbase-cli/index.js");
  const binary = grafbaseBinary();
  if (binary !== undefined) console.log(`check-platforms: Grafbase CLI: ${path.relative(root, binary)}`);
  else if (PLATFORM === "linux-x64") {
    failed = true;
    console.error(`check-platforms: ${GRAFBASE_MISSING_REASON} (required on linux-x64: CI must run the router tests)`);
  } else console.log(`check-platforms: ${GRAFBASE_MISSING_REASON} (the router tests skip here)`);

  if (failed) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
