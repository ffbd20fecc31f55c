/**
 * `prestart` (scripts/build-if-stale.mjs) in a scratch folder laid out like the repository: staleness is the
 * inputs' content, never their modification times, and without the build tools (a pruned production install)
 * it never builds.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
// @ts-expect-error -- plain JavaScript without declarations (it runs before anything is compiled)
import * as script from "../../scripts/build-if-stale.mjs";

interface Decision {
  action: "start" | "build" | "fail";
  message?: string;
}
interface BuildIfStale {
  INPUTS: string[];
  OUTPUTS: string[];
  RECORD: string;
  BUILD_TOOLS: string[];
  inputsHash: (root: string) => string;
  decide: (root: string) => Decision;
  beginBuild: (root: string) => void;
  endBuild: (root: string) => void;
}
const { INPUTS, OUTPUTS, RECORD, BUILD_TOOLS, inputsHash, decide, beginBuild, endBuild } = script as BuildIfStale;

let root: string;

function write(relative: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
  writeFileSync(path.join(root, relative), text);
}

/** What `npm run build` does, as far as prestart can tell: the record first, the outputs, then the record kept. */
function build(): void {
  beginBuild(root);
  for (const output of OUTPUTS) write(output, "// built\n");
  endBuild(root);
}

function installTools(): void {
  for (const tool of BUILD_TOOLS) write(tool, "#!/bin/sh\n");
}

/** Every input file set back (or forward) by a day: what `npm prune` or a checkout does to mtimes. */
function touchAll(when: Date): void {
  for (const file of ["src/main.ts", "schema/a.graphql", "package.json", "package-lock.json"]) {
    utimesSync(path.join(root, file), when, when);
  }
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "build-if-stale-"));
  write("src/main.ts", "export {};\n");
  write("src/__generated__/types.ts", "// generated\n");
  write("schema/a.graphql", "type Query { a: Int }\n");
  write("package.json", "{}\n");
  write("package-lock.json", "{}\n");
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("with the build tools installed", () => {
  beforeEach(installTools);

  it("builds on the first start, then starts as built", () => {
    expect(decide(root)).toEqual({ action: "build", message: "Building dist/ (first start)…" });
    build();
    expect(decide(root)).toEqual({ action: "start" });
  });

  it("ignores modification times: inputs newer than dist/ with the same bytes are current", () => {
    build();
    touchAll(new Date(Date.now() + 86_400_000));
    expect(decide(root)).toEqual({ action: "start" });
  });

  it("rebuilds when an input's content changed, even with an older mtime", () => {
    build();
    write("src/main.ts", "export const changed = true;\n");
    touchAll(new Date(Date.now() - 86_400_000));
    expect(decide(root)).toEqual({ action: "build", message: "Sources changed since the last build: rebuilding dist/…" });
  });

  it("rebuilds when a file is added, renamed or removed, and not for generated files", () => {
    build();
    const built = inputsHash(root);
    write("src/__generated__/types.ts", "// regenerated\n");
    expect(inputsHash(root)).toBe(built);
    write("src/extra.ts", "");
    expect(inputsHash(root)).not.toBe(built);
    rmSync(path.join(root, "src/extra.ts"));
    expect(inputsHash(root)).toBe(built);
    rmSync(path.join(root, "schema/a.graphql"));
    write("schema/b.graphql", "type Query { a: Int }\n");
    expect(inputsHash(root)).not.toBe(built);
  });

  it("rebuilds when an output is missing", () => {
    build();
    rmSync(path.join(root, OUTPUTS[1]!));
    expect(decide(root).action).toBe("build");
  });

  it("a build that did not finish leaves no record, so the next start builds again", () => {
    build();
    beginBuild(root);
    expect(decide(root)).toEqual({ action: "build", message: "No record of what dist/ was built from: rebuilding dist/…" });
  });

  it("records the inputs the build started from, not those it ended with", () => {
    beginBuild(root);
    write("src/main.ts", "export const editedDuringTheBuild = true;\n");
    for (const output of OUTPUTS) write(output, "// built\n");
    endBuild(root);
    expect(decide(root).action).toBe("build");
  });
});

describe("without the build tools (a pruned production install)", () => {
  it("starts dist/ as built, and never builds", () => {
    installTools();
    build();
    for (const tool of BUILD_TOOLS) rmSync(path.join(root, tool));
    touchAll(new Date(Date.now() + 86_400_000));
    expect(decide(root)).toEqual({ action: "start" });
  });

  it("starts a stale dist/ as built, with one line saying so", () => {
    build();
    write("src/main.ts", "export const changed = true;\n");
    const decision = decide(root);
    expect(decision.action).toBe("start");
    expect(decision.message).toMatch(/^dist\/ was built from other sources than these; starting it as built/);
  });

  it("starts dist/ alone (no sources, no record, no simulator build) without a word", () => {
    const runtime = root;
    rmSync(path.join(runtime, "src"), { recursive: true });
    write("dist/main.js", "// built\n");
    expect(decide(runtime)).toEqual({ action: "start" });
  });

  it("fails with one line naming `npm run build` when there is no dist/", () => {
    const decision = decide(root);
    expect(decision.action).toBe("fail");
    expect(decision.message).toBe("dist/ is missing and the build tools are not installed: run `npm ci && npm run build` first.");
  });
});

it("the build records the hash in dist/ (package.json's build script begins and ends with it)", async () => {
  const { readFile } = await import("node:fs/promises");
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
  const steps = pkg.scripts.build!.split(" && ");
  expect(steps[0]).toBe("node scripts/build-if-stale.mjs --begin");
  expect(steps.at(-1)).toBe("node scripts/build-if-stale.mjs --end");
  expect(pkg.scripts.prestart).toBe("node scripts/build-if-stale.mjs");
  expect(RECORD.startsWith("dist/")).toBe(true);
  // Every input the hash covers is in the repository (a renamed input would silently drop out of the hash).
  const { existsSync } = await import("node:fs");
  const repo = path.resolve(import.meta.dirname, "../..");
  expect(INPUTS.filter((input) => !existsSync(path.join(repo, input)))).toEqual([]);
});
