/**
 * `npm start` as an operator runs it: the real npm process, the built dist/, signals sent to npm's pid.
 * The upstream is a stand-in in this process that holds every call until the test releases it, so "in flight"
 * is a condition the test waits on, not a guess about timing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { DEMO_COMPANY_ID } from "codat-simulator";

const root = path.resolve(import.meta.dirname, "../..");

/** What an OTLP/HTTP JSON export carries, as far as these tests read it (ids in hex). */
interface OtlpTraces {
  resourceSpans: { scopeSpans: { spans: { name: string; traceId: string; spanId: string; parentSpanId?: string }[] }[] }[];
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function npmStart(env: Record<string, string>): Started {
  let output = "";
  const child = spawn("npm", ["start", "--silent"], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Whether any process of the tree still runs a command line holding `marker`. */
async function treeAlive(marker: string): Promise<boolean> {
  const { readdir, readFile } = await import("node:fs/promises");
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const environ = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "");
    if (environ.includes(marker)) return true;
  }
  return false;
}

let held: ServerResponse[] = [];
let upstream: Server | undefined;
let started: Started | undefined;

function startUpstream(): Promise<string> {
  held = [];
  upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    held.push(res);
  });
  return new Promise((resolve) =>
    upstream!.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(upstream!.address() as AddressInfo).port}`)),
  );
}

function release(): void {
  for (const res of held.splice(0)) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        results: [],
        pageNumber: 1,
        pageSize: 20,
        totalResults: 0,
        _links: { self: { href: "/" }, current: { href: "/" } },
      }),
    );
  }
}

afterEach(async () => {
  release();
  if (started && started.child.exitCode === null) started.child.kill("SIGKILL");
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  upstream = undefined;
  started = undefined;
});

beforeAll(async () => {
  // Build once up front, so the tests below time only the start itself (prestart finds dist/ current).
  const build = spawn("node", ["scripts/build-if-stale.mjs"], { cwd: root, stdio: "ignore" });
  await new Promise((resolve) => build.once("exit", resolve));
}, 120_000);

describe("npm start", () => {
  it("SIGTERM to the npm process drains 20 in-flight operations, then the whole tree exits 0", async () => {
    const base = await startUpstream();
    const marker = `GATEWAY_TEST_MARKER=${process.pid}-${Date.now()}`;
    started = npmStart({ CODAT_BASE_URL: base, PORT: "0", HOST: "127.0.0.1", [marker.split("=")[0]!]: marker.split("=")[1]! });
    await waitFor(() => /ready at (http:\/\/[^\s"]+)/.test(started!.output()), { timeoutMs: 60_000 });
    const url = /ready at (http:\/\/[^\s"]+)/.exec(started.output())![1]!;

    // 20 companies, so the per-company limit (10) holds none of them back: all 20 reach the stand-in.
    const companies = Array.from({ length: 20 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
    const responses = companies.map((companyId) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: "query($c: ID!) { customers(companyId: $c, first: 5) { totalCount } }",
          variables: { c: companyId },
        }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as { data?: unknown; errors?: unknown } })),
    );
    await waitFor(() => held.length === 20 || started!.child.exitCode !== null, { timeoutMs: 30_000 });
    expect(held.length, started.output()).toBe(20);

    expect(started.child.kill("SIGTERM")).toBe(true);
    await waitFor(() => /SIGTERM: finishing in-flight requests/.test(started!.output()), { timeoutMs: 10_000 });
    release();

    const results = await Promise.all(responses);
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(results.every((r) => r.body.errors === undefined)).toBe(true);
    expect(await started.exited).toBe(0);
    await waitFor(async () => !(await treeAlive(marker)), { timeoutMs: 10_000 });
  }, 120_000);

  it("a bad HOST stops startup with one line naming HOST", async () => {
    started = npmStart({ CODAT_BASE_URL: "http://127.0.0.1:9", PORT: "0", HOST: "192.0.2.1" });
    expect(await started.exited).toBe(1);
    const errors = started
      .output()
      .split("\n")
      .filter((line) => line.startsWith("config error:"));
    expect(errors).toEqual(["config error: HOST 192.0.2.1 is not an address of this machine"]);
  }, 120_000);

  it("with OTEL_EXPORTER_OTLP_ENDPOINT, exports each request's trace over OTLP/HTTP, the last ones on SIGTERM", async () => {
    const base = await startUpstream();
    const exports: { path: string | undefined; body: OtlpTraces }[] = [];
    const collector = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        exports.push({ path: req.url, body: JSON.parse(body) as OtlpTraces });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
      started = npmStart({ CODAT_BASE_URL: base, PORT: "0", HOST: "127.0.0.1", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
      await waitFor(() => /ready at (http:\/\/[^\s"]+)/.test(started!.output()), { timeoutMs: 60_000 });
      expect(started.output()).toContain("Traces: exported over OTLP/HTTP");
      const url = /ready at (http:\/\/[^\s"]+)/.exec(started.output())![1]!;
      const response = fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: `query Page { customers(companyId: "00000000-0000-4000-8000-000000000001", first: 5) { totalCount } }`,
        }),
      });
      await waitFor(() => held.length === 1 || started!.child.exitCode !== null, { timeoutMs: 30_000 });
      const traceparent = held[0]?.req.headers.traceparent;
      release();
      expect((await response).status).toBe(200);

      // The batch processor holds the spans (5 s by default): the shutdown on SIGTERM is what exports them.
      expect(started.child.kill("SIGTERM")).toBe(true);
      expect(await started.exited).toBe(0);
      expect(exports.every((e) => e.path === "/v1/traces")).toBe(true);
      const spans = exports.flatMap((e) => e.body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((scope) => scope.spans)));
      const codat = spans.find((span) => span.name === "codat GET /companies/{companyId}/data/customers");
      expect(codat, JSON.stringify(spans.map((span) => span.name))).toBeDefined();
      const trace = spans.filter((span) => span.traceId === codat!.traceId).map((span) => span.name);
      expect(trace).toEqual(expect.arrayContaining(["POST /graphql", "graphql.parse", "graphql.validate", "query Page", "GET"]));
      const attempt = spans.find((span) => span.traceId === codat!.traceId && span.parentSpanId === codat!.spanId);
      expect(traceparent).toBe(`00-${codat!.traceId}-${attempt!.spanId}-01`);
    } finally {
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  }, 120_000);

  it("NODE_ENV=production without an upstream refuses to start unless the simulator is asked for", async () => {
    started = npmStart({ NODE_ENV: "production", PORT: "0", CODAT_API_KEY: "", CODAT_BASE_URL: "" });
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(/config error: NODE_ENV=production needs CODAT_API_KEY/);

    started = npmStart({ NODE_ENV: "production", CODAT_SIMULATOR: "true", PORT: "0", CODAT_API_KEY: "", CODAT_BASE_URL: "" });
    await waitFor(() => /ready at http/.test(started!.output()), { timeoutMs: 60_000 });
    expect(started.output()).toContain("Mode: production");
    started.child.kill("SIGINT");
    expect(await started.exited).toBe(0);
  }, 120_000);
});

describe("npm run --silent schema:print", () => {
  it("prints SDL alone, so the README's `> customers.graphql` redirect yields a file that parses", async () => {
    const child = spawn("npm", ["run", "--silent", "schema:print"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    expect(await new Promise((resolve) => child.once("exit", resolve))).toBe(0);
    const { parse } = await import("graphql");
    const document = parse(stdout);
    expect(document.definitions.some((d) => "name" in d && d.name?.value === "Customer")).toBe(true);
  }, 120_000);
});

describe("entry point", () => {
  // The sources run in one process (`node --import tsx`), not under the tsx CLI: the CLI relays signals to a child
  // node, and a SIGTERM that reaches it before the child has told it about its own handlers ends the tree with 143.
  const main = ["--import", "tsx", "src/main.ts"];

  it("starts on the embedded simulator with no credentials, prints the URL and demo ids, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, main, {
      cwd: root,
      env: { PATH: process.env["PATH"] ?? "", PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${output}`)), 15_000);
      child.stdout.on("data", () => {
        const match = /ready at (http:\/\/[^\s"]+)/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    expect(output).toContain(DEMO_COMPANY_ID);
    expect(output).toContain("simulator");
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 2) { totalCount } }` }),
    });
    expect(((await response.json()) as { data: { customers: { totalCount: number } } }).data.customers.totalCount).toBeGreaterThanOrEqual(
      120,
    );
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(0);
  });

  it.each(["warn", "error", "silent"])("prints the URL it is ready at with LOG_LEVEL=%s", async (level) => {
    const child = spawn(process.execPath, main, {
      cwd: root,
      env: { PATH: process.env["PATH"] ?? "", PORT: "0", LOG_LEVEL: level },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, "exit");
    try {
      await waitFor(() => /ready at (http:\/\/[^\s"]+)/.test(output) || child.exitCode !== null, { timeoutMs: 30_000 });
      const url = /ready at (http:\/\/[^\s"]+)/.exec(output)?.[1];
      expect(url, output).toBeDefined();
      expect((await fetch(new URL("/healthz", url))).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });

  it("refuses a REDIS_URL that answers, but not as Redis, with one line naming REDIS_URL and no password", async () => {
    // An HTTP server where Redis should be.
    const notRedis = createServer((_req, res) => res.end("not redis"));
    await new Promise<void>((resolve) => notRedis.listen(0, "127.0.0.1", resolve));
    try {
      const port = (notRedis.address() as AddressInfo).port;
      const child = spawn(process.execPath, main, {
        cwd: root,
        env: {
          PATH: process.env["PATH"] ?? "",
          PORT: "0",
          CODAT_BASE_URL: "http://127.0.0.1:9",
          SIGNING_SECRET: "s".repeat(40),
          REDIS_URL: `redis://:hunter2-password@127.0.0.1:${port}`,
          // The check's bound, far above how long the answer takes: the test waits on the answer, never on the bound.
          REDIS_COMMAND_TIMEOUT_MS: "20000",
          REDIS_LEASE_MS: "60000",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const [code] = (await once(child, "exit")) as [number | null];
      expect(code, output).toBe(1);
      expect(output.trim().split("\n")).toEqual([
        `config error: REDIS_URL (redis://:***@127.0.0.1:${port}) answered, but not as Redis (Protocol error, got "H" as reply type byte): check its host and port`,
      ]);
    } finally {
      await new Promise<void>((resolve) => notRedis.close(() => resolve()));
    }
  });

  it("refuses a bad PORT with one line naming the variable", async () => {
    const child = spawn(process.execPath, main, {
      cwd: root,
      env: { PATH: process.env["PATH"] ?? "", PORT: "eighty" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let errors = "";
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(1);
    expect(errors.trim().split("\n")).toHaveLength(1);
    expect(errors).toContain("PORT");
  });
});
