/**
 * The Redis hub as the one reporter of an outage (src/redis/hub.ts): a replica whose Redis cannot be reached
 * (REDIS_FAILURE_MODE=local, a closed port, no redis-server needed) writes one warn line naming everything that
 * falls back, REDIS_URL's password masked, and its metrics say codat_gateway_redis_up 0 and one outage; the
 * hub's own reportDown/reportUp write one line each per outage and feed the same two metrics.
 */
import { createServer } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { RedisHub } from "../../src/redis/hub.js";

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function redisConfig(url: string) {
  const config = parseConfig({ CODAT_BASE_URL: "http://127.0.0.1:1", SIGNING_SECRET: "s".repeat(40), REDIS_URL: url });
  if (config.redis === undefined) throw new Error("no Redis config");
  return config.redis;
}

function sample(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

describe("the Redis hub reports outages", () => {
  it("one warn line per outage and one info line when back, feeding codat_gateway_redis_up and _outages_total", async () => {
    const lines: string[] = [];
    const log = { warn: (m: string) => lines.push(`warn ${m}`), info: (m: string) => lines.push(`info ${m}`) };
    const hub = new RedisHub(redisConfig("redis://:hunter22@127.0.0.1:1"), log);
    const metrics = createMetrics({
      codatSlots: () => ({ inFlight: 0, queued: 0 }),
      redisHealth: () => ({ up: hub.up, outages: hub.outages }),
    });
    let text = await metrics.registry.metrics();
    expect(sample(text, "codat_gateway_redis_up")).toBe(1);
    expect(sample(text, "codat_gateway_redis_outages_total")).toBe(0);

    hub.reportDown("connect ECONNREFUSED redis://:hunter22@127.0.0.1:1", 3);
    hub.reportDown("again", 3);
    text = await metrics.registry.metrics();
    expect(sample(text, "codat_gateway_redis_up")).toBe(0);
    expect(sample(text, "codat_gateway_redis_outages_total")).toBe(1);
    hub.reportUp();
    hub.reportUp();
    hub.reportDown("ECONNRESET", 3);
    hub.reportUp();
    text = await metrics.registry.metrics();
    expect(sample(text, "codat_gateway_redis_up")).toBe(1);
    expect(sample(text, "codat_gateway_redis_outages_total")).toBe(2);

    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(
      /^warn Redis down \(connect ECONNREFUSED redis:\/\/:\*\*\*@127\.0\.0\.1:1\): until it is back, company slots fall back to at most 3 per company/,
    );
    expect(lines[0]).toContain("APQ lookups miss");
    expect(lines[0]).toContain("webhook dedupe runs in this process only");
    expect(lines[0]).toContain("push operations are polled by this replica");
    expect(lines[1]).toMatch(/^info Redis back: /);
    expect(lines.join("\n")).not.toContain("hunter22");
  });

  it("without REDIS_URL there is no Redis metric", async () => {
    const metrics = createMetrics({ codatSlots: () => ({ inFlight: 0, queued: 0 }) });
    const text = await metrics.registry.metrics();
    expect(text).not.toContain("codat_gateway_redis_up");
    expect(text).not.toContain("codat_gateway_redis_outages_total");
  });

  it("a replica that cannot reach Redis at start logs one hub line and reports redis_up 0", async () => {
    const port = await closedPort();
    const config = parseConfig({
      CODAT_BASE_URL: "http://127.0.0.1:1",
      PORT: "0",
      HOST: "127.0.0.1",
      SIGNING_SECRET: "s".repeat(40),
      REDIS_URL: `redis://:hunter22@127.0.0.1:${port}`,
      REDIS_FAILURE_MODE: "local",
      REDIS_CONNECT_TIMEOUT_MS: "300",
      METRICS_ENABLED: "true",
    });
    const logged: Array<{ level: string; msg: string }> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n"))
          if (line.trim() !== "") logged.push(JSON.parse(line) as { level: string; msg: string });
        done();
      },
    });
    gateway = createGateway(config, {
      stopGracePeriodMs: 500,
      logger: createLogger({ level: "info", pretty: false, secrets: [], destination }),
    });
    const url = await gateway.listen();
    const text = await (await fetch(new URL("/metrics", url))).text();
    expect(sample(text, "codat_gateway_redis_up")).toBe(0);
    expect(sample(text, "codat_gateway_redis_outages_total")).toBe(1);
    const redisLines = logged.filter((line) => /Redis/.test(line.msg));
    expect(redisLines.filter((line) => line.msg.startsWith("Redis down ("))).toHaveLength(1);
    expect(redisLines.filter((line) => /unavailable|unreachable/.test(line.msg))).toEqual([]);
    expect(JSON.stringify(logged)).not.toContain("hunter22");
  });
});
