// The bundled GraphiQL's routes (src/http/explorer.ts) in process, on a stand-in build (a page and one asset in a
// temporary folder, so no `npm run build` is needed): the page's policy and caching, immutable gzipped assets, when
// it is served (outside production; in production only with EXPLORER=graphiql), the /graphql landing page it
// replaces with EXPLORER=graphiql, and the link to it on Apollo's. The real bundle in a browser:
// test/browser/explorer.browser.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { startSimulator, type Simulator } from "codat-simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { explorerCsp, withExplorerLink } from "../../src/http/explorer.js";
import { createLogger } from "../../src/observability/logger.js";

const PAGE = `<!doctype html><html><head><link rel="stylesheet" href="graphiql/assets/graphiql-AbC123.css"></head><body><div id="root"></div></body></html>`;
const STYLES = `html { margin: 0 }\n`.repeat(50);

/** A stand-in for dist/explorer/: the page, one stylesheet, and their gzipped copies, as the build writes them. */
function fakeBuild(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "explorer-"));
  mkdirSync(path.join(dir, "assets"));
  const write = (file: string, text: string) => {
    writeFileSync(path.join(dir, file), text);
    writeFileSync(path.join(dir, `${file}.gz`), gzipSync(text));
  };
  write("index.html", PAGE);
  write("assets/graphiql-AbC123.css", STYLES);
  return dir;
}

interface Running {
  origin: string;
  get(pathname: string, headers?: Record<string, string>): Promise<Response>;
}

/** A gateway on the simulator with `env`, serving the explorer from `dir`; closed after the block. */
function useGateway(env: Record<string, string>, dir: () => string): Running {
  let simulator: Simulator | undefined;
  let gateway: Gateway | undefined;
  let origin = "";
  beforeAll(async () => {
    simulator = await startSimulator({});
    const config = parseConfig({ CODAT_BASE_URL: simulator.url, PORT: "0", HOST: "127.0.0.1", ...env });
    gateway = createGateway(config, {
      stopGracePeriodMs: 1_000,
      logger: createLogger({ level: "silent", pretty: false, secrets: [] }),
      explorerDir: dir(),
    });
    origin = new URL(await gateway.listen()).origin;
  });
  afterAll(async () => {
    await gateway?.stop();
    await simulator?.close();
  });
  return {
    get origin() {
      return origin;
    },
    get: (pathname, headers = {}) => fetch(new URL(pathname, origin), { headers }),
  };
}

