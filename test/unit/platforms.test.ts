/**
 * scripts/check-platforms.mjs's lockfile check (`.ci/run` runs the whole script): a package npm must install may
 * not declare os/cpu fields that exclude darwin-arm64, darwin-x64, win32-x64 or linux-arm64, or `npm ci` fails
 * there with EBADPLATFORM. Optional packages are what npm skips on a platform they do not fit.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- plain JavaScript without declarations (CI runs it with the machine's Node, before any build)
import * as script from "../../scripts/check-platforms.mjs";

interface LockEntry {
  version?: string;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  optional?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  link?: boolean;
}
interface Lockfile {
  packages: Record<string, LockEntry>;
}
interface CheckPlatforms {
  PLATFORMS: { os: string; cpu: string }[];
  admits: (list: string | string[] | undefined, value: string) => boolean;
  lockfileProblems: (lock: Lockfile) => string[];
}
const { PLATFORMS, admits, lockfileProblems } = script as CheckPlatforms;

const root = path.resolve(import.meta.dirname, "../..");
const GRAFBASE = "node_modules/@grafbase/cli-x86_64-unknown-linux-musl";
const linuxX64 = { version: "0.103.0", os: ["linux"], cpu: ["x64"] };
const lock = (packages: Record<string, LockEntry>): Lockfile => ({ packages: { "": {}, ...packages } });

describe("check-platforms: the lockfile", () => {
  it("the repository's package-lock.json installs on every platform: its platform packages are all optional", () => {
    const real = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as Lockfile;
    expect(lockfileProblems(real)).toEqual([]);
    // The Grafbase CLI is one of them: optional (skipped elsewhere) and dev (kept out of production installs).
    expect(real.packages[GRAFBASE]).toMatchObject({ os: ["linux"], cpu: ["x64"], optional: true, dev: true });
    expect(PLATFORMS.map((p) => `${p.os}-${p.cpu}`)).toEqual(["darwin-arm64", "darwin-x64", "win32-x64", "linux-arm64"]);
  });

  it("a required linux-x64 package (the old plain dev dependency) fails on all four platforms", () => {
    const problems = lockfileProblems(lock({ [GRAFBASE]: { ...linuxX64, dev: true } }));
    expect(problems).toEqual([
      `${GRAFBASE}@0.103.0 {"os":["linux"],"cpu":["x64"]} is not optional: npm ci fails on darwin-arm64, darwin-x64, win32-x64, linux-arm64`,
    ]);
    // devOptional (in both devDependencies and optionalDependencies of one package.json) is still required.
    expect(lockfileProblems(lock({ [GRAFBASE]: { ...linuxX64, devOptional: true } }))).toHaveLength(1);
  });

  it("optional packages, links and packages without os/cpu pass; negated and partial lists name only the platforms they exclude", () => {
    expect(
      lockfileProblems(
        lock({
          [GRAFBASE]: { ...linuxX64, dev: true, optional: true },
          "node_modules/grafbase-cli-local": { link: true },
          "node_modules/ky": { version: "2.1.0" },
          "node_modules/any": { version: "1.0.0", os: ["any"] },
        }),
      ),
    ).toEqual([]);
    const problems = lockfileProblems(
      lock({
        "node_modules/not-windows": { version: "1.0.0", os: ["!win32"] },
        "node_modules/mac-only": { version: "1.0.0", os: ["darwin"] },
        "node_modules/glibc": { version: "1.0.0", libc: ["glibc"] },
      }),
    );
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^node_modules\/not-windows@1\.0\.0 .* npm ci fails on win32-x64$/);
    expect(problems[1]).toMatch(/^node_modules\/mac-only@1\.0\.0 .* npm ci fails on win32-x64, linux-arm64$/);
    expect(problems[2]).toMatch(/^node_modules\/glibc@1\.0\.0 \{"libc":\["glibc"\]\} .* another libc$/);
  });

  it("reads os/cpu lists as npm does", () => {
    expect(admits(undefined, "darwin")).toBe(true);
    expect(admits(["any"], "darwin")).toBe(true);
    expect(admits(["linux"], "darwin")).toBe(false);
    expect(admits("darwin", "darwin")).toBe(true);
    expect(admits(["!win32"], "darwin")).toBe(true);
    expect(admits(["!win32"], "win32")).toBe(false);
    expect(admits(["!win32", "linux"], "darwin")).toBe(false);
  });
});
