/**
 * The configuration's models (src/config/) name every variable the gateway reads, each with its documentation, and
 * nothing else in src/ reads the environment: found by reading the sources, and by watching which names
 * `parseConfig` asks for under several environments. (docs/configuration.md and `.env.example` are generated from
 * the models: test/unit/docs.test.ts.)
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_SECTIONS, parseConfig } from "../../src/config.js";
import { variableDocs } from "../../src/config/fields.js";
import { code, sourceFiles } from "../helpers/source.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CONFIG_DIR = path.join(ROOT, "src", "config");
const NAME = /^[A-Z][A-Z0-9_]*$/;

/** The variables `text` reads by name: env["X"], env.X, process.env.X, and src/config/'s read(env, "X"). */
function namesRead(text: string): string[] {
  return [
    ...[...text.matchAll(/\benv(?:\[\s*"([A-Z][A-Z0-9_]*)"\s*\]|\.([A-Z][A-Z0-9_]*)\b)/g)].map((m) => m[1] ?? m[2]!),
    ...[...text.matchAll(/\bread\(\s*env,\s*"([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]!),
  ];
}

/** Every variable `parseConfig` looks up for an environment (a Proxy records the lookups). */
function namesAskedBy(env: Record<string, string>): Set<string> {
  const asked = new Set<string>();
  const proxy = new Proxy(env, {
    get(target, key) {
      if (typeof key === "string") asked.add(key);
      return target[key as string];
    },
  });
  try {
    parseConfig(proxy);
  } catch {
    // A refused combination still shows which names were read.
  }
  return asked;
}

describe("the configuration's models", () => {
  const variables = CONFIG_SECTIONS.flatMap((section) => Object.entries(section.model.shape));
  const names = new Set(variables.map(([name]) => name));

  it("name each variable once, each with a description", () => {
    expect(variables.length).toBe(names.size);
    expect(variables.length).toBeGreaterThan(70);
    for (const [name, schema] of variables) {
      expect(name).toMatch(NAME);
      const doc = variableDocs.get(schema);
      expect(doc?.description.length ?? 0, name).toBeGreaterThan(10);
      expect(doc?.description, name).not.toMatch(/\n/);
    }
  });

  it("are the only readers of the environment in src/", () => {
    const outside = sourceFiles(path.join(ROOT, "src")).filter((file) => !file.startsWith(CONFIG_DIR + path.sep));
    const readers = outside.filter((file) => /\bprocess\.env\b/.test(code(file)) || namesRead(code(file)).length > 0);
    // The entry point hands the whole environment to parseConfig, and reads nothing of it itself.
    expect(readers.map((file) => path.relative(ROOT, file))).toEqual([path.join("src", "main.ts")]);
    expect(namesRead(code(path.join(ROOT, "src", "main.ts")))).toEqual([]);
    expect(code(path.join(ROOT, "src", "main.ts")).match(/process\.env/g)).toHaveLength(1);
  });

  it("hold every variable src/config/ reads by name", () => {
    const read = sourceFiles(CONFIG_DIR).flatMap((file) => namesRead(code(file)));
    expect(read.length).toBeGreaterThan(5);
    expect(read.filter((name) => !names.has(name))).toEqual([]);
  });

  it("cover every name parseConfig asks for, whichever features are on", () => {
    const secret = "s".repeat(40);
    const environments: Record<string, string>[] = [
      {},
      { CODAT_API_KEY: "key", HOST: "0.0.0.0" },
      {
        CODAT_BASE_URL: "http://127.0.0.1:1",
        AUTH_MODE: "jwt",
        AUTH_JWT_SECRET: secret,
        AUTH_ISSUER: "i",
        AUTH_AUDIENCE: "a",
        REDIS_URL: "redis://127.0.0.1:6379",
        SIGNING_SECRET: secret,
        CODAT_WEBHOOK_SECRET: `whsec_${Buffer.from(secret).toString("base64")}`,
        ROUTER_SECRET: secret,
        METRICS_PORT: "9464",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      },
    ];
    const asked = new Set(environments.flatMap((env) => [...namesAskedBy(env)]));
    expect([...asked].filter((n) => NAME.test(n) && !names.has(n)).sort()).toEqual([]);
    // With every feature on, every variable is read (OpenTelemetry's own ones are declared there too).
    expect([...names].filter((n) => !asked.has(n)).sort()).toEqual([]);
  });

  it("are what .env.example lists, each once", () => {
    const example = readFileSync(path.join(ROOT, ".env.example"), "utf8");
    // A variable's line, set or commented out: `NAME=value` or `# NAME=value` (a comment's words have spaces).
    const listed = [...example.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=\S*$/gm)].map((m) => m[1]!);
    expect(listed.sort()).toEqual([...names].sort());
  });

  it("know every variable the README's essentials table names", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Configuration essentials"), readme.indexOf("## Errors"));
    const named = [...section.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((n) => !names.has(n))).toEqual([]);
  });
});