let dir: string;
beforeAll(() => {
  dir = fakeBuild();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("GET /graphiql outside production", () => {
  const gateway = useGateway({}, () => dir);

  it("serves the page under a strict Content-Security-Policy, revalidated on every load", async () => {
    const page = await gateway.get("/graphiql");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const csp = page.headers.get("content-security-policy");
    expect(csp).toBe(explorerCsp(new URL(gateway.origin).host));
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://${new URL(gateway.origin).host} wss://${new URL(gateway.origin).host}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await page.text()).toBe(PAGE);
  });

  it("serves assets as immutable, gzipped for clients that accept it", async () => {
    const zipped = await gateway.get("/graphiql/assets/graphiql-AbC123.css", { "accept-encoding": "gzip" });
    expect(zipped.status).toBe(200);
    expect(zipped.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(zipped.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    expect(zipped.headers.get("vary")).toContain("Accept-Encoding");
    expect(await zipped.text()).toBe(STYLES); // fetch decodes it
    const plain = await gateway.get("/graphiql/assets/graphiql-AbC123.css", { "accept-encoding": "identity" });
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(await plain.text()).toBe(STYLES);
  });

  it("answers an unknown asset 404 and another method 405, in the gateway's error shape", async () => {
    const missing = await gateway.get("/graphiql/assets/graphiql-nope.js");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: "NOT_FOUND", message: expect.any(String) } });
    const posted = await fetch(new URL("/graphiql", gateway.origin), { method: "POST" });
    expect(posted.status).toBe(405);
  });

  it("keeps Apollo Sandbox as the /graphql landing page, with a link to /graphiql", async () => {
    const landing = await gateway.get("/graphql", { accept: "text/html" });
    expect(landing.status).toBe(200);
    const html = await landing.text();
    expect(html).toContain("embeddable-sandbox");
    expect(html).toMatch(/<a class="[\w-]+" href="graphiql"/);
    // The link's rule is in Apollo's nonced stylesheet (its policy allows no other style).
    expect(html).toMatch(/<style nonce=[^>]+>\s*\.gateway-graphiql-link \{/);
  });
});

describe("production", () => {
  const gateway = useGateway({ NODE_ENV: "production", AUTH_MODE: "none" }, () => dir);

  it("serves no explorer and no landing page", async () => {
    expect((await gateway.get("/graphiql")).status).toBe(404);
    expect((await gateway.get("/graphiql/assets/graphiql-AbC123.css")).status).toBe(404);
    const landing = await gateway.get("/graphql", { accept: "text/html" });
    expect(await landing.text()).not.toContain("graphiql");
  });
});

describe("production with EXPLORER=graphiql", () => {
  const gateway = useGateway({ NODE_ENV: "production", AUTH_MODE: "none", EXPLORER: "graphiql" }, () => dir);

  it("serves GraphiQL at /graphiql and as the /graphql landing page, and never Sandbox", async () => {
    expect((await gateway.get("/graphiql")).status).toBe(200);
    const landing = await gateway.get("/graphql", { accept: "text/html" });
    expect(landing.status).toBe(200);
    expect(landing.headers.get("content-security-policy")).toBe(explorerCsp(new URL(gateway.origin).host));
    expect(landing.headers.get("cache-control")).toBe("no-cache");
    expect(await landing.text()).toBe(PAGE);
  });

  it("still answers operations on /graphql; a browser GET naming one is an operation (CSRF prevention), not the page", async () => {
    const post = await fetch(new URL("/graphql", gateway.origin), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(await post.json()).toEqual({ data: { __typename: "Query" } });
    const get = await gateway.get("/graphql?query=%7B__typename%7D", { accept: "text/html" });
    expect(get.status).toBe(400);
    expect(await get.text()).not.toContain(PAGE);
  });
});

describe("EXPLORER=graphiql outside production", () => {
  const gateway = useGateway({ EXPLORER: "GraphiQL" }, () => dir);

  it("makes GraphiQL the /graphql landing page", async () => {
    const landing = await gateway.get("/graphql", { accept: "text/html" });
    expect(await landing.text()).toBe(PAGE);
  });
});

describe("an explorer that was not built", () => {
  const gateway = useGateway({}, () => path.join(dir, "nothing-here"));

  it("answers 503 saying how to build it", async () => {
    const page = await gateway.get("/graphiql");
    expect(page.status).toBe(503);
    expect(await page.json()).toEqual({ error: { code: "SERVICE_UNAVAILABLE", message: expect.stringContaining("npm run build") } });
  });
});

describe("EXPLORER", () => {
  it("is sandbox or graphiql, in any case", () => {
    const base = { CODAT_BASE_URL: "http://127.0.0.1:9" };
    expect(parseConfig(base).explorer).toEqual({ landingPage: "sandbox", graphiql: true });
    expect(parseConfig({ ...base, EXPLORER: "GRAPHIQL" }).explorer).toEqual({ landingPage: "graphiql", graphiql: true });
    expect(parseConfig({ ...base, NODE_ENV: "production", AUTH_MODE: "none" }).explorer).toEqual({
      landingPage: "sandbox",
      graphiql: false,
    });
    expect(parseConfig({ ...base, NODE_ENV: "production", AUTH_MODE: "none", GRAPHQL_INTROSPECTION: "true" }).explorer.graphiql).toBe(true);
    expect(() => parseConfig({ ...base, EXPLORER: "playground" })).toThrow(/EXPLORER.*sandbox or graphiql/);
  });
});

describe("the page's policy", () => {
  it("names the request's own host for WebSockets only when it is a plain host[:port]", () => {
    expect(explorerCsp("127.0.0.1:4000")).toContain("connect-src 'self' ws://127.0.0.1:4000 wss://127.0.0.1:4000;");
    expect(explorerCsp("[::1]:4000")).toContain("connect-src 'self' ws://[::1]:4000 wss://[::1]:4000;");
    expect(explorerCsp("api.example.com")).toContain("connect-src 'self' ws://api.example.com wss://api.example.com;");
    for (const hostile of ["evil.example; script-src *", "a b", "x'", "", "host:port:1"]) {
      expect(explorerCsp(hostile)).toContain("connect-src 'self';");
    }
    expect(explorerCsp(undefined)).toContain("connect-src 'self';");
  });
});

describe("the page's template and the link on Apollo's page", () => {
  it("has no inline script or style", () => {
    const template = readFileSync(new URL("../../explorer/index.html", import.meta.url), "utf8");
    expect(template).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(template).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it("leaves a page of another shape as it is", () => {
    expect(withExplorerLink("<html><body>hello</body></html>")).toBe("<html><body>hello</body></html>");
  });
});
