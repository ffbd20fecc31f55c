/**
 * src/config-reference.ts (the source of docs/configuration.md) names exactly the variables the code reads: found
 * by reading the sources (src/config.ts's `read`/`integer`/`boolean`/`httpUrl` calls and name lists, and every
 * `env[...]` of src/), and by watching which names `parseConfig` asks for under several environments.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_GROUPS, CONFIG_REFERENCE } from "../../src/config-reference.js";
import { parseConfig } from "../../src/config.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const NAME = /^[A-Z][A-Z0-9_]*$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "__generated__" ? [] : sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** Source text without comments (a comment naming a variable is not a read). */
const code = (file: string): string =>
  readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");

/** Every variable name the sources read. */
function namesReadBySources(): Set<string> {
  const names = new Set<string>();
  const add = (name: string | undefined) => {
    if (name !== undefined && NAME.test(name)) names.add(name);
  };
  for (const file of sourceFiles(path.join(ROOT, "src"))) {
    if (file.endsWith("config-reference.ts")) continue;
    const text = code(file);
    // env["X"], env.X, process.env.X, process.env["X"]
    for (const m of text.matchAll(/\benv(?:\[\s*"([A-Z][A-Z0-9_]*)"\s*\]|\.([A-Z][A-Z0-9_]*)\b)/g)) add(m[1] ?? m[2]);
    // src/config.ts's readers: read("X"), integer("X", …), boolean("X", …), httpUrl("X")
    for (const m of text.matchAll(/\b(?:read|integer|boolean|httpUrl)\(\s*"([A-Z][A-Z0-9_]*)"/g)) add(m[1]);
    // Names read in a loop: `for (const name of ["X", "Y"])`, and a table of names such as OTEL_BSP_* → setting.
    for (const m of text.matchAll(/for \(const \w+ of \[([^\]]*)\]\)/g)) for (const s of m[1]!.matchAll(/"([A-Z][A-Z0-9_]*)"/g)) add(s[1]);
    for (const m of text.matchAll(/\b(OTEL_[A-Z0-9_]+)\b/g)) add(m[1]);
    // src/config.ts: any string literal shaped like a variable with an underscore (lists such as REDIS_SETTINGS).
    if (file.endsWith(`${path.sep}config.ts`)) for (const m of text.matchAll(/"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"/g)) add(m[1]);
  }
  return names;
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

describe("src/config-reference.ts", () => {
  const reference = new Set(CONFIG_REFERENCE.map((v) => v.name));

  it("names each variable once, in a known group, with a description and a default", () => {
    expect(CONFIG_REFERENCE.length).toBe(reference.size);
    const groups = new Set(CONFIG_GROUPS.map((g) => g.id));
    for (const v of CONFIG_REFERENCE) {
      expect(groups.has(v.group), v.name).toBe(true);
      expect(v.description.length, v.name).toBeGreaterThan(10);
      expect(v.default.length, v.name).toBeGreaterThan(0);
      expect(v.description, v.name).not.toMatch(/\n/);
    }
  });

  it("lists exactly the variables the code reads", () => {
    const read = namesReadBySources();
    const documented = new Set(CONFIG_REFERENCE.filter((v) => v.readBy !== "opentelemetry").map((v) => v.name));
    expect({ undocumented: [...read].filter((n) => !reference.has(n)).sort() }).toEqual({ undocumented: [] });
    expect({ notRead: [...documented].filter((n) => !read.has(n)).sort() }).toEqual({ notRead: [] });
  });

  it("covers every name parseConfig asks for, whichever features are on", () => {
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
      },
    ];
    const asked = new Set(environments.flatMap((env) => [...namesAskedBy(env)]));
    expect(asked.size).toBeGreaterThan(50);
    expect([...asked].filter((n) => NAME.test(n) && !reference.has(n)).sort()).toEqual([]);
  });

  it("knows every variable .env.example sets or shows", () => {
    const example = readFileSync(path.join(ROOT, ".env.example"), "utf8");
    const listed = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    expect(listed.length).toBeGreaterThan(40);
    expect(listed.filter((n) => !reference.has(n))).toEqual([]);
  });

  it("has no variable the README's essentials table names that it does not know", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Configuration essentials"), readme.indexOf("## Errors"));
    const named = [...section.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((n) => !reference.has(n))).toEqual([]);
  });
});
