/**
 * The Dockerfile, `.ci/prod-recipe.sh` (which runs the Dockerfile's steps without a container runtime) and the
 * compose example of docs/deployment.md must agree: a step changed on one side only fails here.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configProblems } from "../helpers/config.js";
import { startStack, type Stack } from "../helpers/stack.js";

const root = path.resolve(import.meta.dirname, "../..");
const read = (file: string): string => readFileSync(path.join(root, file), "utf8");

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions by stage, continuation lines joined, comments and parser directives dropped. */
function dockerfileStages(text: string): { from: string; instructions: Instruction[] }[] {
  const stages: { from: string; instructions: Instruction[] }[] = [];
  const logical = text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .filter((line) => line.trim() !== "");
  for (const line of logical) {
    const match = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!match) throw new Error(`Dockerfile: cannot read ${JSON.stringify(line)}`);
    const [, keyword, args] = match as unknown as [string, string, string];
    if (keyword === "FROM") stages.push({ from: args, instructions: [] });
    else if (stages.length === 0) throw new Error(`Dockerfile: ${keyword} before FROM`);
    else stages.at(-1)!.instructions.push({ keyword, args });
  }
  return stages;
}

/** Shell words: plain words and single-quoted strings (all the recipe's docker_* lines use). */
function shellWords(text: string): string[] {
  const words: string[] = [];
  for (const match of text.matchAll(/'([^']*)'|([^\s']+)/g)) words.push(match[1] ?? match[2]!);
  return words;
}

/** The recipe's `docker_<kind> …` lines (calls, not the function definitions), as shell words. */
function recipeSteps(text: string, kind: string): string[][] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`docker_${kind} `))
    .map((line) => shellWords(line.slice(`docker_${kind} `.length)));
}

const stages = dockerfileStages(read("Dockerfile"));
const [buildStage, runtimeStage] = stages as [(typeof stages)[number], (typeof stages)[number]];
const recipe = read(".ci/prod-recipe.sh");
const of = (stage: typeof buildStage, keyword: string): string[] =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
/** An exec-form (JSON array) instruction's argv. */
const execForm = (args: string): string[] => JSON.parse(args) as string[];
const runtimeEnv = Object.fromEntries(
  of(runtimeStage, "ENV")
    .flatMap((args) => args.split(/\s+/))
    .map((pair) => pair.split("=") as [string, string]),
);
const healthcheck = of(runtimeStage, "HEALTHCHECK");
const healthcheckArgv = execForm(/\bCMD\s+(\[.*\])$/.exec(healthcheck[0] ?? "")?.[1] ?? "null");
const cmd = execForm(of(runtimeStage, "CMD")[0] ?? "null");

describe("the Dockerfile", () => {
  it("builds on Node 24 and runs on node:24-slim, in two stages", () => {
    expect(stages.map((s) => s.from)).toEqual([expect.stringMatching(/^node:24(-slim)? AS build$/), "node:24-slim"]);
  });

  it("runs package.json's `start` command as CMD, as the unprivileged node user, in production mode", () => {
    const start = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts.start!;
    expect(["exec", ...cmd].join(" ")).toBe(start);
    const keywords = runtimeStage.instructions.map((i) => i.keyword);
    expect(of(runtimeStage, "USER")).toEqual(["node"]);
    expect(keywords.indexOf("USER")).toBeLessThan(keywords.indexOf("CMD"));
    expect(runtimeEnv.NODE_ENV).toBe("production");
    expect(of(runtimeStage, "EXPOSE")).toEqual([runtimeEnv.PORT]);
    // The image listens off loopback: with a real key the gateway wants callers authenticated (or says why not).
    expect(configProblems({ ...runtimeEnv, CODAT_API_KEY: "key" })).toEqual([expect.stringContaining("AUTH_MODE=jwt")]);
    expect(configProblems({ ...runtimeEnv, CODAT_API_KEY: "key", ALLOW_UNAUTHENTICATED: "true" })).toEqual([]);
  });

  it("checks health with node's fetch on /readyz at $PORT on loopback", () => {
    expect(healthcheck).toHaveLength(1);
    expect(healthcheckArgv.slice(0, 2)).toEqual(["node", "-e"]);
    expect(healthcheckArgv[2]).toContain("fetch(`http://127.0.0.1:${process.env.PORT}/readyz`)");
  });

  it("keeps out of the build context only what a fresh clone does not hold (so the recipe builds the same files)", () => {
    const normalise = (pattern: string) => pattern.replace(/^\*\*\//, "").replace(/\/$/, "");
    const ignored = (text: string) =>
      text
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#"))
        .map(normalise);
    const gitignore = new Set(ignored(read(".gitignore")));
    const dockerignore = ignored(read(".dockerignore"));
    expect(dockerignore).toEqual(expect.arrayContaining([".git", "node_modules", "dist", ".env", ".env.*"]));
    expect(dockerignore.filter((pattern) => pattern !== ".git" && !gitignore.has(pattern))).toEqual([]);
  });
});

describe(".ci/prod-recipe.sh runs the Dockerfile's steps", () => {
  it("the build stage's RUN commands, in order", () => {
    const runs = of(buildStage, "RUN").map((args) => args.replace(/^(--\S+\s+)+/, ""));
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(recipeSteps(recipe, "run")).toEqual(runs.map((run) => [run]));
    expect(of(runtimeStage, "RUN")).toEqual([]);
  });

  it("the runtime stage's COPY lines, in order, all from the build stage", () => {
    const copies = of(runtimeStage, "COPY").map((args) => args.split(/\s+/));
    expect(copies.every((words) => words[0] === "--from=build" && words.length === 3)).toBe(true);
    expect(recipeSteps(recipe, "copy")).toEqual(copies.map((words) => words.slice(1)));
    expect(copies.map((words) => words[2])).toEqual(expect.arrayContaining(["./", "./dist", "./node_modules", "./schema"]));
  });

  it("its ENV, HEALTHCHECK and CMD", () => {
    expect(recipeSteps(recipe, "env")).toEqual([of(runtimeStage, "ENV").flatMap((args) => args.split(/\s+/))]);
    expect(recipeSteps(recipe, "healthcheck")).toEqual([healthcheckArgv]);
    expect(recipeSteps(recipe, "cmd")).toEqual([cmd]);
  });
});

describe("the HEALTHCHECK's path", () => {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("answers 200 on a gateway that is ready", async () => {
    const target = /127\.0\.0\.1:\$\{process\.env\.PORT\}(\/[^`]*)`/.exec(healthcheckArgv[2]!)![1]!;
    expect(target).toBe("/readyz");
    const res = await fetch(new URL(target, stack!.origin));
    expect(res.status).toBe(200);
  });
});

describe("the compose example in docs/deployment.md", () => {
  const doc = read("docs/deployment.md");
  const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((yaml) => /^services:/m.test(yaml));
  interface Service {
    build?: string | { context: string; dockerfile?: string };
    image?: string;
    command?: unknown;
    entrypoint?: unknown;
    healthcheck?: unknown;
    user?: unknown;
    deploy?: { replicas?: number };
    environment?: Record<string, string>;
    depends_on?: Record<string, unknown> | string[];
  }
  const services = (parse(block ?? "") as { services: Record<string, Service> } | null)?.services ?? {};
  const gateway = services.gateway;

  it("builds the Dockerfile and keeps its CMD, HEALTHCHECK and USER", () => {
    expect(block).toBeDefined();
    expect(gateway).toBeDefined();
    const build = gateway!.build;
    expect(typeof build === "string" ? build : build?.context).toBe(".");
    if (typeof build === "object") expect(build.dockerfile ?? "Dockerfile").toBe("Dockerfile");
    expect(gateway!.image).toBeUndefined();
    expect(gateway!.command).toBeUndefined();
    expect(gateway!.entrypoint).toBeUndefined();
    expect(gateway!.healthcheck).toBeUndefined();
    expect(gateway!.user).toBeUndefined();
  });

  it("runs three replicas on one Redis, and says so to the gateway", () => {
    const env = gateway!.environment!;
    expect(gateway!.deploy?.replicas).toBe(3);
    expect(env.REPLICAS).toBe(String(gateway!.deploy?.replicas));
    const redisHost = new URL(env.REDIS_URL!).hostname;
    expect(services[redisHost]?.image).toMatch(/^redis:/);
    expect(Object.keys(gateway!.depends_on ?? {})).toContain(redisHost);
  });

  it("sets a configuration the gateway accepts (with the Dockerfile's ENV)", () => {
    // compose's ${VAR} interpolation, with values of the right shape.
    const samples: Record<string, string> = { CODAT_API_KEY: "compose-example-key", SIGNING_SECRET: "s".repeat(32) };
    const env = Object.fromEntries(
      Object.entries(gateway!.environment!).map(([name, value]) => [
        name,
        value.replace(/\$\{(\w+)\}/g, (_, variable: string) => {
          if (samples[variable] === undefined) throw new Error(`no sample value for \${${variable}}`);
          return samples[variable];
        }),
      ]),
    );
    expect(configProblems({ ...runtimeEnv, ...env })).toEqual([]);
  });
});
